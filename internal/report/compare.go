package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

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
	Rows      []CompareRow `json:"rows"`
	// Unmatched lists what only one side has, and why nothing was compared
	// for it.
	Unmatched []string `json:"unmatched,omitempty"`
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
	Delta   float64           `json:"delta"`
	Compare *stats.Comparison `json:"compare,omitempty"`
	// PHolm is the p-value after Holm's correction over the rows of the
	// same metric.
	PHolm       float64 `json:"p_holm"`
	Significant bool    `json:"significant"`
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
	c := &Comparison{Old: Side{Label: "old", RunID: a.ID}, New: Side{Label: "new", RunID: b.ID}, ByRuntime: true, Alpha: Alpha, FailAbove: opt.FailAbove}
	aa, ab := Analyze(a, reg), Analyze(b, reg)
	keep := func(rt string) bool { return len(opt.Runtimes) == 0 || contains(opt.Runtimes, rt) }
	for gi := range aa.Groups {
		ga := &aa.Groups[gi]
		gb := findGroup(ab, ga)
		if gb == nil {
			c.Unmatched = append(c.Unmatched, fmt.Sprintf("%s %s: only in %s", ga.Workload, ParamsText(ga.Params), a.ID))
			continue
		}
		for _, ma := range ga.Metrics {
			if !wantMetric(opt, ma.Metric.Name) {
				continue
			}
			mb := findMetric(gb, ma.Metric.Name)
			if mb == nil {
				continue
			}
			for _, ca := range ma.Cells {
				if !keep(ca.Runtime) {
					continue
				}
				cb, ok := findCell(mb, ca.Runtime)
				if !ok {
					continue
				}
				c.Rows = append(c.Rows, compareRow(ga, ca.Runtime, ma.Metric, ca.Values, cb.Values))
			}
		}
	}
	for gi := range ab.Groups {
		if findGroup(aa, &ab.Groups[gi]) == nil {
			c.Unmatched = append(c.Unmatched, fmt.Sprintf("%s %s: only in %s", ab.Groups[gi].Workload, ParamsText(ab.Groups[gi].Params), b.ID))
		}
	}
	c.finish(opt)
	return c
}

// CompareRuntimes compares runtime newRT with runtime oldRT within one run.
func CompareRuntimes(run *result.Run, oldRT, newRT string, reg *workload.Registry, opt CompareOptions) *Comparison {
	c := &Comparison{Old: Side{Label: "old", RunID: run.ID, Runtime: oldRT}, New: Side{Label: "new", RunID: run.ID, Runtime: newRT}, Alpha: Alpha, FailAbove: opt.FailAbove}
	an := Analyze(run, reg)
	for gi := range an.Groups {
		g := &an.Groups[gi]
		for _, m := range g.Metrics {
			if !wantMetric(opt, m.Metric.Name) {
				continue
			}
			co, okOld := findCell(&m, oldRT)
			cn, okNew := findCell(&m, newRT)
			if !okOld || !okNew {
				continue
			}
			c.Rows = append(c.Rows, compareRow(g, "", m.Metric, co.Values, cn.Values))
		}
		has := map[string]bool{}
		for _, rc := range g.Runtimes {
			has[rc.Runtime] = true
		}
		for _, rt := range []string{oldRT, newRT} {
			if !has[rt] {
				c.Unmatched = append(c.Unmatched, fmt.Sprintf("%s %s: no trials of %s", g.Workload, ParamsText(g.Params), rt))
			}
		}
	}
	c.finish(opt)
	return c
}

func compareRow(g *Group, rt string, m workload.Metric, old, new []float64) CompareRow {
	r := CompareRow{Workload: g.Workload, Params: g.Params, Runtime: rt, Metric: m,
		Old: stats.Summarize(old, stats.WithConfidence(Level)), New: stats.Summarize(new, stats.WithConfidence(Level))}
	switch {
	case len(old) == 0 || len(new) == 0:
		r.Note = "no values on one side"
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
	}
	return r
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
			if !r.Significant || opt.FailAbove <= 0 || r.Old.Median == 0 {
				continue
			}
			worse := r.Delta
			if r.Metric.HigherIsBetter {
				worse = -r.Delta
			}
			r.Regression = worse > opt.FailAbove
		}
	}
}

