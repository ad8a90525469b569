package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
	"github.com/isobench/isobench/internal/workload"
)

// FigureSpec describes a figure as data: bars of one or more series (a
// workload's metric, optionally only for groups with given parameters),
// each series a cluster with one bar per runtime. A figure appears in a
// report as soon as the run has samples for one of its series; one for
// absent workloads is simply left out.
type FigureSpec struct {
	ID string
	// StudyFigure is the number of the study's figure this one redraws
	// ("" for isobench's own).
	StudyFigure string
	Title       string
	Caption     string
	Series      []SeriesSpec
}

// SeriesSpec selects one cluster of bars.
type SeriesSpec struct {
	Label    string
	Workload string
	Metric   string
	// Params must all be equal in a group for it to be shown (e.g. the
	// fileio test mode); other parameters make separate figures.
	Params map[string]string
}

// StudyFigures lists the figures of the study "Performance Evaluation of
// Lightweight Virtualization Technologies", redrawn from isobench's
// workloads as the study drew them, one figure each: CPU latency (figure
// 6), sequential read (figure 7), sequential write and rewrite (figure 8,
// on an axis of its own: writes are some twenty times slower than reads
// from the page cache, and unreadable on the reads' axis), memory total
// time (figure 9) and memory latency (figure 10).
func StudyFigures() []FigureSpec {
	return []FigureSpec{
		{
			ID: "cpu-latency", StudyFigure: "6", Title: "CPU: average and minimum latency",
			Caption: "sysbench cpu, latency per event; lower is better",
			Series: []SeriesSpec{
				{Label: "avg latency", Workload: "cpu", Metric: "latency_avg"},
				{Label: "min latency", Workload: "cpu", Metric: "latency_min"},
			},
		},
		{
			ID: "fileio-read", StudyFigure: "7", Title: "File I/O: sequential read",
			Caption: "sysbench fileio seqrd, MiB/s; higher is better",
			Series: []SeriesSpec{
				{Label: "sequential read", Workload: "fileio", Metric: "read_bytes_per_sec", Params: map[string]string{"mode": "seqrd"}},
			},
		},
		{
			ID: "fileio-write", StudyFigure: "8", Title: "File I/O: sequential write and rewrite",
			Caption: "sysbench fileio seqwr and seqrewr, MiB/s; higher is better",
			Series: []SeriesSpec{
				{Label: "sequential write", Workload: "fileio", Metric: "write_bytes_per_sec", Params: map[string]string{"mode": "seqwr"}},
				{Label: "sequential rewrite", Workload: "fileio", Metric: "write_bytes_per_sec", Params: map[string]string{"mode": "seqrewr"}},
			},
		},
		{
			ID: "memory-time", StudyFigure: "9", Title: "Memory: total time",
			Caption: "sysbench memory, time to transfer the total size; lower is better",
			Series: []SeriesSpec{
				{Label: "total time", Workload: "memory", Metric: "total_time"},
			},
		},
		{
			ID: "memory-latency", StudyFigure: "10", Title: "Memory: average and minimum latency",
			Caption: "sysbench memory, latency per block; lower is better",
			Series: []SeriesSpec{
				{Label: "avg latency", Workload: "memory", Metric: "latency_avg"},
				{Label: "min latency", Workload: "memory", Metric: "latency_min"},
			},
		},
	}
}

