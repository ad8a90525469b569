package report

import (
	"cmp"
	"fmt"
	"image/color"
	"io"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
)

// HTML writes the report as one self-contained page: the study's figures
// and a chart per other workload as inline SVG, then every figure in
// tables, the environment, the method, warnings, failed trials and skipped
// runtimes. The page loads nothing: no script, font or style from
// elsewhere.
//
// The page is written by htmlWriter (html_writer.go), not by a template:
// every value from the run or the user is escaped as it is written.
func (r *Report) HTML(w io.Writer) error {
	colors := runtimeColors(analysis.RuntimeOrder(r.Run))
	p := &htmlWriter{}
	p.head(r.Run)
	p.summary(r)
	if err := p.figures(r, colors); err != nil {
		return err
	}
	p.findings(r.Findings)
	if err := p.curves(r.Curves, colors); err != nil {
		return err
	}
	p.results(r)
	p.environment(r.Environment)
	p.method(r.Method)
	p.failures(r.Failures)
	p.skipped(r.Run.Skipped)
	p.printf("<footer>isobench %v · run %v</footer>\n</body>\n</html>\n", r.Run.Version, r.Run.ID)
	if _, err := io.WriteString(w, p.String()); err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	return nil
}

// head writes the document's head, with its style sheet, and the page's
// title.
func (p *htmlWriter) head(run *result.Run) {
	p.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	p.printf("<title>isobench run %v</title>\n", run.ID)
	p.raw(htmlStyle)
	p.printf("</head>\n<body>\n<h1>isobench run %v</h1>\n", run.ID)
}

// summary writes the run's table (status, times, runtimes, baseline,
// command) and its warnings.
func (p *htmlWriter) summary(r *Report) {
	run := r.Run
	p.raw("<table class=\"meta\">\n")
	p.printf("<tr><td>status</td><td>%v</td></tr>\n", run.Status)
	p.printf("<tr><td>started</td><td>%v</td></tr>\n", htmlTime(run.Started))
	p.printf("<tr><td>ended</td><td>%v (took %v)</td></tr>\n", htmlTime(run.Ended), htmlDuration(run.Started, run.Ended))
	var names []string
	for _, rt := range run.Runtimes {
		names = append(names, rt.Name)
	}
	p.printf("<tr><td>runtimes</td><td>%v</td></tr>\n", strings.Join(names, ", "))
	p.printf("<tr><td>baseline</td><td>%v</td></tr>\n", r.Method.Baseline)
	p.printf("<tr><td>command</td><td><code>%v</code></td></tr>\n", strings.Join(run.Command, " "))
	p.raw("</table>\n")
	if len(r.Warnings) > 0 {
		p.raw("\n<div class=\"warn\" id=\"warnings\"><strong>Warnings</strong>\n<ul>")
		for _, w := range r.Warnings {
			p.printf("<li><code>%v</code> %v</li>", w.Code, w.Message)
		}
		p.raw("</ul>\n</div>\n")
	}
	p.raw("\n\n")
}

// figures writes the figures, each a chart with its legend and its values
// in a table.
func (p *htmlWriter) figures(r *Report, colors map[string]color.RGBA) error {
	p.raw("<h2 id=\"figures\">Figures</h2>\n")
	p.printf("<p>Bars are medians, whiskers their %v confidence interval; the label above a bar is its ratio to %v (\"~\": no significant difference).</p>\n",
		htmlPercent(r.Method.Confidence), r.Method.Baseline)
	if len(r.Figures) == 0 {
		p.raw("<p>This run has no samples to draw.</p>")
	}
	p.raw("\n<div class=\"figures\">\n")
	for i := range r.Figures {
		if err := p.figure(&r.Figures[i], colors); err != nil {
			return err
		}
	}
	p.raw("</div>\n")
	return nil
}

