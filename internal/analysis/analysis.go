package analysis

import (
	"math"
	"sort"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
	"github.com/isobench/isobench/internal/workload"
)

// Confidence and significance levels of every analysis.
const (
	Level = 0.95
	Alpha = 0.05
)

// Trial attributes the analysis reads: the scratch filesystem type, and
// the resolution of a metric (AttrResolution + metric name: the step in
// which the tool prints it, in the metric's unit).
const (
	AttrScratchFS  = "scratch.fs"
	AttrResolution = "resolution."
)

// Analysis is everything a report shows about a run.
type Analysis struct {
	Run      *result.Run
	Baseline string
	Groups   []Group
}

// Group is one workload with one set of parameters, across runtimes.
type Group struct {
	Workload string            `json:"workload"`
	Params   map[string]string `json:"params,omitempty"`
	Runtimes []RuntimeCount    `json:"runtimes"`
	Metrics  []MetricRow       `json:"metrics"`
	// Tails describe the single values some workloads keep besides each
	// trial's sample (see TailRow).
	Tails []TailRow `json:"tails,omitempty"`
}

// RuntimeCount counts a runtime's trials in a group.
type RuntimeCount struct {
	Runtime string `json:"runtime"`
	// Emulated is true for a runtime that ran under software emulation
	// (QEMU's TCG): its figures are not comparable with hardware numbers,
	// and every table says so beside its name.
	Emulated bool `json:"emulated,omitempty"`
	OK       int  `json:"ok"`
	Failed   int  `json:"failed"`
	// Errors holds the distinct errors of failed trials.
	Errors []string `json:"errors,omitempty"`
	// Attrs holds facts every OK trial agreed on (e.g. the scratch
	// filesystem type).
	Attrs map[string]string `json:"attrs,omitempty"`
}

// MetricRow is one metric across the runtimes of a group.
type MetricRow struct {
	Metric workload.Metric `json:"metric"`
	Cells  []Cell          `json:"cells"`
}

// Cell is one runtime's figures for one metric.
type Cell struct {
	Runtime string        `json:"runtime"`
	Values  []float64     `json:"values"`
	Summary stats.Summary `json:"summary"`
	// Ratio to the baseline's median; nil for the baseline itself or when it
	// cannot be computed (see RatioError).
	Ratio      *stats.RatioCI    `json:"ratio,omitempty"`
	RatioError string            `json:"ratio_error,omitempty"`
	Compare    *stats.Comparison `json:"compare,omitempty"`
	// PHolm is the p-value adjusted by Holm's method over the runtimes
	// compared on this metric. Significant is PHolm ≤ Alpha and a ratio
	// interval that excludes 1: the test and the interval must agree.
	PHolm       float64 `json:"p_holm,omitempty"`
	Significant bool    `json:"significant"`
	// Disagree is true when the test rejects but the ratio interval holds
	// 1; the cell is then not significant, and marked so.
	Disagree bool `json:"disagree,omitempty"`
}

// Analyze computes the analysis of a run. Workloads unknown to reg are
// analysed with the metrics their samples carry, in name order.
func Analyze(run *result.Run, reg *workload.Registry) *Analysis {
	a := &Analysis{Run: run, Baseline: run.Baseline}
	order := RuntimeOrder(run)
	type groupKey struct{ workload, params string }
	var keys []groupKey
	groups := map[groupKey]*Group{}
	trials := map[groupKey]map[string][]*result.Trial{}
	for i := range run.Trials {
		t := &run.Trials[i]
		if t.Warmup {
			continue
		}
		k := groupKey{t.Cell.Workload, result.ParamString(t.Cell.Params)}
		if groups[k] == nil {
			groups[k] = &Group{Workload: t.Cell.Workload, Params: t.Cell.Params}
			trials[k] = map[string][]*result.Trial{}
			keys = append(keys, k)
		}
		trials[k][t.Cell.Runtime] = append(trials[k][t.Cell.Runtime], t)
	}
	for _, k := range keys {
		g := groups[k]
		byRuntime := trials[k]
		var rts []string
		for _, rt := range order {
			if _, ok := byRuntime[rt]; ok {
				rts = append(rts, rt)
			}
		}
		for _, rt := range rts {
			rc := countTrials(rt, byRuntime[rt])
			rc.Emulated = emulated(run, rt)
			g.Runtimes = append(g.Runtimes, rc)
		}
		for _, m := range metricsOf(reg, g.Workload, byRuntime) {
			g.Metrics = append(g.Metrics, a.metricRow(m, rts, byRuntime, run.Seed))
		}
		g.Tails = tailRows(g.Metrics, rts, byRuntime)
		a.Groups = append(a.Groups, *g)
	}
	return a
}

// emulated reports whether the run recorded the runtime as running under
// software emulation (its driver's "accel" feature is "tcg").
func emulated(run *result.Run, rt string) bool {
	for _, r := range run.Runtimes {
		if r.Name == rt {
			return r.Features["accel"] == "tcg"
		}
	}
	return false
}

// EmulatedMark is what tables put beside the name of an emulated runtime.
const EmulatedMark = " [TCG: emulated]"

// Label is a runtime's name for tables, marked when it was emulated.
func (rc RuntimeCount) Label() string {
	if rc.Emulated {
		return rc.Runtime + EmulatedMark
	}
	return rc.Runtime
}

