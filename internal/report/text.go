package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
	"github.com/isobench/isobench/internal/workload"
)

// Text writes the terminal table of a run: per workload, one row per
// runtime with each headline metric's median (± the half-width of its
// confidence interval) and its ratio to the baseline.
//
// When the run has the study's workloads, a short form of the section
// "The study's findings on this host" follows: one line per finding with
// its verdict (Report.Text has the statistics behind each).
func Text(w io.Writer, run *result.Run, reg *workload.Registry, opt TextOptions) error {
	a := analysis.Analyze(run, reg)
	if err := writeTables(w, a, opt); err != nil {
		return err
	}
	if f := analysis.StudyFindings(a); f != nil {
		return writeFindingsText(w, f, run.ID, true)
	}
	return nil
}

// TextOptions say how much the terminal tables tell.
type TextOptions struct {
	// Verbose lists every warning of every cell under its table; without
	// it, one line per runtime counts them (JSON, HTML and Markdown keep
	// them all).
	Verbose bool
}

// writeTables writes the analysis as terminal tables.
func writeTables(w io.Writer, a *analysis.Analysis, opt TextOptions) error {
	ew := &errWriter{w: w}
	run := a.Run
	fmt.Fprintf(ew, "\nrun %s  profile %s  order %s  seed %d\n", run.ID, run.Profile, run.Order, run.Seed)
	fmt.Fprintf(ew, "medians ±%g%% CI of the median (order statistics); ×ratio to %s [%g%% bootstrap CI]; ~ not significant: the Mann–Whitney U test (Holm, α=%g) and the ratio interval must agree (‡ where they do not)\n",
		analysis.Level*100, a.Baseline, analysis.Level*100, analysis.Alpha)
	for _, g := range a.Groups {
		fmt.Fprintf(ew, "\n%s  %s\n", g.Workload, ParamsText(g.Params))
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		head := []string{"RUNTIME", "TRIALS"}
		// File workloads say which filesystem their files were on, as
		// the sandbox saw it.
		showFS := false
		for _, rc := range g.Runtimes {
			if rc.Attrs[analysis.AttrScratchFS] != "" {
				showFS = true
			}
		}
		if showFS {
			head = append(head, "SCRATCH FS")
		}
		rows := g.Headline()
		for _, m := range rows {
			arrow := "↓"
			if m.Metric.HigherIsBetter {
				arrow = "↑"
			}
			head = append(head, strings.ToUpper(m.Metric.Label)+" "+arrow, "vs "+a.Baseline)
		}
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		for i, rc := range g.Runtimes {
			cols := []string{rc.Label(), trialsText(rc)}
			if showFS {
				cols = append(cols, orText(rc.Attrs[analysis.AttrScratchFS], "?"))
			}
			for _, m := range rows {
				c := m.Cells[i]
				v := valueText(c, m.Metric.Unit)
				if below, ok := belowResolution(c, rc.Attrs[analysis.AttrResolution+m.Metric.Name], m.Metric.Unit); ok {
					v = below
				}
				cols = append(cols, v, ratioText(c, rc.Runtime == a.Baseline))
			}
			fmt.Fprintln(tw, strings.Join(cols, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		notes := groupSummary(g, rows)
		if opt.Verbose {
			notes = groupNotes(g, rows)
		}
		for _, note := range notes {
			fmt.Fprintf(ew, "  %s\n", note)
		}
		if err := writeTails(ew, g); err != nil {
			return err
		}
	}
	if len(run.Skipped) > 0 {
		fmt.Fprintln(ew, "\nskipped:")
		for _, s := range run.Skipped {
			what := s.Runtime
			if s.Workload != "" {
				what += " " + s.Workload
			}
			fmt.Fprintf(ew, "  %s: %s\n", what, s.Reason)
		}
	}
	for _, w := range analysis.RunWarnings(run) {
		fmt.Fprintf(ew, "warning: %s\n", w.Message)
	}
	return ew.err
}

// Text writes the report for a terminal: the terminal tables of the
// analysis with every warning listed, the study's findings on this host (when the
// run has the study's workloads) with the statistic behind each verdict,
// then the environment, the method and every failed trial.
func (r *Report) Text(w io.Writer) error {
	if err := writeTables(w, r.Analysis, TextOptions{Verbose: true}); err != nil {
		return err
	}
	if r.Findings != nil {
		if err := writeFindingsText(w, r.Findings, r.Run.ID, false); err != nil {
			return err
		}
	}
	ew := &errWriter{w: w}
	fmt.Fprintln(ew, "\nenvironment:")
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	for _, e := range r.Environment {
		fmt.Fprintf(tw, "  %s\t%s\n", e.Name, e.Value)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	m := r.Method
	fmt.Fprintf(ew, "\nmethod: %d trials per cell after %d warm-up(s), %s order, seed %d, profile %s, baseline %s\n",
		m.Trials, m.Warmups, m.Order, m.Seed, m.Profile, orDash(m.Baseline))
	for _, s := range m.Statistics {
		fmt.Fprintf(ew, "  %s\n", s)
	}
	if len(r.Failures) > 0 {
		fmt.Fprintln(ew, "\nfailed trials:")
		for _, f := range r.Failures {
			kind := "trial"
			if f.Warmup {
				kind = "warm-up"
			}
			fmt.Fprintf(ew, "  #%d %s %s %s %d: %s: %s\n", f.Seq, f.Runtime, f.Workload, kind, f.Index, f.Status, oneLine(f.Error))
		}
	}
	return ew.err
}

// writeFindingsText writes the section that tests the study's findings:
// in short, one line per finding; in full, the definitions, then each
// finding's claim, the tools it needs and those used, its verdict, each
// part's verdict with its statistic, and the notes.
func writeFindingsText(w io.Writer, f *analysis.Findings, runID string, short bool) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "\n%s\n", f.Title)
	if short {
		fmt.Fprintf(ew, "  (the statistics behind each verdict, and what the words mean: isobench report %s --format text)\n", runID)
		for _, fd := range f.Findings {
			line := fmt.Sprintf("  %d. %-13s %s", fd.N, fd.Verdict, fd.Claim)
			if fd.Verdict == analysis.VerdictNotRun {
				var miss []string
				for _, n := range fd.Needs {
					if n.Used == "" {
						miss = append(miss, n.Study)
					}
				}
				if len(miss) > 0 {
					line += " (no " + strings.Join(miss, ", ") + ")"
				}
			}
			fmt.Fprintln(ew, line)
		}
		return ew.err
	}
	for _, d := range f.Definitions {
		fmt.Fprintf(ew, "  - %s\n", d)
	}
	for _, fd := range f.Findings {
		fmt.Fprintf(ew, "\n  %d. %s (the study's %s)\n", fd.N, fd.Claim, fd.Figures)
		var needs []string
		for _, n := range fd.Needs {
			used := "not run here"
			if n.Used != "" {
				used = n.Used
			}
			needs = append(needs, n.Study+": "+used)
		}
		fmt.Fprintf(ew, "     needs: %s\n", strings.Join(needs, "; "))
		fmt.Fprintf(ew, "     verdict on this host: %s\n", fd.Verdict)
		for _, m := range fd.NotRun {
			fmt.Fprintf(ew, "       not run here: %s\n", m)
		}
		for _, p := range fd.Parts {
			fmt.Fprintf(ew, "       %s: %s: %s: %s\n", p.Verdict, p.Metric, p.Claim, p.Evidence)
		}
		for _, n := range fd.Notes {
			fmt.Fprintf(ew, "     note: %s\n", n)
		}
	}
	return ew.err
}

// belowResolution renders a median the tool printed as zero, when it has a
// known print step, as "<" half that step: the value is only known to be
// under it, and a zero would look like a result.
func belowResolution(c analysis.Cell, step, unit string) (string, bool) {
	if step == "" || c.Summary.N == 0 {
		return "", false
	}
	st, err := strconv.ParseFloat(step, 64)
	if err != nil || st <= 0 || math.Abs(c.Summary.Median) >= st/2 {
		return "", false
	}
	return "<" + FormatValue(st/2, unit), true
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func trialsText(rc analysis.RuntimeCount) string {
	n := rc.OK + rc.Failed
	if rc.Failed == 0 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d (%d failed)", n, rc.Failed)
}

func valueText(c analysis.Cell, unit string) string {
	if c.Summary.N == 0 {
		return "-"
	}
	v := FormatValue(c.Summary.Median, unit)
	if hw, ok := analysis.HalfWidth(c.Summary); ok {
		return fmt.Sprintf("%s ±%.1f%%", v, hw*100)
	}
	return v + " ±?"
}

func ratioText(c analysis.Cell, isBase bool) string {
	switch {
	case isBase:
		return ""
	case c.Ratio == nil:
		return "-"
	}
	s := fmt.Sprintf("×%.2f [%.2f–%.2f]", c.Ratio.Ratio, c.Ratio.Lo, c.Ratio.Hi)
	switch {
	case c.Disagree:
		return s + " ~‡"
	case c.Compare != nil && !c.Significant:
		return s + " ~"
	}
	return s
}

// groupSummary says, per runtime, what failed (each error once) and how
// many warnings of each kind its cells have, in one line, so that a table
// is not followed by a page of notes; groupNotes lists them all.
func groupSummary(g analysis.Group, rows []analysis.MetricRow) []string {
	var notes []string
	detail := false
	for i, rc := range g.Runtimes {
		for _, e := range rc.Errors {
			notes = append(notes, fmt.Sprintf("%s failed: %s", rc.Runtime, oneLine(e)))
		}
		type tally struct {
			metrics int
			worst   float64
		}
		var codes []string
		counts := map[string]*tally{}
		for _, m := range rows {
			if i >= len(m.Cells) {
				continue
			}
			c := m.Cells[i]
			for _, w := range c.Summary.Warnings {
				t := counts[w.Code]
				if t == nil {
					t = &tally{}
					counts[w.Code] = t
					codes = append(codes, w.Code)
				}
				t.metrics++
				switch w.Code {
				case stats.CodeHighCV:
					t.worst = max(t.worst, c.Summary.CV)
				case stats.CodeOutliers:
					t.worst += float64(len(c.Summary.Outliers))
				}
			}
		}
		var parts []string
		noRatio, why := 0, ""
		for _, m := range rows {
			if i < len(m.Cells) && m.Cells[i].RatioError != "" {
				if noRatio++; why == "" {
					why = m.Cells[i].RatioError
				}
			}
		}
		if noRatio > 0 {
			parts = append(parts, fmt.Sprintf("no ratio on %d metric(s): %s", noRatio, why))
		}
		for _, code := range codes {
			t := counts[code]
			switch code {
			case stats.CodeHighCV:
				parts = append(parts, fmt.Sprintf("noisy on %d metric(s) (CV up to %.1f%%)", t.metrics, 100*t.worst))
			case stats.CodeOutliers:
				parts = append(parts, fmt.Sprintf("outliers on %d metric(s) (%d value(s), kept)", t.metrics, int(t.worst)))
			case stats.CodeTooFewSamples:
				parts = append(parts, "too few trials for a confidence interval")
			default:
				parts = append(parts, fmt.Sprintf("%s on %d metric(s)", code, t.metrics))
			}
		}
		if len(parts) > 0 {
			detail = true
			notes = append(notes, fmt.Sprintf("%s: %s", rc.Runtime, strings.Join(parts, "; ")))
		}
	}
	if detail {
		notes = append(notes, "(every warning: -v, or the JSON, HTML and Markdown reports)")
	}
	return notes
}

// groupNotes lists failures and warnings of a group, shortest first.
func groupNotes(g analysis.Group, rows []analysis.MetricRow) []string {
	var notes []string
	for _, rc := range g.Runtimes {
		for _, e := range rc.Errors {
			notes = append(notes, fmt.Sprintf("%s failed: %s", rc.Runtime, oneLine(e)))
		}
	}
	seen := map[string]bool{}
	for _, m := range rows {
		for _, c := range m.Cells {
			if c.RatioError != "" {
				notes = append(notes, fmt.Sprintf("%s %s: no ratio: %s", c.Runtime, m.Metric.Label, c.RatioError))
			}
			for _, w := range c.Summary.Warnings {
				// A too-small sample is said once per runtime, not per metric.
				key := c.Runtime + w.Code
				if w.Code != "too-few-samples" {
					key += m.Metric.Name
				}
				if seen[key] {
					continue
				}
				seen[key] = true
				notes = append(notes, fmt.Sprintf("%s %s: %s", c.Runtime, m.Metric.Label, WarningText(w, c.Summary, m.Metric.Unit)))
			}
		}
	}
	sort.SliceStable(notes, func(i, j int) bool { return len(notes[i]) < len(notes[j]) })
	return notes
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
