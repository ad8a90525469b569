package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/result"
)

// CurveSpec describes a line chart as data: a workload's metric against a
// numeric parameter, one line per runtime, one point per group (cell) of
// the run, which other parameters split into separate charts.
type CurveSpec struct {
	ID       string
	Title    string
	Caption  string
	Workload string
	Metric   string
	// Param is the parameter on the x axis; groups whose value is not a
	// number are left out.
	Param  string
	XLabel string
}

// CurveSpecs lists the curves of isobench's workloads: the density curve
// of memory and start time against the sandboxes alive at once.
func CurveSpecs() []CurveSpec {
	return []CurveSpec{
		{ID: "density-pss", Title: "Density: host memory (PSS) per sandbox",
			Caption:  "density, proportional set size of each sandbox's host processes, per sandbox, against the sandboxes alive; medians with their confidence interval; lower is better",
			Workload: "density", Metric: "pss_per_sandbox", Param: "n", XLabel: "sandboxes alive"},
		{ID: "density-cgroup", Title: "Density: cgroup memory per sandbox",
			Caption:  "density, memory charged to each sandbox's cgroup, per sandbox, against the sandboxes alive; lower is better",
			Workload: "density", Metric: "cgroup_memory_per_sandbox", Param: "n", XLabel: "sandboxes alive"},
		{ID: "density-start", Title: "Density: start time as sandboxes accumulate",
			Caption:  "density, median time to create and start one sandbox while the others stay alive, against their number; lower is better",
			Workload: "density", Metric: "start_median", Param: "n", XLabel: "sandboxes alive"},
	}
}

// Curve is a line chart with its data.
type Curve struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Caption string `json:"caption"`
	// Params are the parameters the curve's groups share besides Param.
	Params   string      `json:"params,omitempty"`
	Workload string      `json:"workload"`
	Metric   string      `json:"metric"`
	Param    string      `json:"param"`
	XLabel   string      `json:"x_label"`
	Unit     string      `json:"unit"`
	Runtimes []string    `json:"runtimes"`
	Lines    []CurveLine `json:"lines"`
}

// CurveLine is one runtime's points, by growing x.
type CurveLine struct {
	Runtime string       `json:"runtime"`
	Points  []CurvePoint `json:"points"`
}

// CurvePoint is one group's median of the metric for one runtime.
type CurvePoint struct {
	X      float64 `json:"x"`
	N      int     `json:"n"`
	Median float64 `json:"median"`
	HasCI  bool    `json:"has_ci"`
	Lo     float64 `json:"lo,omitempty"`
	Hi     float64 `json:"hi,omitempty"`
}

// buildCurves resolves curve specs against the analysis. A curve needs
// at least two x values with data; with fewer it is left out (the
// tables say it all).
func buildCurves(a *analysis.Analysis, specs []CurveSpec) []Curve {
	var out []Curve
	for _, spec := range specs {
		variants := map[string]*Curve{}
		var order []string
		points := map[string]map[string][]CurvePoint{} // variant -> runtime -> points
		for gi := range a.Groups {
			g := &a.Groups[gi]
			if g.Workload != spec.Workload {
				continue
			}
			x, err := strconv.ParseFloat(g.Params[spec.Param], 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				continue
			}
			row := g.Metric(spec.Metric)
			if row == nil {
				continue
			}
			rest := map[string]string{}
			for k, v := range g.Params {
				if k != spec.Param {
					rest[k] = v
				}
			}
			v := result.ParamString(rest)
			if variants[v] == nil {
				variants[v] = &Curve{ID: spec.ID, Title: spec.Title, Caption: spec.Caption, Params: ParamsText(rest),
					Workload: spec.Workload, Metric: spec.Metric, Param: spec.Param, XLabel: spec.XLabel, Unit: row.Metric.Unit}
				points[v] = map[string][]CurvePoint{}
				order = append(order, v)
			}
			for _, c := range row.Cells {
				if c.Summary.N == 0 {
					continue
				}
				p := CurvePoint{X: x, N: c.Summary.N, Median: c.Summary.Median}
				if c.Summary.CI.Defined() {
					p.HasCI, p.Lo, p.Hi = true, c.Summary.CI.Lo, c.Summary.CI.Hi
				}
				points[v][c.Runtime] = append(points[v][c.Runtime], p)
			}
		}
		for i, v := range order {
			cv := variants[v]
			if len(order) > 1 {
				cv.ID = fmt.Sprintf("%s-%d", spec.ID, i+1)
			}
			xs := map[float64]bool{}
			for _, rt := range analysis.RuntimeOrder(a.Run) {
				ps := points[v][rt]
				if len(ps) == 0 {
					continue
				}
				sort.Slice(ps, func(i, j int) bool { return ps[i].X < ps[j].X })
				for _, p := range ps {
					xs[p.X] = true
				}
				cv.Runtimes = append(cv.Runtimes, rt)
				cv.Lines = append(cv.Lines, CurveLine{Runtime: rt, Points: ps})
			}
			if len(xs) >= 2 {
				out = append(out, *cv)
			}
		}
	}
	return out
}

// curveRowsText renders a curve's points for a table: "x: value" per
// point.
func curvePointsText(l CurveLine, unit string) string {
	var parts []string
	for _, p := range l.Points {
		parts = append(parts, fmt.Sprintf("%s: %s", strconv.FormatFloat(p.X, 'g', -1, 64), FormatValue(p.Median, unit)))
	}
	return strings.Join(parts, ", ")
}
