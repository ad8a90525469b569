package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

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

// curveSVG draws a curve as an SVG line chart: a line with markers per
// runtime at its medians, whiskers for their confidence intervals. It
// returns the <svg> element without an XML prolog.
func curveSVG(cv *Curve, colors map[string]color.RGBA) ([]byte, error) {
	if len(cv.Lines) == 0 {
		return nil, fmt.Errorf("curve %s has no data", cv.ID)
	}
	top, xmin, xmax := 0.0, math.Inf(1), math.Inf(-1)
	for _, l := range cv.Lines {
		for _, p := range l.Points {
			top = math.Max(top, math.Max(p.Median, p.Hi))
			xmin, xmax = math.Min(xmin, p.X), math.Max(xmax, p.X)
		}
	}
	scale, unitName := displayUnit(cv.Unit, top)
	p := plot.New()
	p.BackgroundColor = color.White
	styleText(&p.X.Label.TextStyle, 10)
	styleText(&p.Y.Label.TextStyle, 10)
	styleText(&p.X.Tick.Label, 9)
	styleText(&p.Y.Tick.Label, 9)
	p.X.Label.Text = cv.XLabel
	p.Y.Label.Text = unitName
	p.Y.Min, p.Y.Max = 0, math.Max(top/scale*1.1, 1e-12)
	pad := (xmax - xmin) * 0.04
	p.X.Min, p.X.Max = xmin-pad, xmax+pad
	var ticks []plot.Tick
	seen := map[float64]bool{}
	for _, l := range cv.Lines {
		for _, pt := range l.Points {
			if !seen[pt.X] {
				seen[pt.X] = true
				ticks = append(ticks, plot.Tick{Value: pt.X, Label: strconv.FormatFloat(pt.X, 'g', -1, 64)})
			}
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	for _, l := range cv.Lines {
		xys := make(plotter.XYs, len(l.Points))
		var errs plotter.YErrors
		var exs plotter.XYs
		for i, pt := range l.Points {
			xys[i] = plotter.XY{X: pt.X, Y: pt.Median / scale}
			if pt.HasCI {
				exs = append(exs, xys[i])
				errs = append(errs, struct{ Low, High float64 }{(pt.Median - pt.Lo) / scale, (pt.Hi - pt.Median) / scale})
			}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("curve %s: %w", cv.ID, err)
		}
		c := colors[l.Runtime]
		line.Color, line.Width = c, vg.Points(1.5)
		points.Color, points.Shape, points.Radius = c, draw.CircleGlyph{}, vg.Points(2.5)
		p.Add(line, points)
		if len(exs) > 0 {
			eb, err := plotter.NewYErrorBars(struct {
				plotter.XYer
				plotter.YErrorer
			}{exs, errs})
			if err != nil {
				return nil, fmt.Errorf("curve %s: %w", cv.ID, err)
			}
			eb.LineStyle.Color, eb.LineStyle.Width = c, vg.Points(0.8)
			p.Add(eb)
		}
	}
	cnv := vgsvg.New(vg.Points(460), vg.Points(220))
	p.Draw(draw.New(cnv))
	var buf bytes.Buffer
	if _, err := cnv.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("curve %s: writing SVG: %w", cv.ID, err)
	}
	out := buf.Bytes()
	if i := bytes.Index(out, []byte("<svg")); i > 0 {
		out = out[i:]
	}
	return out, nil
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