// figure writes one figure.
func (p *htmlWriter) figure(f *Figure, colors map[string]color.RGBA) error {
	svg, err := figureSVG(f, colors)
	if err != nil {
		return err
	}
	var cols []string
	for _, rt := range f.Runtimes {
		cols = append(cols, hexColor(colors[rt]))
	}
	p.printf("<figure class=\"chart-figure\" id=\"fig-%v\" data-figure=\"%v\" data-study=\"%v\"", f.ID, f.ID, f.Study)
	if f.StudyFigure != "" {
		p.printf(" data-study-figure=\"%v\"", f.StudyFigure)
	}
	p.printf(" data-bars=\"%v\" data-colors=\"%v\">\n", f.Bars(), strings.Join(cols, " "))
	p.printf("<figcaption><strong>%v</strong>", f.Title)
	if f.Params != "" {
		p.printf(" <span class=\"caption\">(%v)</span>", f.Params)
	}
	p.printf("<br><span class=\"caption\">%v", f.Caption)
	if f.StudyFigure != "" {
		p.printf("; the study's figure %v", f.StudyFigure)
	}
	p.raw("</span></figcaption>\n")
	p.legend(f.Runtimes, colors)
	p.chart(svg, f.Title, f.Params)
	p.raw("<details><summary>values</summary>\n<table>\n" +
		"<tr><th>series</th><th>runtime</th><th>n</th><th>median</th><th>CI of median</th><th>ratio [CI]</th></tr>\n")
	for _, c := range f.Clusters {
		for _, rt := range f.Runtimes {
			b, ok := findBar(c.Bars, rt)
			if !ok {
				continue
			}
			p.printf("<tr><td>%v</td><td>%v</td><td class=\"num\">%v</td><td class=\"num\">%v</td><td class=\"num\">%v</td><td class=\"num\">%v",
				c.Label, b.Runtime, b.N, FormatValue(b.Median, f.Unit), barCIText(b, f.Unit), barRatioText(b))
			if b.Ratio != nil && !b.Significant {
				p.raw(" <span class=\"ns\">~</span>")
			}
			p.raw("</td></tr>\n")
		}
	}
	p.raw("</table>\n</details>\n</figure>\n")
	return nil
}

// legend writes a chart's legend: a swatch of each runtime's colour and
// its name.
func (p *htmlWriter) legend(runtimes []string, colors map[string]color.RGBA) {
	p.raw("<div class=\"legend\">")
	for _, rt := range runtimes {
		p.printf("<span class=\"swatch\" style=\"background:%v\"></span>%v ", hexColor(colors[rt]), rt)
	}
	p.raw("</div>\n")
}

// chart writes a chart's SVG, labelled with its title and parameters.
// svgDoc made the SVG and escaped every attribute and text in it.
func (p *htmlWriter) chart(svg []byte, title, params string) {
	label := title
	if params != "" {
		label += " (" + params + ")"
	}
	svg = svgAttr(svg, `class="chart" role="img" aria-label="`+escapeLabel(label)+`"`)
	p.printf("%v\n", trustedHTML(svg))
}

// findings writes the study's findings judged on this run; nothing for a
// run without them.
func (p *htmlWriter) findings(fs *analysis.Findings) {
	if fs == nil {
		p.raw("\n")
		return
	}
	p.printf("\n<section id=\"findings\">\n<h2>%v</h2>\n<ul>", fs.Title)
	for _, d := range fs.Definitions {
		p.printf("<li>%v</li>", d)
	}
	p.raw("</ul>\n<table class=\"findings\">\n" +
		"<tr><th>#</th><th>the study's claim</th><th>needs (used here)</th><th>verdict on this host</th><th>the statistic behind it</th></tr>\n")
	for _, f := range fs.Findings {
		p.finding(f)
	}
	p.raw("</table>\n</section>\n\n")
}

// finding writes one finding's row.
func (p *htmlWriter) finding(f analysis.Finding) {
	p.printf("<tr id=\"finding-%v\" data-verdict=\"%v\"><td class=\"num\">%v</td><td>%v<br><span class=\"caption\">the study's %v</span></td><td>",
		f.N, f.Verdict, f.N, f.Claim, f.Figures)
	for i, n := range f.Needs {
		if i > 0 {
			p.raw("<br>")
		}
		p.printf("%v: ", n.Study)
		if n.Used != "" {
			p.printf("<code>%v</code>", n.Used)
		} else {
			p.raw("<span class=\"v-notrun\">not run here</span>")
		}
	}
	p.printf("</td><td><strong class=\"%v\">%v</strong></td><td>", verdictClass(f.Verdict), f.Verdict)
	if len(f.NotRun) > 0 {
		p.raw("<ul>")
		for _, s := range f.NotRun {
			p.printf("<li>not run here: %v</li>", s)
		}
		p.raw("</ul>")
	}
	if len(f.Parts) > 0 {
		p.raw("<ul>")
		for _, pt := range f.Parts {
			p.printf("<li><span class=\"%v\">%v</span>: %v: %v: %v</li>", verdictClass(pt.Verdict), pt.Verdict, pt.Metric, pt.Claim, pt.Evidence)
		}
		p.raw("</ul>")
	}
	for _, n := range f.Notes {
		p.printf("<p class=\"note\">Note: %v</p>", n)
	}
	p.raw("</td></tr>\n")
}