// ExtraFigures lists the figures of isobench's workloads beyond the
// study: the startup phases of a sandbox's life, and cold against warm
// starts. (The density curves are Curves, see CurveSpecs.)
func ExtraFigures() []FigureSpec {
	return []FigureSpec{
		{
			ID: "startup-phases", Title: "Startup: time per phase",
			Caption: "startup, median of each trial's warm sandboxes: create; start (the runtime's start returned); ready (the agent's first message); start+ready where a runtime cannot split them; exec of a trivial command; stop; delete; lower is better",
			Series: []SeriesSpec{
				{Label: "create", Workload: "startup", Metric: "create"},
				{Label: "start", Workload: "startup", Metric: "start"},
				{Label: "ready", Workload: "startup", Metric: "ready"},
				{Label: "start+ready", Workload: "startup", Metric: "start_ready"},
				{Label: "exec", Workload: "startup", Metric: "exec"},
				{Label: "stop", Workload: "startup", Metric: "stop"},
				{Label: "delete", Workload: "startup", Metric: "delete"},
			},
		},
		{
			ID: "startup-cold-warm", Title: "Startup: cold and warm, whole life",
			Caption: "startup, create to delete: warm (median of each trial's sandboxes) and cold (each trial's first sandbox, right after the host's page cache was dropped); lower is better",
			Series: []SeriesSpec{
				{Label: "warm total", Workload: "startup", Metric: "total"},
				{Label: "cold total", Workload: "startup", Metric: "cold_total"},
			},
		},
	}
}

// Figure is a figure with its data.
type Figure struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Caption string `json:"caption"`
	// Params are the parameters the figure's groups share, beyond those its
	// series select on.
	Params string `json:"params,omitempty"`
	Study  bool   `json:"study"`
	// StudyFigure is the number of the study's figure this one redraws.
	StudyFigure    string    `json:"study_figure,omitempty"`
	Unit           string    `json:"unit"`
	HigherIsBetter bool      `json:"higher_is_better"`
	Baseline       string    `json:"baseline"`
	Runtimes       []string  `json:"runtimes"`
	Clusters       []Cluster `json:"clusters"`
}

// Cluster is one series: a bar per runtime.
type Cluster struct {
	Label    string `json:"label"`
	Workload string `json:"workload"`
	Metric   string `json:"metric"`
	Bars     []Bar  `json:"bars"`
}

// Bar is one runtime's median with its interval and ratio to the baseline.
type Bar struct {
	Runtime string  `json:"runtime"`
	N       int     `json:"n"`
	Median  float64 `json:"median"`
	// HasCI says whether Lo and Hi, the median's interval, exist.
	HasCI       bool           `json:"has_ci"`
	Lo          float64        `json:"lo"`
	Hi          float64        `json:"hi"`
	Ratio       *stats.RatioCI `json:"ratio,omitempty"`
	Significant bool           `json:"significant"`
	Baseline    bool           `json:"baseline,omitempty"`
}

// Bars counts the figure's visible bars: those with data and a median
// above 0.
func (f *Figure) Bars() int {
	n := 0
	for _, c := range f.Clusters {
		for _, b := range c.Bars {
			if b.N > 0 && b.Median > 0 {
				n++
			}
		}
	}
	return n
}

