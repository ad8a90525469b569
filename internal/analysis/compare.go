package analysis

import (
	"fmt"
	"slices"
	"strings"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
	"github.com/isobench/isobench/internal/workload"
)

// CompareOptions narrows and gates a comparison.
type CompareOptions struct {
	// Metrics, when not empty, keeps only these metric names.
	Metrics []string
	// Runtimes, when not empty, keeps only these runtimes (comparing runs).
	Runtimes []string
	// FailAbove, when above 0, is the largest tolerated regression as a
	// fraction (0.05 for 5%): a significant change of a metric in its
	// worse direction by more than this is a regression.
	FailAbove float64
	// Strict asks more of a regression: the whole ratio interval, not
	// only the change of the medians, lies beyond FailAbove.
	Strict bool
}

// Kinds of an Unjudged cell.
const (
	// UnjudgedMissing: the cell is in one side only (a runtime skipped or
	// gone, a workload or metric not measured).
	UnjudgedMissing = "missing"
	// UnjudgedInconclusive: the cell is on both sides but cannot be
	// judged (no successful trial on a side, or too few trials for the
	// test to find any difference).
	UnjudgedInconclusive = "inconclusive"
)

// Unjudged is a cell a comparison could not judge, and why. A gate that
// passes over it would pass what it did not measure.
type Unjudged struct {
	Workload string            `json:"workload"`
	Params   map[string]string `json:"params,omitempty"`
	Runtime  string            `json:"runtime,omitempty"`
	// Metric is empty when the whole cell (every metric) is concerned.
	Metric string `json:"metric,omitempty"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// Name is the cell's name for people: "runc cpu max-prime=20000 events/s".
func (u Unjudged) Name() string {
	parts := []string{u.Runtime, u.Workload, ParamsText(u.Params), u.Metric}
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

// Side names what one side of a comparison is.
type Side struct {
	Label   string `json:"label"` // "old" or "new"
	RunID   string `json:"run"`
	Runtime string `json:"runtime,omitempty"` // comparing two runtimes of one run
}

// Comparison compares two runs, or two runtimes of one run, metric by
// metric, as benchstat does: medians with their intervals, the change of
// the median, and the Mann–Whitney U test, here with Holm's correction over
// the runtimes compared on each metric.
type Comparison struct {
	Old Side `json:"old"`
	New Side `json:"new"`
	// ByRuntime is true for two runs compared runtime by runtime, false
	// for two runtimes of one run.
	ByRuntime bool         `json:"by_runtime"`
	Alpha     float64      `json:"alpha"`
	FailAbove float64      `json:"fail_above,omitempty"`
	Strict    bool         `json:"strict,omitempty"`
	Rows      []CompareRow `json:"rows"`
	// Unjudged lists every cell that could not be judged, and why: a
	// cell in one side only, or one without enough successful trials.
	Unjudged []Unjudged `json:"unjudged,omitempty"`
}

// CompareRow is one metric of one workload group (and one runtime, when
// comparing runs).
type CompareRow struct {
	Workload string            `json:"workload"`
	Params   map[string]string `json:"params,omitempty"`
	Runtime  string            `json:"runtime,omitempty"`
	Metric   workload.Metric   `json:"metric"`
	Old      stats.Summary     `json:"old"`
	New      stats.Summary     `json:"new"`
	// Delta is new median / old median − 1; it is shown only when
	// Significant.
	Delta float64 `json:"delta"`
	// Ratio is new median / old median with its bootstrap interval,
	// shown on every row.
	Ratio   *stats.RatioCI    `json:"ratio,omitempty"`
	Compare *stats.Comparison `json:"compare,omitempty"`
	// PHolm is the p-value after Holm's correction over the rows of the
	// same metric.
	PHolm float64 `json:"p_holm"`
	// Significant is true when the U test rejects (after Holm's
	// correction) and the ratio interval excludes 1: the two must agree
	// before a difference is called.
	Significant bool `json:"significant"`
	// Disagree is true when the U test rejects but the ratio interval
	// holds 1; the row is then not significant, and marked.
	Disagree bool `json:"disagree,omitempty"`
	// Regression is a significant change in the metric's worse direction
	// beyond CompareOptions.FailAbove.
	Regression bool   `json:"regression,omitempty"`
	Note       string `json:"note,omitempty"`
}

// Regressions returns the rows that regress past the bound.
func (c *Comparison) Regressions() []CompareRow {
	var out []CompareRow
	for _, r := range c.Rows {
		if r.Regression {
			out = append(out, r)
		}
	}
	return out
}

// CompareRuns compares run b (new) with run a (old): every workload group
// with the same parameters, runtime and metric in both.
func CompareRuns(a, b *result.Run, reg *workload.Registry, opt CompareOptions) *Comparison {
	c := &Comparison{Old: Side{Label: "old", RunID: a.ID}, New: Side{Label: "new", RunID: b.ID}, ByRuntime: true, Alpha: Alpha, FailAbove: opt.FailAbove, Strict: opt.Strict}
	aa, ab := Analyze(a, reg), Analyze(b, reg)
	keep := func(rt string) bool { return len(opt.Runtimes) == 0 || slices.Contains(opt.Runtimes, rt) }
	seed := a.Seed ^ b.Seed
	// missing records what one side (in, "old" or "new") has and the other
	// lacks, with the reason the other run gave for skipping it.
	missing := func(g *Group, rt, metric string, other *result.Run, in string) {
		why := fmt.Sprintf("only in the %s run", in)
		if r := skipReason(other, rt, g.Workload); r != "" {
			why += "; the other skipped it: " + r
		}
		c.Unjudged = append(c.Unjudged, Unjudged{Workload: g.Workload, Params: g.Params, Runtime: rt, Metric: metric, Kind: UnjudgedMissing, Reason: why})
	}
	oneSide := func(from *Analysis, to *Analysis, other *result.Run, in string, compare bool) {
		for gi := range from.Groups {
			g := &from.Groups[gi]
			gt := to.group(g.Key())
			for _, m := range g.Metrics {
				if !wantMetric(opt, m.Metric.Name) {
					continue
				}
				var mt *MetricRow
				if gt != nil {
					mt = gt.Metric(m.Metric.Name)
				}
				for _, cell := range m.Cells {
					if !keep(cell.Runtime) {
						continue
					}
					var ct Cell
					ok := false
					if mt != nil {
						ct, ok = mt.Cell(cell.Runtime)
					}
					switch {
					case !ok:
						missing(g, cell.Runtime, m.Metric.Label, other, in)
					case compare:
						c.Rows = append(c.Rows, compareRow(g, cell.Runtime, m.Metric, cell.Values, ct.Values, seed))
					}
				}
			}
		}
	}
	oneSide(aa, ab, b, "old", true)
	oneSide(ab, aa, a, "new", false)
	c.finish(opt)
	return c
}

// collapseUnjudged lists a cell not judged for the same reason on several
// metrics once, without a metric, in the place of its first metric.
func collapseUnjudged(us []Unjudged) []Unjudged {
	key := func(u Unjudged) string {
		return u.Kind + "\x00" + u.Workload + result.ParamString(u.Params) + "\x00" + u.Runtime + "\x00" + u.Reason
	}
	count := map[string]int{}
	for _, u := range us {
		count[key(u)]++
	}
	var out []Unjudged
	done := map[string]bool{}
	for _, u := range us {
		k := key(u)
		if count[k] > 1 {
			if done[k] {
				continue
			}
			done[k] = true
			u.Metric = ""
		}
		out = append(out, u)
	}
	return out
}

// skipReason is why run skipped runtime rt (for workload wl, or for all),
// or "".
func skipReason(run *result.Run, rt, wl string) string {
	for _, s := range run.Skipped {
		if s.Runtime == rt && (s.Workload == "" || s.Workload == wl) {
			return s.Reason
		}
	}
	return ""
}

// CompareRuntimes compares runtime newRT with runtime oldRT within one run.
func CompareRuntimes(run *result.Run, oldRT, newRT string, reg *workload.Registry, opt CompareOptions) *Comparison {
	c := &Comparison{Old: Side{Label: "old", RunID: run.ID, Runtime: oldRT}, New: Side{Label: "new", RunID: run.ID, Runtime: newRT}, Alpha: Alpha, FailAbove: opt.FailAbove, Strict: opt.Strict}
	an := Analyze(run, reg)
	for gi := range an.Groups {
		g := &an.Groups[gi]
		for _, m := range g.Metrics {
			if !wantMetric(opt, m.Metric.Name) {
				continue
			}
			co, okOld := m.Cell(oldRT)
			cn, okNew := m.Cell(newRT)
			for _, side := range []struct {
				rt string
				ok bool
			}{{oldRT, okOld}, {newRT, okNew}} {
				if !side.ok {
					why := "no trials of " + side.rt
					if r := skipReason(run, side.rt, g.Workload); r != "" {
						why += ": skipped: " + r
					}
					c.Unjudged = append(c.Unjudged, Unjudged{Workload: g.Workload, Params: g.Params, Metric: m.Metric.Label, Kind: UnjudgedMissing, Reason: why})
				}
			}
			if !okOld || !okNew {
				continue
			}
			c.Rows = append(c.Rows, compareRow(g, "", m.Metric, co.Values, cn.Values, run.Seed))
		}
	}
	c.finish(opt)
	return c
}

func compareRow(g *Group, rt string, m workload.Metric, old, new []float64, seed int64) CompareRow {
	r := CompareRow{Workload: g.Workload, Params: g.Params, Runtime: rt, Metric: m,
		Old: stats.Summarize(old, stats.WithConfidence(Level)), New: stats.Summarize(new, stats.WithConfidence(Level))}
	switch {
	case len(old) == 0 && len(new) == 0:
		r.Note = "no successful trial in either run"
	case len(old) == 0:
		r.Note = "no successful trial on the old side"
	case len(new) == 0:
		r.Note = "no successful trial on the new side"
	default:
		cmp, err := stats.Compare(new, old, Alpha)
		if err != nil {
			r.Note = err.Error()
			break
		}
		r.Compare = &cmp
		if r.Old.Median != 0 {
			r.Delta = r.New.Median/r.Old.Median - 1
		}
		if ratio, err := stats.Ratio(new, old, seed, stats.WithConfidence(Level)); err == nil {
			r.Ratio = &ratio
		} else {
			r.Note = "no ratio: " + err.Error()
		}
		for _, w := range cmp.Warnings {
			if w.Code == stats.CodeTooFewSamples {
				r.Note = fmt.Sprintf("too few trials (%d old, %d new): %s", len(old), len(new), w.Message)
			}
		}
	}
	return r
}

// judgeable reports whether a row can be judged: both sides measured, and
// enough trials for the test to find a difference.
func (r CompareRow) judgeable() bool {
	if r.Compare == nil {
		return false
	}
	for _, w := range r.Compare.Warnings {
		if w.Code == stats.CodeTooFewSamples {
			return false
		}
	}
	return true
}

// finish corrects the p-values, by Holm's method over the rows of one
// metric of one workload group (the runtimes compared on it, as in a run's
// own analysis), and marks regressions.
func (c *Comparison) finish(opt CompareOptions) {
	families := map[string][]int{}
	var order []string
	for i, r := range c.Rows {
		if r.Compare == nil {
			continue
		}
		key := r.Workload + result.ParamString(r.Params) + "\x00" + r.Metric.Name
		if families[key] == nil {
			order = append(order, key)
		}
		families[key] = append(families[key], i)
	}
	for _, key := range order {
		idx := families[key]
		ps := make([]float64, len(idx))
		for k, i := range idx {
			ps[k] = c.Rows[i].Compare.P
		}
		reject, adj, err := stats.Holm(ps, Alpha)
		if err != nil {
			continue
		}
		for k, i := range idx {
			r := &c.Rows[i]
			r.PHolm, r.Significant = adj[k], reject[k]
			if r.Significant && r.Ratio != nil && r.Ratio.Lo <= 1 && r.Ratio.Hi >= 1 {
				r.Significant, r.Disagree = false, true
			}
			if !r.Significant || opt.FailAbove <= 0 || r.Old.Median == 0 {
				continue
			}
			r.Regression = regressed(r, opt)
		}
	}
	for _, r := range c.Rows {
		if !r.judgeable() {
			c.Unjudged = append(c.Unjudged, Unjudged{Workload: r.Workload, Params: r.Params, Runtime: r.Runtime, Metric: r.Metric.Label, Kind: UnjudgedInconclusive, Reason: r.Note})
		}
	}
	c.Unjudged = collapseUnjudged(c.Unjudged)
}

// regressed applies the gate's rule to a significant row: the change of
// the medians is beyond the bound in the metric's worse direction, and
// with Strict the whole ratio interval is too.
func regressed(r *CompareRow, opt CompareOptions) bool {
	worse := r.Delta
	if r.Metric.HigherIsBetter {
		worse = -r.Delta
	}
	if worse <= opt.FailAbove {
		return false
	}
	if !opt.Strict {
		return true
	}
	if r.Ratio == nil {
		return false
	}
	if r.Metric.HigherIsBetter {
		return r.Ratio.Hi < 1-opt.FailAbove
	}
	return r.Ratio.Lo > 1+opt.FailAbove
}

// Blocking returns the cells the gate must not pass over: missing ones
// unless allowMissing, inconclusive ones unless allowInconclusive.
func (c *Comparison) Blocking(allowMissing, allowInconclusive bool) []Unjudged {
	var out []Unjudged
	for _, u := range c.Unjudged {
		if u.Kind == UnjudgedMissing && allowMissing || u.Kind == UnjudgedInconclusive && allowInconclusive {
			continue
		}
		out = append(out, u)
	}
	return out
}

func wantMetric(opt CompareOptions, name string) bool {
	return len(opt.Metrics) == 0 || slices.Contains(opt.Metrics, name)
}

// group returns the analysis' group with a key (see Group.Key), or nil.
func (a *Analysis) group(key string) *Group {
	for i := range a.Groups {
		if a.Groups[i].Key() == key {
			return &a.Groups[i]
		}
	}
	return nil
}