// curves writes the line charts, each with its legend and its points in
// a table; nothing for a run without them.
func (p *htmlWriter) curves(cvs []Curve, colors map[string]color.RGBA) error {
	if len(cvs) == 0 {
		p.raw("\n\n")
		return nil
	}
	p.raw("\n<h2 id=\"curves\">Curves</h2>\n<p>Points are medians, whiskers their confidence interval, one line per runtime.</p>\n<div class=\"figures\">\n")
	for i := range cvs {
		cv := &cvs[i]
		svg, err := curveSVG(cv, colors)
		if err != nil {
			return err
		}
		p.printf("<figure class=\"curve-figure\" id=\"curve-%v\" data-curve=\"%v\">\n<figcaption><strong>%v</strong>", cv.ID, cv.ID, cv.Title)
		if cv.Params != "" {
			p.printf(" <span class=\"caption\">(%v)</span>", cv.Params)
		}
		p.printf("<br><span class=\"caption\">%v</span></figcaption>\n", cv.Caption)
		p.legend(cv.Runtimes, colors)
		p.chart(svg, cv.Title, cv.Params)
		p.printf("<details><summary>values</summary>\n<table>\n<tr><th>runtime</th><th>%v: median</th></tr>\n", cv.XLabel)
		for _, l := range cv.Lines {
			p.printf("<tr><td>%v</td><td>%v</td></tr>\n", l.Runtime, curvePointsText(l, cv.Unit))
		}
		p.raw("</table>\n</details>\n</figure>\n")
	}
	p.raw("</div>\n\n\n")
	return nil
}

// results writes a table per group of the analysis: every metric's cell
// per runtime, then the group's tails.
func (p *htmlWriter) results(r *Report) {
	p.raw("<h2 id=\"results\">Results</h2>\n")
	for _, g := range r.Analysis.Groups {
		p.printf("\n<h3>%v <span class=\"caption\">%v</span></h3>\n<table>\n", g.Workload, ParamsText(g.Params))
		p.printf("<tr><th>metric</th><th>runtime</th><th>trials</th><th>median</th><th>%v CI</th><th>ratio to %v [CI]</th><th>p (Holm)</th><th>significant</th><th>notes</th></tr>\n",
			htmlPercent(r.Method.Confidence), r.Method.Baseline)
		for _, m := range g.Metrics {
			for _, c := range m.Cells {
				p.cell(g, m, c)
			}
		}
		p.raw("</table>\n")
		p.tails(g.Tails)
		p.raw("\n")
	}
	p.raw("\n\n")
}

// cell writes one runtime's row for one metric.
func (p *htmlWriter) cell(g analysis.Group, m analysis.MetricRow, c analysis.Cell) {
	unit := m.Metric.Unit
	median := "-"
	if c.Summary.N != 0 {
		median = FormatValue(c.Summary.Median, unit)
	}
	notes := cellWarnings(c, unit)
	if c.RatioError != "" {
		notes += " " + c.RatioError
	}
	label, counts := c.Runtime, ""
	for _, rc := range g.Runtimes {
		if rc.Runtime == c.Runtime {
			label, counts = rc.Label(), trialsText(rc)
			break
		}
	}
	p.printf("<tr><td>%v %v</td><td>%v</td><td class=\"num\">%v</td><td class=\"num\">%v</td><td class=\"num\">%v</td><td class=\"num\">%v</td><td class=\"num\">%v</td><td>%v</td><td>%v</td></tr>\n",
		m.Metric.Label, betterArrow(m.Metric.HigherIsBetter), label, counts, median, cellCIText(c, unit), cellRatioText(c), pValueText(c), significanceText(c), notes)
}