func wantMetric(opt CompareOptions, name string) bool {
	return len(opt.Metrics) == 0 || contains(opt.Metrics, name)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func findGroup(a *Analysis, g *Group) *Group {
	key := groupKey(g)
	for i := range a.Groups {
		if groupKey(&a.Groups[i]) == key {
			return &a.Groups[i]
		}
	}
	return nil
}

func findCell(m *MetricRow, rt string) (Cell, bool) {
	for _, c := range m.Cells {
		if c.Runtime == rt {
			return c, true
		}
	}
	return Cell{}, false
}

// DeltaText is the change shown for a row: "+3.21%" when significant, "~"
// otherwise, "?" when there is nothing to compare.
func (r CompareRow) DeltaText() string {
	switch {
	case r.Compare == nil:
		return "?"
	case !r.Significant:
		return "~"
	case r.Old.Median == r.New.Median:
		return "0.00%"
	}
	return fmt.Sprintf("%+.2f%%", 100*r.Delta)
}

// summaryText is "median ±x%" in the metric's unit.
func summaryText(s stats.Summary, unit string) string {
	if s.N == 0 {
		return "-"
	}
	v := FormatValue(s.Median, unit)
	if hw, ok := HalfWidth(s); ok {
		return fmt.Sprintf("%s ±%.1f%%", v, hw*100)
	}
	return v + " ±?"
}

// sideName heads a side's column: the runtime compared, or "old" and
// "new" for runs (named in the lines above the table).
func (c *Comparison) sideName(s Side) string {
	if s.Runtime != "" {
		return s.Runtime
	}
	return s.Label
}

// Text writes the comparison as benchstat-like tables, one per workload
// group, then the regressions when a bound was given.
func (c *Comparison) Text(w io.Writer) error {
	ew := &errWriter{w: w}
	if c.ByRuntime {
		fmt.Fprintf(ew, "old: run %s\nnew: run %s\n", c.Old.RunID, c.New.RunID)
	} else {
		fmt.Fprintf(ew, "run %s\nold: %s\nnew: %s\n", c.Old.RunID, c.Old.Runtime, c.New.Runtime)
	}
	fmt.Fprintf(ew, "medians ±%g%% CI; delta = new/old − 1 where significant, ~ otherwise (Mann–Whitney U, Holm over the runtimes of each metric, α=%g)\n",
		Level*100, c.Alpha)
	var tw *tabwriter.Writer
	last := "\x00"
	flush := func() error {
		if tw != nil {
			return tw.Flush()
		}
		return nil
	}
	for _, r := range c.Rows {
		key := r.Workload + result.ParamString(r.Params)
		if key != last {
			if err := flush(); err != nil {
				return err
			}
			last = key
			fmt.Fprintf(ew, "\n%s  %s\n", r.Workload, ParamsText(r.Params))
			tw = tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
			head := []string{"METRIC", strings.ToUpper(c.sideName(c.Old)), strings.ToUpper(c.sideName(c.New)), "DELTA", "P", "N"}
			if c.ByRuntime {
				head = append([]string{"RUNTIME"}, head...)
			}
			fmt.Fprintln(tw, strings.Join(head, "\t"))
		}
		fmt.Fprintln(tw, strings.Join(c.rowCells(r), "\t"))
	}
	if err := flush(); err != nil {
		return err
	}
	if len(c.Rows) == 0 {
		fmt.Fprintln(ew, "\nnothing to compare: no workload group, runtime and metric is in both")
	}
	for _, u := range c.Unmatched {
		fmt.Fprintf(ew, "note: %s\n", u)
	}
	if c.FailAbove > 0 {
		regs := c.Regressions()
		if len(regs) == 0 {
			fmt.Fprintf(ew, "\nno regression beyond %g%%\n", c.FailAbove*100)
		} else {
			fmt.Fprintf(ew, "\n%d regression(s) beyond %g%%:\n", len(regs), c.FailAbove*100)
			for _, r := range regs {
				fmt.Fprintf(ew, "  %s\n", c.rowName(r))
			}
		}
	}
	return ew.err
}

func (c *Comparison) rowCells(r CompareRow) []string {
	arrow := "↓"
	if r.Metric.HigherIsBetter {
		arrow = "↑"
	}
	p := "-"
	if r.Compare != nil {
		p = fmt.Sprintf("%.3f", r.PHolm)
	}
	delta := r.DeltaText()
	if r.Regression {
		delta += " !"
	}
	cells := []string{r.Metric.Label + " " + arrow, summaryText(r.Old, r.Metric.Unit), summaryText(r.New, r.Metric.Unit),
		delta, p, fmt.Sprintf("%d+%d", r.Old.N, r.New.N)}
	if c.ByRuntime {
		cells = append([]string{r.Runtime}, cells...)
	}
	return cells
}

func (c *Comparison) rowName(r CompareRow) string {
	name := strings.TrimSpace(r.Workload + " " + ParamsText(r.Params))
	if r.Runtime != "" {
		name = r.Runtime + " " + name
	}
	return fmt.Sprintf("%s %s %s (%s → %s)", name, r.Metric.Label, r.DeltaText(),
		FormatValue(r.Old.Median, r.Metric.Unit), FormatValue(r.New.Median, r.Metric.Unit))
}

// Markdown writes the comparison as one Markdown table.
func (c *Comparison) Markdown(w io.Writer) error {
	ew := &errWriter{w: w}
	if c.ByRuntime {
		fmt.Fprintf(ew, "Comparing run `%s` (old) with run `%s` (new).\n\n", c.Old.RunID, c.New.RunID)
	} else {
		fmt.Fprintf(ew, "Comparing `%s` (old) with `%s` (new) in run `%s`.\n\n", c.Old.Runtime, c.New.Runtime, c.Old.RunID)
	}
	head := "| workload | metric | old | new | delta | p | n |\n|---|---|--:|--:|--:|--:|--:|\n"
	if c.ByRuntime {
		head = "| workload | runtime | metric | old | new | delta | p | n |\n|---|---|---|--:|--:|--:|--:|--:|\n"
	}
	fmt.Fprint(ew, head)
	for _, r := range c.Rows {
		cells := c.rowCells(r)
		wl := strings.TrimSpace(r.Workload + " " + ParamsText(r.Params))
		for i := range cells {
			cells[i] = md(cells[i])
		}
		fmt.Fprintf(ew, "| %s | %s |\n", md(wl), strings.Join(cells, " | "))
	}
	fmt.Fprintf(ew, "\nMedians ±%g%% CI; delta where significant (Mann–Whitney U, Holm over the runtimes of each metric, α=%g), ~ otherwise.\n", Level*100, c.Alpha)
	for _, u := range c.Unmatched {
		fmt.Fprintf(ew, "\n- %s", md(u))
	}
	if c.FailAbove > 0 {
		regs := c.Regressions()
		fmt.Fprintf(ew, "\n**%d regression(s) beyond %g%%**\n", len(regs), c.FailAbove*100)
		for _, r := range regs {
			fmt.Fprintf(ew, "- %s\n", md(c.rowName(r)))
		}
	}
	return ew.err
}

// JSON writes the comparison as indented JSON.
func (c *Comparison) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("writing comparison: %w", err)
	}
	return nil
}
