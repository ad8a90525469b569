package report

import (
	"fmt"
	"html/template"
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
func (r *Report) HTML(w io.Writer) error {
	colors := runtimeColors(analysis.RuntimeOrder(r.Run))
	page := htmlPage{R: r, Run: r.Run}
	for i := range r.Figures {
		f := &r.Figures[i]
		svg, err := figureSVG(f, colors)
		if err != nil {
			return err
		}
		hf := htmlFigure{F: f, Bars: f.Bars()}
		var cols []string
		for _, rt := range f.Runtimes {
			c := hexColor(colors[rt])
			hf.Legend = append(hf.Legend, legendEntry{Runtime: rt, Color: template.CSS("background:" + c)})
			cols = append(cols, c)
		}
		hf.Colors = strings.Join(cols, " ")
		label := f.Title
		if f.Params != "" {
			label += " (" + f.Params + ")"
		}
		svg = svgAttr(svg, fmt.Sprintf(`class="chart" role="img" aria-label="%s"`, template.HTMLEscapeString(label)))
		hf.SVG = template.HTML(svg) // made here by svgDoc, which escapes every attribute and text
		for _, c := range f.Clusters {
			for _, rt := range f.Runtimes {
				b, ok := findBar(c.Bars, rt)
				if !ok {
					continue
				}
				hf.Rows = append(hf.Rows, figureRow{Series: c.Label, Bar: b, Unit: f.Unit})
			}
		}
		page.Figures = append(page.Figures, hf)
	}
	for i := range r.Curves {
		cv := &r.Curves[i]
		svg, err := curveSVG(cv, colors)
		if err != nil {
			return err
		}
		hc := htmlCurve{C: cv}
		for _, rt := range cv.Runtimes {
			hc.Legend = append(hc.Legend, legendEntry{Runtime: rt, Color: template.CSS("background:" + hexColor(colors[rt]))})
		}
		label := cv.Title
		if cv.Params != "" {
			label += " (" + cv.Params + ")"
		}
		svg = svgAttr(svg, fmt.Sprintf(`class="chart" role="img" aria-label="%s"`, template.HTMLEscapeString(label)))
		hc.SVG = template.HTML(svg) // made here by svgDoc, which escapes every attribute and text
		page.Curves = append(page.Curves, hc)
	}
	return htmlTemplate().Execute(w, page)
}

// htmlCurve is a curve ready for the page.
type htmlCurve struct {
	C      *Curve
	SVG    template.HTML
	Legend []legendEntry
}

type htmlPage struct {
	R       *Report
	Run     *result.Run
	Figures []htmlFigure
	Curves  []htmlCurve
}

type htmlFigure struct {
	F      *Figure
	SVG    template.HTML
	Bars   int
	Colors string
	Legend []legendEntry
	Rows   []figureRow
}

type legendEntry struct {
	Runtime string
	Color   template.CSS
}

type figureRow struct {
	Series string
	Bar    Bar
	Unit   string
}

func htmlTemplate() *template.Template {
	funcs := template.FuncMap{
		"value":  FormatValue,
		"params": ParamsText,
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"duration": func(a, b time.Time) string {
			if a.IsZero() || b.IsZero() {
				return "-"
			}
			return b.Sub(a).Round(time.Second).String()
		},
		"join":  strings.Join,
		"ratio": RatioLabel,
		"ratioCI": func(c analysis.Cell) string {
			if c.Ratio == nil {
				return ""
			}
			return fmt.Sprintf("×%.3f [%.3f, %.3f]", c.Ratio.Ratio, c.Ratio.Lo, c.Ratio.Hi)
		},
		"barRatio": func(b Bar) string {
			if b.Ratio == nil {
				return ""
			}
			return fmt.Sprintf("×%.3f [%.3f, %.3f]", b.Ratio.Ratio, b.Ratio.Lo, b.Ratio.Hi)
		},
		"ci": func(c analysis.Cell, unit string) string {
			if !c.Summary.CI.Defined() {
				return "none (too few trials)"
			}
			return FormatValue(c.Summary.CI.Lo, unit) + " – " + FormatValue(c.Summary.CI.Hi, unit)
		},
		"barCI": func(b Bar, unit string) string {
			if !b.HasCI {
				return "none"
			}
			return FormatValue(b.Lo, unit) + " – " + FormatValue(b.Hi, unit)
		},
		"pvalue": func(c analysis.Cell) string {
			if c.Compare == nil {
				return ""
			}
			return fmt.Sprintf("%.3g", c.PHolm)
		},
		"signif": func(c analysis.Cell) string {
			switch {
			case c.Compare == nil:
				return ""
			case c.Significant:
				return "yes"
			case c.Disagree:
				return "~ no ‡ (the test rejects, the ratio interval holds 1)"
			}
			return "~ no"
		},
		"curvePoints": curvePointsText,
		"tail":        tailText,
		"minP95":      func() int { return stats.MinValuesP95 },
		"minP99":      func() int { return stats.MinValuesP99 },
		"tailNote":    tailNote,
		"better": func(hib bool) string {
			if hib {
				return "↑"
			}
			return "↓"
		},
		"pct": func(f float64) string { return fmt.Sprintf("%g%%", f*100) },
		"verdictClass": func(v analysis.Verdict) string {
			switch v {
			case analysis.VerdictHolds:
				return "v-holds"
			case analysis.VerdictDoesNot:
				return "v-not"
			case analysis.VerdictCannotTell:
				return "v-unclear"
			}
			return "v-notrun"
		},
		"warnings": cellWarnings,
		"rtlabel": func(g analysis.Group, rt string) string {
			for _, rc := range g.Runtimes {
				if rc.Runtime == rt {
					return rc.Label()
				}
			}
			return rt
		},
		"counts": func(g analysis.Group, rt string) string {
			for _, rc := range g.Runtimes {
				if rc.Runtime == rt {
					return trialsText(rc)
				}
			}
			return ""
		},
	}
	return template.Must(template.New("report").Funcs(funcs).Parse(htmlSource))
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

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>isobench run {{.Run.ID}}</title>
<style>
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
</head>
<body>
<h1>isobench run {{.Run.ID}}</h1>
<table class="meta">
<tr><td>status</td><td>{{.Run.Status}}</td></tr>
<tr><td>started</td><td>{{time .Run.Started}}</td></tr>
<tr><td>ended</td><td>{{time .Run.Ended}} (took {{duration .Run.Started .Run.Ended}})</td></tr>
<tr><td>runtimes</td><td>{{range $i, $r := .Run.Runtimes}}{{if $i}}, {{end}}{{$r.Name}}{{end}}</td></tr>
<tr><td>baseline</td><td>{{.R.Method.Baseline}}</td></tr>
<tr><td>command</td><td><code>{{join .Run.Command " "}}</code></td></tr>
</table>
{{with .R.Warnings}}
<div class="warn" id="warnings"><strong>Warnings</strong>
<ul>{{range .}}<li><code>{{.Code}}</code> {{.Message}}</li>{{end}}</ul>
</div>
{{end}}

<h2 id="figures">Figures</h2>
<p>Bars are medians, whiskers their {{pct .R.Method.Confidence}} confidence interval; the label above a bar is its ratio to {{.R.Method.Baseline}} ("~": no significant difference).</p>
{{if not .Figures}}<p>This run has no samples to draw.</p>{{end}}
<div class="figures">
{{range .Figures}}<figure class="chart-figure" id="fig-{{.F.ID}}" data-figure="{{.F.ID}}" data-study="{{.F.Study}}"{{with .F.StudyFigure}} data-study-figure="{{.}}"{{end}} data-bars="{{.Bars}}" data-colors="{{.Colors}}">
<figcaption><strong>{{.F.Title}}</strong>{{with .F.Params}} <span class="caption">({{.}})</span>{{end}}<br><span class="caption">{{.F.Caption}}{{with .F.StudyFigure}}; the study's figure {{.}}{{end}}</span></figcaption>
<div class="legend">{{range .Legend}}<span class="swatch" style="{{.Color}}"></span>{{.Runtime}} {{end}}</div>
{{.SVG}}
<details><summary>values</summary>
<table>
<tr><th>series</th><th>runtime</th><th>n</th><th>median</th><th>CI of median</th><th>ratio [CI]</th></tr>
{{range .Rows}}<tr><td>{{.Series}}</td><td>{{.Bar.Runtime}}</td><td class="num">{{.Bar.N}}</td><td class="num">{{value .Bar.Median .Unit}}</td><td class="num">{{barCI .Bar .Unit}}</td><td class="num">{{barRatio .Bar}}{{if and .Bar.Ratio (not .Bar.Significant)}} <span class="ns">~</span>{{end}}</td></tr>
{{end}}</table>
</details>
</figure>
{{end}}</div>
{{with .R.Findings}}
<section id="findings">
<h2>{{.Title}}</h2>
<ul>{{range .Definitions}}<li>{{.}}</li>{{end}}</ul>
<table class="findings">
<tr><th>#</th><th>the study's claim</th><th>needs (used here)</th><th>verdict on this host</th><th>the statistic behind it</th></tr>
{{range .Findings}}<tr id="finding-{{.N}}" data-verdict="{{.Verdict}}"><td class="num">{{.N}}</td><td>{{.Claim}}<br><span class="caption">the study's {{.Figures}}</span></td><td>{{range $i, $n := .Needs}}{{if $i}}<br>{{end}}{{$n.Study}}: {{if $n.Used}}<code>{{$n.Used}}</code>{{else}}<span class="v-notrun">not run here</span>{{end}}{{end}}</td><td><strong class="{{verdictClass .Verdict}}">{{.Verdict}}</strong></td><td>{{with .NotRun}}<ul>{{range .}}<li>not run here: {{.}}</li>{{end}}</ul>{{end}}{{with .Parts}}<ul>{{range .}}<li><span class="{{verdictClass .Verdict}}">{{.Verdict}}</span>: {{.Metric}}: {{.Claim}}: {{.Evidence}}</li>{{end}}</ul>{{end}}{{range .Notes}}<p class="note">Note: {{.}}</p>{{end}}</td></tr>
{{end}}</table>
</section>
{{end}}
{{with .Curves}}
<h2 id="curves">Curves</h2>
<p>Points are medians, whiskers their confidence interval, one line per runtime.</p>
<div class="figures">
{{range .}}<figure class="curve-figure" id="curve-{{.C.ID}}" data-curve="{{.C.ID}}">
<figcaption><strong>{{.C.Title}}</strong>{{with .C.Params}} <span class="caption">({{.}})</span>{{end}}<br><span class="caption">{{.C.Caption}}</span></figcaption>
<div class="legend">{{range .Legend}}<span class="swatch" style="{{.Color}}"></span>{{.Runtime}} {{end}}</div>
{{.SVG}}
<details><summary>values</summary>
<table>
<tr><th>runtime</th><th>{{.C.XLabel}}: median</th></tr>
{{$u := .C.Unit}}{{range .C.Lines}}<tr><td>{{.Runtime}}</td><td>{{curvePoints . $u}}</td></tr>
{{end}}</table>
</details>
</figure>
{{end}}</div>
{{end}}

<h2 id="results">Results</h2>
{{range $g := .R.Analysis.Groups}}
<h3>{{$g.Workload}} <span class="caption">{{params $g.Params}}</span></h3>
<table>
<tr><th>metric</th><th>runtime</th><th>trials</th><th>median</th><th>{{pct $.R.Method.Confidence}} CI</th><th>ratio to {{$.R.Method.Baseline}} [CI]</th><th>p (Holm)</th><th>significant</th><th>notes</th></tr>
{{range $m := $g.Metrics}}{{range $c := $m.Cells}}<tr><td>{{$m.Metric.Label}} {{better $m.Metric.HigherIsBetter}}</td><td>{{rtlabel $g $c.Runtime}}</td><td class="num">{{counts $g $c.Runtime}}</td><td class="num">{{if $c.Summary.N}}{{value $c.Summary.Median $m.Metric.Unit}}{{else}}-{{end}}</td><td class="num">{{ci $c $m.Metric.Unit}}</td><td class="num">{{ratioCI $c}}</td><td class="num">{{pvalue $c}}</td><td>{{signif $c}}</td><td>{{warnings $c $m.Metric.Unit}}{{with $c.RatioError}} {{.}}{{end}}</td></tr>
{{end}}{{end}}</table>
{{with $g.Tails}}<table class="tails">
<tr><th colspan="7">tails: {{tailNote}}</th></tr>
<tr><th>metric</th><th>runtime</th><th>values (trials)</th><th>median</th><th>p95</th><th>p99</th><th>max</th></tr>
{{range .}}<tr><td>{{.Metric.Label}}</td><td>{{.Runtime}}</td><td class="num">{{.Tail.N}} ({{.Trials}})</td><td class="num">{{value .Tail.Median .Metric.Unit}}</td><td class="num">{{tail .Tail.HasP95 .Tail.P95 .Metric.Unit minP95}}</td><td class="num">{{tail .Tail.HasP99 .Tail.P99 .Metric.Unit minP99}}</td><td class="num">{{value .Tail.Max .Metric.Unit}}</td></tr>
{{end}}</table>{{end}}
{{end}}

<h2 id="environment">Environment</h2>
<table id="environment-table">
<tr><th></th><th>component</th><th>version or value</th></tr>
{{range .R.Environment}}<tr><td>{{.Section}}</td><td>{{.Name}}</td><td>{{.Value}}</td></tr>
{{end}}</table>

<h2 id="method">Method</h2>
<table class="meta">
<tr><td>trials per cell</td><td>{{.R.Method.Trials}} measured, after {{.R.Method.Warmups}} warm-up(s)</td></tr>
<tr><td>order</td><td>{{.R.Method.Order}}, seed {{.R.Method.Seed}}</td></tr>
<tr><td>profile</td><td>{{.R.Method.Profile}}</td></tr>
<tr><td>baseline</td><td>{{.R.Method.Baseline}}</td></tr>
</table>
<ul>{{range .R.Method.Statistics}}<li>{{.}}</li>{{end}}</ul>

<h2 id="failures">Failed trials</h2>
{{if .R.Failures}}<table>
<tr><th>seq</th><th>runtime</th><th>workload</th><th>trial</th><th>status</th><th>error</th></tr>
{{range .R.Failures}}<tr><td class="num">{{.Seq}}</td><td>{{.Runtime}}</td><td>{{.Workload}} {{.Params}}</td><td>{{if .Warmup}}warm-up{{else}}trial{{end}} {{.Index}}</td><td>{{.Status}}</td><td><pre>{{.Error}}</pre></td></tr>
{{end}}</table>{{else}}<p>None: every trial ended OK.</p>{{end}}

<h2 id="skipped">Skipped</h2>
{{if .Run.Skipped}}<table>
<tr><th>runtime</th><th>workload</th><th>reason</th></tr>
{{range .Run.Skipped}}<tr><td>{{.Runtime}}</td><td>{{if .Workload}}{{.Workload}}{{else}}all{{end}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{else}}<p>Nothing was skipped.</p>{{end}}

<footer>isobench {{.Run.Version}} · run {{.Run.ID}}</footer>
</body>
</html>
`