// tails writes a group's tail rows; nothing for a group without them.
func (p *htmlWriter) tails(rows []analysis.TailRow) {
	if len(rows) == 0 {
		return
	}
	p.printf("<table class=\"tails\">\n<tr><th colspan=\"7\">tails: %v</th></tr>\n", tailNote())
	p.raw("<tr><th>metric</th><th>runtime</th><th>values (trials)</th><th>median</th><th>p95</th><th>p99</th><th>max</th></tr>\n")
	for _, t := range rows {
		u := t.Metric.Unit
		p.printf("<tr><td>%v</td><td>%v</td><td class=\"num\">%v (%v)</td><td class=\"num\">%v</td><td class=\"num\">%v</td><td class=\"num\">%v</td><td class=\"num\">%v</td></tr>\n",
			t.Metric.Label, t.Runtime, t.Tail.N, t.Trials, FormatValue(t.Tail.Median, u),
			tailText(t.Tail.HasP95, t.Tail.P95, u, stats.MinValuesP95), tailText(t.Tail.HasP99, t.Tail.P99, u, stats.MinValuesP99), FormatValue(t.Tail.Max, u))
	}
	p.raw("</table>")
}

// environment writes the study's Table 1.
func (p *htmlWriter) environment(rows []EnvRow) {
	p.raw("<h2 id=\"environment\">Environment</h2>\n<table id=\"environment-table\">\n<tr><th></th><th>component</th><th>version or value</th></tr>\n")
	for _, e := range rows {
		p.printf("<tr><td>%v</td><td>%v</td><td>%v</td></tr>\n", e.Section, e.Name, e.Value)
	}
	p.raw("</table>\n\n")
}

// method writes how the run was made and analysed.
func (p *htmlWriter) method(m Method) {
	p.raw("<h2 id=\"method\">Method</h2>\n<table class=\"meta\">\n")
	p.printf("<tr><td>trials per cell</td><td>%v measured, after %v warm-up(s)</td></tr>\n", m.Trials, m.Warmups)
	p.printf("<tr><td>order</td><td>%v, seed %v</td></tr>\n", m.Order, m.Seed)
	p.printf("<tr><td>profile</td><td>%v</td></tr>\n", m.Profile)
	p.printf("<tr><td>baseline</td><td>%v</td></tr>\n", m.Baseline)
	p.raw("</table>\n<ul>")
	for _, s := range m.Statistics {
		p.printf("<li>%v</li>", s)
	}
	p.raw("</ul>\n\n")
}

// failures writes the trials that did not end OK.
func (p *htmlWriter) failures(fs []Failure) {
	p.raw("<h2 id=\"failures\">Failed trials</h2>\n")
	if len(fs) == 0 {
		p.raw("<p>None: every trial ended OK.</p>\n\n")
		return
	}
	p.raw("<table>\n<tr><th>seq</th><th>runtime</th><th>workload</th><th>trial</th><th>status</th><th>error</th></tr>\n")
	for _, f := range fs {
		kind := "trial"
		if f.Warmup {
			kind = "warm-up"
		}
		p.printf("<tr><td class=\"num\">%v</td><td>%v</td><td>%v %v</td><td>%v %v</td><td>%v</td><td><pre>%v</pre></td></tr>\n",
			f.Seq, f.Runtime, f.Workload, f.Params, kind, f.Index, f.Status, f.Error)
	}
	p.raw("</table>\n\n")
}

// skipped writes the runtimes and workloads the run skipped, with why.
func (p *htmlWriter) skipped(skips []result.Skip) {
	p.raw("<h2 id=\"skipped\">Skipped</h2>\n")
	if len(skips) == 0 {
		p.raw("<p>Nothing was skipped.</p>\n\n")
		return
	}
	p.raw("<table>\n<tr><th>runtime</th><th>workload</th><th>reason</th></tr>\n")
	for _, s := range skips {
		p.printf("<tr><td>%v</td><td>%v</td><td>%v</td></tr>\n", s.Runtime, cmp.Or(s.Workload, "all"), s.Reason)
	}
	p.raw("</table>\n\n")
}

// cellWarnings joins a cell's warnings for a table, values in unit.
func cellWarnings(c analysis.Cell, unit string) string {
	var ws []string
	for _, w := range c.Summary.Warnings {
		ws = append(ws, WarningText(w, c.Summary, unit))
	}
	if c.Ratio != nil {
		for _, w := range c.Ratio.Warnings {
			if w.Code != stats.CodeTooFewSamples || len(c.Summary.Warnings) == 0 {
				ws = append(ws, w.Message)
			}
		}
	}
	return strings.Join(ws, "; ")
}

