package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
)

// WriteComparison renders a comparison of two runs, or of two runtimes of
// one run (see analysis.CompareRuns and analysis.CompareRuntimes): as
// benchstat-like tables (text), one Markdown table, or indented JSON.
func WriteComparison(w io.Writer, c *analysis.Comparison, f Format) error {
	switch f {
	case FormatText:
		return compareText(w, c)
	case FormatMarkdown:
		return compareMarkdown(w, c)
	case FormatJSON:
		return compareJSON(w, c)
	}
	return fmt.Errorf("a comparison is not written as %s", f)
}

// deltaText is the change shown for a row: "+3.21%" when significant, "~"
// otherwise, "?" when there is nothing to compare.
func deltaText(r analysis.CompareRow) string {
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
	if hw, ok := analysis.HalfWidth(s); ok {
		return fmt.Sprintf("%s ±%.1f%%", v, hw*100)
	}
	return v + " ±?"
}

// sideName heads a side's column: the runtime compared, or "old" and
// "new" for runs (named in the lines above the table).
func sideName(s analysis.Side) string {
	if s.Runtime != "" {
		return s.Runtime
	}
	return s.Label
}

// compareText writes the comparison as benchstat-like tables, one per
// workload group, then the regressions when a bound was given.
func compareText(w io.Writer, c *analysis.Comparison) error {
	ew := &errWriter{w: w}
	if c.ByRuntime {
		fmt.Fprintf(ew, "old: run %s\nnew: run %s\n", c.Old.RunID, c.New.RunID)
	} else {
		fmt.Fprintf(ew, "run %s\nold: %s\nnew: %s\n", c.Old.RunID, c.Old.Runtime, c.New.Runtime)
	}
	fmt.Fprintf(ew, "medians ±%g%% CI; ratio = new/old medians [%g%% bootstrap CI]; delta = new/old − 1 where significant, ~ otherwise\n"+
		"significant: the Mann–Whitney U test rejects (Holm over the runtimes of each metric, α=%g) and the ratio interval excludes 1 (‡: the test rejects but the interval holds 1)\n",
		analysis.Level*100, analysis.Level*100, c.Alpha)
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
			head := []string{"METRIC", strings.ToUpper(sideName(c.Old)), strings.ToUpper(sideName(c.New)), "RATIO", "DELTA", "P", "N"}
			if c.ByRuntime {
				head = append([]string{"RUNTIME"}, head...)
			}
			fmt.Fprintln(tw, strings.Join(head, "\t"))
		}
		fmt.Fprintln(tw, strings.Join(rowCells(c, r), "\t"))
	}
	if err := flush(); err != nil {
		return err
	}
	if len(c.Rows) == 0 {
		fmt.Fprintln(ew, "\nnothing to compare: no workload group, runtime and metric is in both")
	}
	if len(c.Unjudged) > 0 {
		fmt.Fprintf(ew, "\n%d cell(s) not judged:\n", len(c.Unjudged))
		for _, u := range c.Unjudged {
			fmt.Fprintf(ew, "  %s %s: %s\n", u.Kind, u.Name(), u.Reason)
		}
	}
	if c.FailAbove > 0 {
		regs := c.Regressions()
		if len(regs) == 0 {
			fmt.Fprintf(ew, "\nno regression beyond %s%s among the judged cells\n", PercentText(c.FailAbove), strictText(c))
		} else {
			fmt.Fprintf(ew, "\n%d regression(s) beyond %s%s:\n", len(regs), PercentText(c.FailAbove), strictText(c))
			for _, r := range regs {
				fmt.Fprintf(ew, "  %s\n", rowName(r))
			}
		}
	}
	return ew.err
}

func strictText(c *analysis.Comparison) string {
	if c.Strict {
		return " (strict: the whole ratio interval beyond the bound)"
	}
	return ""
}

// PercentText writes a fraction as a percentage without the float noise of
// the multiplication (0.07 is "7%", not "7.000000000000001%").
func PercentText(f float64) string {
	return strconv.FormatFloat(math.Round(f*100*1e6)/1e6, 'f', -1, 64) + "%"
}