// buildFigures resolves the study's figures against the analysis, then adds
// a generic chart per group for its headline metrics no study figure shows,
// one per unit.
func buildFigures(a *analysis.Analysis, specs []FigureSpec, extra ...FigureSpec) []Figure {
	var out []Figure
	shown := map[string]bool{} // group key + metric
	for _, spec := range specs {
		for _, f := range resolve(a, spec, shown) {
			f.Study = true
			out = append(out, f)
		}
	}
	for _, spec := range extra {
		out = append(out, resolve(a, spec, shown)...)
	}
	for gi := range a.Groups {
		g := &a.Groups[gi]
		rows := g.Headline()
		byUnit := map[string][]analysis.MetricRow{}
		var units []string
		for _, m := range rows {
			if shown[g.Key()+"\x00"+m.Metric.Name] {
				continue
			}
			if byUnit[m.Metric.Unit] == nil {
				units = append(units, m.Metric.Unit)
			}
			byUnit[m.Metric.Unit] = append(byUnit[m.Metric.Unit], m)
		}
		for _, u := range units {
			var labels []string
			spec := FigureSpec{ID: fmt.Sprintf("%s-%d-%s", g.Workload, gi, slug(u))}
			for _, m := range byUnit[u] {
				labels = append(labels, m.Metric.Label)
				spec.Series = append(spec.Series, SeriesSpec{Label: m.Metric.Label, Workload: g.Workload, Metric: m.Metric.Name, Params: g.Params})
			}
			spec.Title = g.Workload + ": " + strings.Join(labels, ", ")
			better := "lower is better"
			if byUnit[u][0].Metric.HigherIsBetter {
				better = "higher is better"
			}
			spec.Caption = fmt.Sprintf("%s, %s", g.Workload, better)
			for _, f := range resolve(a, spec, map[string]bool{}) {
				f.Params = ParamsText(g.Params)
				out = append(out, f)
			}
		}
	}
	return out
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// resolve makes the figures of one spec: one per variant, a variant being
// the parameters of the matching groups beyond those the series select on.
// It marks in shown the group metrics it plots.
func resolve(a *analysis.Analysis, spec FigureSpec, shown map[string]bool) []Figure {
	fixed := map[string]bool{}
	for _, s := range spec.Series {
		for k := range s.Params {
			fixed[k] = true
		}
	}
	type match struct {
		group *analysis.Group
		row   *analysis.MetricRow
	}
	variants := map[string][]match{} // variant -> one match per series (nil group: none)
	var order []string
	for si, s := range spec.Series {
		for gi := range a.Groups {
			g := &a.Groups[gi]
			if g.Workload != s.Workload || !g.HasParams(s.Params) {
				continue
			}
			row := g.Metric(s.Metric)
			if row == nil {
				continue
			}
			rest := map[string]string{}
			for k, v := range g.Params {
				if !fixed[k] {
					rest[k] = v
				}
			}
			v := result.ParamString(rest)
			if variants[v] == nil {
				variants[v] = make([]match, len(spec.Series))
				order = append(order, v)
			}
			if variants[v][si].group == nil {
				variants[v][si] = match{g, row}
			}
		}
	}
	var out []Figure
	for vi, v := range order {
		f := Figure{
			ID: spec.ID, StudyFigure: spec.StudyFigure, Title: spec.Title, Caption: spec.Caption, Params: strings.ReplaceAll(strings.TrimPrefix(v, ";"), ";", " "),
			Baseline: a.Baseline,
		}
		if len(order) > 1 {
			f.ID = fmt.Sprintf("%s-%d", spec.ID, vi+1)
		}
		rts := map[string]bool{}
		for si, m := range variants[v] {
			if m.group == nil {
				continue
			}
			shown[m.group.Key()+"\x00"+m.row.Metric.Name] = true
			f.Unit, f.HigherIsBetter = m.row.Metric.Unit, m.row.Metric.HigherIsBetter
			c := Cluster{Label: spec.Series[si].Label, Workload: m.group.Workload, Metric: m.row.Metric.Name}
			for _, cell := range m.row.Cells {
				b := Bar{Runtime: cell.Runtime, N: cell.Summary.N, Median: cell.Summary.Median,
					Ratio: cell.Ratio, Significant: cell.Significant, Baseline: cell.Runtime == a.Baseline}
				if cell.Summary.CI.Defined() {
					b.HasCI, b.Lo, b.Hi = true, cell.Summary.CI.Lo, cell.Summary.CI.Hi
				}
				c.Bars = append(c.Bars, b)
				rts[cell.Runtime] = true
			}
			f.Clusters = append(f.Clusters, c)
		}
		for _, rt := range analysis.RuntimeOrder(a.Run) {
			if rts[rt] {
				f.Runtimes = append(f.Runtimes, rt)
			}
		}
		out = append(out, f)
	}
	return out
}

// displayUnit picks how a figure shows values of a base unit: the scale to
// divide by and the unit's name, from the largest value shown.
func displayUnit(unit string, max float64) (scale float64, name string) {
	switch unit {
	case workload.UnitSeconds:
		switch {
		case max < 1e-3:
			return 1e-6, "µs"
		case max < 1:
			return 1e-3, "ms"
		default:
			return 1, "s"
		}
	case workload.UnitBytesPerSec:
		return 1 << 20, "MiB/s"
	case workload.UnitBytes:
		return 1 << 20, "MiB"
	case workload.UnitOpsPerSec:
		if max >= 1e6 {
			return 1e6, "million/s"
		}
		return 1, "per second"
	}
	return 1, unit
}

// sortedKeys returns a map's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