// htmlTime is a run's start or end in UTC; "-" when it is not known.
func htmlTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// htmlDuration is the time from a to b to the second; "-" when either is
// not known.
func htmlDuration(a, b time.Time) string {
	if a.IsZero() || b.IsZero() {
		return "-"
	}
	return b.Sub(a).Round(time.Second).String()
}

// htmlPercent writes a fraction (0.95) as a percentage (95%).
func htmlPercent(f float64) string { return fmt.Sprintf("%g%%", f*100) }

func betterArrow(higherIsBetter bool) string {
	if higherIsBetter {
		return "↑"
	}
	return "↓"
}

func barCIText(b Bar, unit string) string {
	if !b.HasCI {
		return "none"
	}
	return FormatValue(b.Lo, unit) + " – " + FormatValue(b.Hi, unit)
}

func barRatioText(b Bar) string {
	if b.Ratio == nil {
		return ""
	}
	return fmt.Sprintf("×%.3f [%.3f, %.3f]", b.Ratio.Ratio, b.Ratio.Lo, b.Ratio.Hi)
}

func cellCIText(c analysis.Cell, unit string) string {
	if !c.Summary.CI.Defined() {
		return "none (too few trials)"
	}
	return FormatValue(c.Summary.CI.Lo, unit) + " – " + FormatValue(c.Summary.CI.Hi, unit)
}

func cellRatioText(c analysis.Cell) string {
	if c.Ratio == nil {
		return ""
	}
	return fmt.Sprintf("×%.3f [%.3f, %.3f]", c.Ratio.Ratio, c.Ratio.Lo, c.Ratio.Hi)
}

func pValueText(c analysis.Cell) string {
	if c.Compare == nil {
		return ""
	}
	return fmt.Sprintf("%.3g", c.PHolm)
}

func significanceText(c analysis.Cell) string {
	switch {
	case c.Compare == nil:
		return ""
	case c.Significant:
		return "yes"
	case c.Disagree:
		return "~ no ‡ (the test rejects, the ratio interval holds 1)"
	}
	return "~ no"
}

// verdictClass is the page's class for a verdict's colour.
func verdictClass(v analysis.Verdict) string {
	switch v {
	case analysis.VerdictHolds:
		return "v-holds"
	case analysis.VerdictDoesNot:
		return "v-not"
	case analysis.VerdictCannotTell:
		return "v-unclear"
	}
	return "v-notrun"
}

// htmlStyle is the page's style sheet.
const htmlStyle = `<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Liberation Sans", sans-serif; color: #222; margin: 0 auto; max-width: 1100px; padding: 1em 1.5em 3em; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
h3 { font-size: 1.05em; margin: 1.4em 0 .4em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.meta td:first-child { color: #555; white-space: nowrap; }
.warn { background: #fff6e0; border: 1px solid #e8c77b; padding: .5em 1em; border-radius: 4px; }
.warn li { margin: .2em 0; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5em; }
figure.chart-figure, figure.curve-figure { margin: 0; flex: 1 1 460px; max-width: 100%; }
figure.chart-figure figcaption, figure.curve-figure figcaption { margin-bottom: .3em; }
figure.chart-figure .caption, figure.curve-figure .caption { color: #555; font-size: 12px; }
svg.chart { display: block; max-width: 100%; height: auto; }
.legend { font-size: 12px; margin: .2em 0; }
.legend span.swatch { display: inline-block; width: .9em; height: .9em; vertical-align: -.1em; margin: 0 .3em 0 .8em; border-radius: 2px; }
.legend span.swatch:first-child { margin-left: 0; }
details { font-size: 12px; }
code, pre { font-family: ui-monospace, "Liberation Mono", monospace; font-size: 12px; }
pre { white-space: pre-wrap; margin: 0; }
.ns { color: #777; }
table.findings td { max-width: 520px; }
table.findings ul { margin: 0; padding-left: 1.1em; }
.v-holds { color: #1a7f37; }
.v-not { color: #b42318; }
.v-unclear { color: #8a5a00; }
.v-notrun { color: #777; }
p.note { margin: .3em 0 0; color: #555; font-size: 12px; }
footer { margin-top: 3em; color: #777; font-size: 12px; }
</style>
`