// RuntimeOrder lists the run's runtimes as the run recorded them, then
// any others found in trials.
func RuntimeOrder(run *result.Run) []string {
	var order []string
	seen := map[string]bool{}
	for _, r := range run.Runtimes {
		if !seen[r.Name] {
			order = append(order, r.Name)
			seen[r.Name] = true
		}
	}
	for _, t := range run.Trials {
		if !seen[t.Cell.Runtime] {
			order = append(order, t.Cell.Runtime)
			seen[t.Cell.Runtime] = true
		}
	}
	return order
}

func countTrials(rt string, ts []*result.Trial) RuntimeCount {
	c := RuntimeCount{Runtime: rt}
	seenErr := map[string]bool{}
	var attrs map[string]string
	for _, t := range ts {
		if t.Status != result.StatusOK {
			c.Failed++
			msg := string(t.Status) + ": " + t.Error
			if !seenErr[msg] {
				seenErr[msg] = true
				c.Errors = append(c.Errors, msg)
			}
			continue
		}
		c.OK++
		if attrs == nil {
			attrs = map[string]string{}
			for k, v := range t.Attrs {
				attrs[k] = v
			}
			continue
		}
		for k, v := range attrs {
			if t.Attrs[k] != v {
				delete(attrs, k)
			}
		}
	}
	if len(attrs) > 0 {
		c.Attrs = attrs
	}
	return c
}

// metricsOf returns the workload's declared metrics that some trial has, or,
// for a workload this build does not know, the metrics found in samples.
func metricsOf(reg *workload.Registry, name string, byRuntime map[string][]*result.Trial) []workload.Metric {
	present := map[string]string{}
	for _, ts := range byRuntime {
		for _, t := range ts {
			for _, s := range t.Samples {
				present[s.Metric] = s.Unit
			}
		}
	}
	var out []workload.Metric
	if reg != nil {
		if w, err := reg.Get(name); err == nil {
			for _, m := range w.Metrics() {
				if _, ok := present[m.Name]; ok {
					out = append(out, m)
					delete(present, m.Name)
				}
			}
		}
	}
	var rest []string
	for n := range present {
		rest = append(rest, n)
	}
	sort.Strings(rest)
	for _, n := range rest {
		out = append(out, workload.Metric{Name: n, Unit: present[n], Label: n})
	}
	return out
}

func (a *Analysis) metricRow(m workload.Metric, rts []string, byRuntime map[string][]*result.Trial, seed int64) MetricRow {
	row := MetricRow{Metric: m}
	var base []float64
	for _, t := range byRuntime[a.Baseline] {
		if t.Status != result.StatusOK {
			continue
		}
		if v, ok := t.Value(m.Name); ok {
			base = append(base, v)
		}
	}
	var pvals []float64
	var compared []int
	for _, rt := range rts {
		c := Cell{Runtime: rt}
		for _, t := range byRuntime[rt] {
			if t.Status != result.StatusOK {
				continue
			}
			if v, ok := t.Value(m.Name); ok {
				c.Values = append(c.Values, v)
			}
		}
		c.Summary = stats.Summarize(c.Values, stats.WithConfidence(Level))
		if rt != a.Baseline && len(base) > 0 && len(c.Values) > 0 {
			if r, err := stats.Ratio(c.Values, base, seed, stats.WithConfidence(Level)); err == nil {
				c.Ratio = &r
			} else {
				c.RatioError = err.Error()
			}
			if cmp, err := stats.Compare(c.Values, base, Alpha); err == nil {
				c.Compare = &cmp
				pvals = append(pvals, cmp.P)
				compared = append(compared, len(row.Cells))
			}
		}
		row.Cells = append(row.Cells, c)
	}
	if len(pvals) > 0 {
		reject, adj, err := stats.Holm(pvals, Alpha)
		if err == nil {
			for i, ci := range compared {
				c := &row.Cells[ci]
				c.PHolm, c.Significant = adj[i], reject[i]
				if c.Significant && c.Ratio != nil && c.Ratio.Lo <= 1 && c.Ratio.Hi >= 1 {
					c.Significant, c.Disagree = false, true
				}
			}
		}
	}
	return row
}

// Key identifies a group within a run: its workload and parameters.
func (g *Group) Key() string { return g.Workload + result.ParamString(g.Params) }

// HasParams reports whether the group's parameters include every one of
// want with its value.
func (g *Group) HasParams(want map[string]string) bool {
	for k, v := range want {
		if g.Params[k] != v {
			return false
		}
	}
	return true
}

// Metric returns the group's row of a metric, or nil.
func (g *Group) Metric(name string) *MetricRow {
	for i := range g.Metrics {
		if g.Metrics[i].Metric.Name == name {
			return &g.Metrics[i]
		}
	}
	return nil
}

// Headline returns the group's headline metrics, or all its metrics when
// it declares none (a workload this build does not know).
func (g *Group) Headline() []MetricRow {
	var rows []MetricRow
	for _, m := range g.Metrics {
		if m.Metric.Headline {
			rows = append(rows, m)
		}
	}
	if len(rows) == 0 {
		return g.Metrics
	}
	return rows
}

// Cell returns a runtime's cell of the metric.
func (m *MetricRow) Cell(rt string) (Cell, bool) {
	for _, c := range m.Cells {
		if c.Runtime == rt {
			return c, true
		}
	}
	return Cell{}, false
}

// HalfWidth returns the larger half-width of the median's interval as a
// fraction of the median, and false when there is no interval.
func HalfWidth(s stats.Summary) (float64, bool) {
	if !s.CI.Defined() || s.Median == 0 {
		return 0, false
	}
	hw := math.Max(s.Median-s.CI.Lo, s.CI.Hi-s.Median)
	return hw / math.Abs(s.Median), true
}