// PText writes a p-value with two significant digits, so that a small one
// is not shown as 0.000.
func PText(p float64) string {
	switch {
	case p >= 0.01:
		return strconv.FormatFloat(p, 'f', 3, 64)
	case p > 0:
		return strconv.FormatFloat(p, 'g', 2, 64)
	}
	return "0"
}

// compareRatioText is "1.08 [1.02–1.15]", or "-" when there is no ratio.
func compareRatioText(r *stats.RatioCI) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.3g [%.3g–%.3g]", r.Ratio, r.Lo, r.Hi)
}

func rowCells(c *analysis.Comparison, r analysis.CompareRow) []string {
	arrow := "↓"
	if r.Metric.HigherIsBetter {
		arrow = "↑"
	}
	p := "-"
	if r.Compare != nil {
		p = PText(r.PHolm)
	}
	delta := deltaText(r)
	if r.Disagree {
		delta += " ‡"
	}
	if r.Regression {
		delta += " !"
	}
	cells := []string{r.Metric.Label + " " + arrow, summaryText(r.Old, r.Metric.Unit), summaryText(r.New, r.Metric.Unit),
		compareRatioText(r.Ratio), delta, p, fmt.Sprintf("%d+%d", r.Old.N, r.New.N)}
	if c.ByRuntime {
		cells = append([]string{r.Runtime}, cells...)
	}
	return cells
}

func rowName(r analysis.CompareRow) string {
	name := strings.TrimSpace(r.Workload + " " + ParamsText(r.Params))
	if r.Runtime != "" {
		name = r.Runtime + " " + name
	}
	return fmt.Sprintf("%s %s %s (%s → %s)", name, r.Metric.Label, deltaText(r),
		FormatValue(r.Old.Median, r.Metric.Unit), FormatValue(r.New.Median, r.Metric.Unit))
}

// compareMarkdown writes the comparison as one Markdown table.
func compareMarkdown(w io.Writer, c *analysis.Comparison) error {
	ew := &errWriter{w: w}
	if c.ByRuntime {
		fmt.Fprintf(ew, "Comparing run `%s` (old) with run `%s` (new).\n\n", c.Old.RunID, c.New.RunID)
	} else {
		fmt.Fprintf(ew, "Comparing `%s` (old) with `%s` (new) in run `%s`.\n\n", c.Old.Runtime, c.New.Runtime, c.Old.RunID)
	}
	head := "| workload | metric | old | new | ratio | delta | p | n |\n|---|---|--:|--:|--:|--:|--:|--:|\n"
	if c.ByRuntime {
		head = "| workload | runtime | metric | old | new | ratio | delta | p | n |\n|---|---|---|--:|--:|--:|--:|--:|--:|\n"
	}
	fmt.Fprint(ew, head)
	for _, r := range c.Rows {
		cells := rowCells(c, r)
		wl := strings.TrimSpace(r.Workload + " " + ParamsText(r.Params))
		for i := range cells {
			cells[i] = md(cells[i])
		}
		fmt.Fprintf(ew, "| %s | %s |\n", md(wl), strings.Join(cells, " | "))
	}
	fmt.Fprintf(ew, "\nMedians ±%g%% CI; ratio of the medians with its %g%% bootstrap CI; delta where significant, ~ otherwise. "+
		"Significant: the Mann–Whitney U test rejects (Holm over the runtimes of each metric, α=%g) and the ratio interval excludes 1 (‡: the test rejects but the interval holds 1).\n", analysis.Level*100, analysis.Level*100, c.Alpha)
	if len(c.Unjudged) > 0 {
		fmt.Fprintf(ew, "\n**%d cell(s) not judged**\n\n", len(c.Unjudged))
		for _, u := range c.Unjudged {
			fmt.Fprintf(ew, "- %s %s: %s\n", u.Kind, md(u.Name()), md(u.Reason))
		}
	}
	if c.FailAbove > 0 {
		regs := c.Regressions()
		fmt.Fprintf(ew, "\n**%d regression(s) beyond %s%s**\n", len(regs), PercentText(c.FailAbove), strictText(c))
		for _, r := range regs {
			fmt.Fprintf(ew, "- %s\n", md(rowName(r)))
		}
	}
	return ew.err
}

// compareJSON writes the comparison as indented JSON.
func compareJSON(w io.Writer, c *analysis.Comparison) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("writing comparison: %w", err)
	}
	return nil
}
