package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/analysis/analysistest"
	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
	"github.com/isobench/isobench/internal/workload"
)

func TestEscapeHTML(t *testing.T) {
	for _, tc := range []struct {
		in, text, label string
	}{
		{"", "", ""},
		{"runc", "runc", "runc"},
		{"a&b", "a&amp;b", "a&amp;b"},
		{"<b>", "&lt;b&gt;", "&lt;b&gt;"},
		{`"q" 'r'`, "&#34;q&#34; &#39;r&#39;", "&#34;q&#34; &#39;r&#39;"},
		{"open+close", "open&#43;close", "open+close"},
		{"nul\x00", "nul\uFFFD", "nul\uFFFD"},
		{"×1.5 – ↑ é", "×1.5 – ↑ é", "×1.5 – ↑ é"},
		{"&amp;", "&amp;amp;", "&amp;amp;"},
	} {
		if got := escapeText(tc.in); got != tc.text {
			t.Errorf("escapeText(%q) = %q, want %q", tc.in, got, tc.text)
		}
		if got := escapeLabel(tc.in); got != tc.label {
			t.Errorf("escapeLabel(%q) = %q, want %q", tc.in, got, tc.label)
		}
		if got := html.UnescapeString(escapeText(tc.in)); !strings.Contains(tc.in, "\x00") && got != tc.in {
			t.Errorf("escapeText(%q) reads back as %q", tc.in, got)
		}
	}
}

