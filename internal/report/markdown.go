package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/analysis"
)

// Markdown writes the report as GitHub-flavoured Markdown: the run, its
// warnings, a table per workload group with every metric, the environment
// (Table 1), the method, failed trials and skipped runtimes. Figures need
// the HTML report.
func (r *Report) Markdown(w io.Writer) error {
	ew := &errWriter{w: w}
	run := r.Run
	fmt.Fprintf(ew, "# isobench run %s\n\n", run.ID)
	fmt.Fprintf(ew, "| | |\n|---|---|\n")
	fmt.Fprintf(ew, "| status | %s |\n", run.Status)
	fmt.Fprintf(ew, "| started | %s |\n", mdTime(run.Started))
	fmt.Fprintf(ew, "| ended | %s |\n", mdTime(run.Ended))
	var rts []string
	for _, rt := range run.Runtimes {
		rts = append(rts, rt.Name)
	}
	fmt.Fprintf(ew, "| runtimes | %s |\n", md(strings.Join(rts, ", ")))
	fmt.Fprintf(ew, "| command | `%s` |\n", md(strings.Join(run.Command, " ")))
	if len(r.Warnings) > 0 {
		fmt.Fprintf(ew, "\n> **Warnings**\n>\n")
		for _, wn := range r.Warnings {
			fmt.Fprintf(ew, "> - `%s` %s\n", wn.Code, md(wn.Message))
		}
	}
	fmt.Fprintf(ew, "\n## Results\n\nMedians with their %g%% confidence interval; ratio to %s with its %g%% bootstrap interval; p-values after Holm's correction; ~ means no significant difference.\n",
		analysis.Level*100, orDash(r.Method.Baseline), analysis.Level*100)
	for _, g := range r.Analysis.Groups {
		fmt.Fprintf(ew, "\n### %s", g.Workload)
		if p := ParamsText(g.Params); p != "" {
			fmt.Fprintf(ew, " `%s`", md(p))
		}
		fmt.Fprintf(ew, "\n\n| metric | runtime | trials | median | CI | ratio [CI] | p | notes |\n|---|---|--:|--:|--:|--:|--:|---|\n")
		for _, m := range g.Metrics {
			arrow := "↓"
			if m.Metric.HigherIsBetter {
				arrow = "↑"
			}
			for _, c := range m.Cells {
				median, ci := "-", ""
				if c.Summary.N > 0 {
					median = FormatValue(c.Summary.Median, m.Metric.Unit)
				}
				if c.Summary.CI.Defined() {
					ci = FormatValue(c.Summary.CI.Lo, m.Metric.Unit) + " – " + FormatValue(c.Summary.CI.Hi, m.Metric.Unit)
				}
				ratio, p := "", ""
				if c.Ratio != nil {
					ratio = fmt.Sprintf("×%.3f [%.3f, %.3f]", c.Ratio.Ratio, c.Ratio.Lo, c.Ratio.Hi)
					switch {
					case c.Disagree:
						ratio += " ~‡"
					case c.Compare != nil && !c.Significant:
						ratio += " ~"
					}
				}
				if c.Compare != nil {
					p = fmt.Sprintf("%.3g", c.PHolm)
				}
				counts, name := "", c.Runtime
				for _, rc := range g.Runtimes {
					if rc.Runtime == c.Runtime {
						counts, name = trialsText(rc), rc.Label()
					}
				}
				fmt.Fprintf(ew, "| %s %s | %s | %s | %s | %s | %s | %s | %s |\n", md(m.Metric.Label), arrow, md(name),
					counts, median, ci, ratio, p, md(strings.TrimSpace(cellWarnings(c, m.Metric.Unit)+" "+c.RatioError)))
			}
		}
	}
	if f := r.Findings; f != nil {
		fmt.Fprintf(ew, "\n## %s\n\n", f.Title)
		for _, d := range f.Definitions {
			fmt.Fprintf(ew, "- %s\n", md(d))
		}
		fmt.Fprintf(ew, "\n| # | the study's claim | needs (used here) | verdict on this host | the statistic behind it |\n|--:|---|---|---|---|\n")
		for _, fd := range f.Findings {
			var needs, stat []string
			for _, n := range fd.Needs {
				needs = append(needs, n.Study+": "+orText(n.Used, "not run here"))
			}
			for _, m := range fd.NotRun {
				stat = append(stat, "not run here: "+md(m))
			}
			for _, p := range fd.Parts {
				stat = append(stat, fmt.Sprintf("**%s**: %s", p.Verdict, md(p.Metric+": "+p.Claim+": "+p.Evidence)))
			}
			for _, n := range fd.Notes {
				stat = append(stat, "note: "+md(n))
			}
			fmt.Fprintf(ew, "| %d | %s (the study's %s) | %s | **%s** | %s |\n", fd.N, md(fd.Claim), fd.Figures, md(strings.Join(needs, "; ")), fd.Verdict, strings.Join(stat, "<br>"))
		}
	}
	fmt.Fprintf(ew, "\n## Environment\n\n| | component | version or value |\n|---|---|---|\n")
	for _, e := range r.Environment {
		fmt.Fprintf(ew, "| %s | %s | %s |\n", e.Section, md(e.Name), md(e.Value))
	}
	m := r.Method
	fmt.Fprintf(ew, "\n## Method\n\n%d measured trials per cell after %d warm-up(s), in %s order (seed %d), profile %s, baseline %s.\n\n",
		m.Trials, m.Warmups, m.Order, m.Seed, m.Profile, orDash(m.Baseline))
	for _, s := range m.Statistics {
		fmt.Fprintf(ew, "- %s\n", md(s))
	}
	fmt.Fprintf(ew, "\n## Failed trials\n\n")
	if len(r.Failures) == 0 {
		fmt.Fprintf(ew, "None: every trial ended OK.\n")
	} else {
		fmt.Fprintf(ew, "| seq | runtime | workload | trial | status | error |\n|--:|---|---|---|---|---|\n")
		for _, f := range r.Failures {
			kind := "trial"
			if f.Warmup {
				kind = "warm-up"
			}
			fmt.Fprintf(ew, "| %d | %s | %s | %s %d | %s | %s |\n", f.Seq, md(f.Runtime), md(strings.TrimSpace(f.Workload+" "+f.Params)), kind, f.Index, f.Status, md(oneLine(f.Error)))
		}
	}
	fmt.Fprintf(ew, "\n## Skipped\n\n")
	if len(run.Skipped) == 0 {
		fmt.Fprintf(ew, "Nothing was skipped.\n")
	} else {
		fmt.Fprintf(ew, "| runtime | workload | reason |\n|---|---|---|\n")
		for _, s := range run.Skipped {
			wl := s.Workload
			if wl == "" {
				wl = "all"
			}
			fmt.Fprintf(ew, "| %s | %s | %s |\n", md(s.Runtime), md(wl), md(oneLine(s.Reason)))
		}
	}
	return ew.err
}

// md makes text safe inside a Markdown table cell.
func md(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\\\")
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.ReplaceAll(s, "\n", " ")
}

func mdTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