func TestHTMLWriterPrintf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format string
		args   []any
		want   string
	}{
		{"text", `<td>%v</td>`, []any{`a<b & "c"`}, `<td>a&lt;b &amp; &#34;c&#34;</td>`},
		{"attribute", `<tr id="finding-%v" data-verdict="%v">`, []any{3, `x"><b`}, `<tr id="finding-3" data-verdict="x&#34;&gt;&lt;b">`},
		{"numbers and bools", `%v %v %v`, []any{6, int64(-1), true}, `6 -1 true`},
		{"a named string", `%v`, []any{result.StatusFailed}, string(result.StatusFailed)},
		{"trusted markup", `%v|%v`, []any{trustedHTML(`<svg a="1"></svg>`), `<svg>`}, `<svg a="1"></svg>|&lt;svg&gt;`},
		{"the format is markup", `<p class="note">"%v"</p>`, []any{"+"}, `<p class="note">"&#43;"</p>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p htmlWriter
			p.printf(tc.format, tc.args...)
			if got := p.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// hostileRuntime would end an attribute and start a script if the page
// wrote it unescaped.
const hostileRuntime = `x"><script>alert(1)</script>`

// hostileFigureID would end the attributes it is written in.
const hostileFigureID = `fig"&<id>`

// hostileReport is the study's synthetic run with a hostile value in
// every text the page shows: names, parameters, warnings, host facts,
// findings, failures and skips. It returns the values.
func hostileReport(t *testing.T) (*Report, []string) {
	t.Helper()
	rep := Build(analysistest.StudyRun(analysistest.StudyMedians(), nil), builtin.Workloads())
	params := `a&b=1+2 "q" 'r'`
	values := []string{
		hostileRuntime, params,
		"run <1> & 'id'", `isobench run --set "x=<y>"`, "v1.0+dirty", "status<", "base&line",
		"load < 1 & rising", "warn'code", "<b>exit</b> 1", "fact & \"quoted\"", "kernel <6>",
		"title <i>", "definition & more", `claim "quoted"`, "figures 'a'+'b'", "study & co", "used<runc>",
		"not run: <why>", "note & 'x'", "metric<m>", "part claim &", "evidence > 1", "caption & <c>", "7a+b",
		"workload<w>", "label & <l>", "ratio error <e>", "seq & order", "profile<p>", "statistic & 'sig'",
		"skip <reason>", "skipped & workload", hostileFigureID,
	}
	v := func(i int) string { return values[i] }

	run := *rep.Run
	run.ID, run.Command, run.Version, run.Status = v(2), strings.Fields(v(3)), v(4), result.RunStatus(v(5))
	run.Runtimes = append(append([]result.Runtime(nil), run.Runtimes...), result.Runtime{Name: hostileRuntime})
	run.Skipped = append(append([]result.Skip(nil), run.Skipped...),
		result.Skip{Runtime: hostileRuntime, Reason: v(31)}, result.Skip{Runtime: "host", Workload: v(32), Reason: v(31)})
	rep.Run = &run
	rep.Method.Baseline = v(6)
	rep.Method.Order, rep.Method.Profile = v(28), v(29)
	rep.Method.Statistics = append(rep.Method.Statistics, v(30))
	rep.Warnings = append(rep.Warnings, stats.Warning{Code: v(8), Message: v(7)})
	rep.Failures = append(rep.Failures, Failure{Seq: 9, Runtime: hostileRuntime, Workload: v(25), Params: params, Status: result.StatusFailed, Error: v(9)})
	rep.Environment = append(rep.Environment, EnvRow{Section: "host", Name: v(10), Value: v(11)})

	f := stressFigure()
	f.ID, f.Params, f.Caption, f.StudyFigure = hostileFigureID, params, v(23), v(24)
	rep.Figures = append(rep.Figures, f)
	cv := stressCurve()
	cv.Params, cv.Caption = params, v(23)
	rep.Curves = append(rep.Curves, cv)

	if rep.Findings == nil || len(rep.Findings.Findings) == 0 {
		t.Fatal("the study's run has no findings")
	}
	fs := *rep.Findings
	fs.Title, fs.Definitions = v(12), append(append([]string(nil), fs.Definitions...), v(13))
	fd := fs.Findings[0]
	fd.Claim, fd.Figures = v(14), v(15)
	fd.Needs = []analysis.FindingRuntime{{Study: v(16), Used: v(17)}, {Study: v(16)}}
	fd.NotRun, fd.Notes = []string{v(18)}, []string{v(19)}
	fd.Parts = []analysis.FindingPart{{Metric: v(20), Claim: v(21), Verdict: analysis.VerdictHolds, Evidence: v(22)}}
	fs.Findings = append([]analysis.Finding{fd}, fs.Findings[1:]...)
	rep.Findings = &fs

	g := rep.Analysis.Groups[0]
	g.Workload, g.Params = v(25), map[string]string{"a&b": `1+2 "q" 'r'`}
	m := g.Metrics[0]
	m.Metric.Label = v(26)
	c := m.Cells[len(m.Cells)-1]
	c.Runtime, c.RatioError = hostileRuntime, v(27)
	m.Cells = append(append([]analysis.Cell(nil), m.Cells...), c)
	g.Metrics = append([]analysis.MetricRow{m}, g.Metrics[1:]...)
	g.Tails = append(g.Tails, analysis.TailRow{Metric: workload.Metric{Label: v(26), Unit: workload.UnitSeconds}, Runtime: hostileRuntime, Trials: 3,
		Tail: stats.TailSummary{N: 30, Median: 1, Max: 2}})
	groups := append([]analysis.Group{g}, rep.Analysis.Groups[1:]...)
	an := *rep.Analysis
	an.Groups = groups
	rep.Analysis = &an
	return rep, values
}

// TestHTMLHostileValues checks that the page escapes every value from a
// run: it parses, it has no script, and each value is in it escaped and
// reads back unchanged as text or as an attribute's value.
func TestHTMLHostileValues(t *testing.T) {
	rep, values := hostileReport(t)
	var page bytes.Buffer
	if err := rep.HTML(&page); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(page.Bytes(), []byte("<script")) {
		t.Error("the page has a <script")
	}
	texts, attrs := parsePage(t, page.Bytes())
	for _, v := range values {
		if !strings.Contains(page.String(), escapeText(v)) {
			t.Errorf("%q is not in the page escaped as %q", v, escapeText(v))
		}
		if !strings.Contains(texts, v) && !attrs[v] {
			t.Errorf("%q does not read back from the page", v)
		}
	}
	for _, a := range []string{hostileFigureID, hostile} {
		if !attrs[a] {
			t.Errorf("%q is no attribute's value (a figure's data-figure, a bar's data-runtime)", a)
		}
	}
}

// parsePage reads an HTML page the report wrote with encoding/xml in its
// HTML mode: it returns the page's text, joined, and the set of its
// attributes' values. It fails the test on a script element or a page
// that does not parse.
func parsePage(t *testing.T, page []byte) (string, map[string]bool) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	var text strings.Builder
	attrs := map[string]bool{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the page does not parse: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if strings.EqualFold(tok.Name.Local, "script") {
				t.Errorf("the page has a script element")
			}
			for _, a := range tok.Attr {
				attrs[a.Value] = true
			}
		case xml.CharData:
			text.Write(tok)
		}
	}
	return text.String(), attrs
}
