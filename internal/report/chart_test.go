package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/analysis/analysistest"
	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/stats"
)

// svgNode is an element of a chart as read back by encoding/xml.
type svgNode struct {
	name     string
	attrs    map[string]string
	text     string // character data directly inside
	parent   *svgNode
	children []*svgNode
}

// parseSVG reads a chart as XML: it must be well-formed.
func parseSVG(t *testing.T, b []byte) *svgNode {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var root, cur *svgNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v\n%s", err, b)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &svgNode{name: tok.Name.Local, attrs: map[string]string{}, parent: cur}
			for _, a := range tok.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if cur == nil {
				root = n
			} else {
				cur.children = append(cur.children, n)
			}
			cur = n
		case xml.EndElement:
			cur = cur.parent
		case xml.CharData:
			if cur != nil {
				cur.text += string(tok)
			}
		}
	}
	if root == nil || root.name != "svg" {
		t.Fatalf("no <svg> element:\n%s", b)
	}
	return root
}

// all returns the elements named name under n, in document order.
func (n *svgNode) all(name string) []*svgNode {
	var out []*svgNode
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
		out = append(out, c.all(name)...)
	}
	return out
}

// child returns n's first child named name, or nil.
func (n *svgNode) child(name string) *svgNode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// chartReports are the fixtures' reports, the study's synthetic run
// among them.
func chartReports(t *testing.T) map[string]*Report {
	reg := builtin.Workloads()
	out := map[string]*Report{"study-synthetic": Build(analysistest.StudyRun(analysistest.StudyMedians(), nil), reg)}
	for _, name := range []string{"cpu-4runtimes", "sysbench-host-runc", beyondRun} {
		out[name] = Build(loadRun(t, name), reg)
	}
	return out
}

// TestFigureSVGCarriesEveryBar: every bar with data is a group in the
// chart with its runtime, series, median and interval in base units, and
// a title that says the median, the interval and the ratio label as the
// tables print them; a median above 0 has its filled bar in the runtime's
// colour.
func TestFigureSVGCarriesEveryBar(t *testing.T) {
	for name, rep := range chartReports(t) {
		colors := runtimeColors(analysis.RuntimeOrder(rep.Run))
		for i := range rep.Figures {
			f := &rep.Figures[i]
			t.Run(name+"/"+f.ID, func(t *testing.T) {
				b, err := figureSVG(f, colors)
				if err != nil {
					t.Fatal(err)
				}
				root := parseSVG(t, b)
				groups := map[string]*svgNode{}
				for _, g := range root.all("g") {
					if g.attrs["class"] == "bar" {
						key := g.attrs["data-series"] + "\x00" + g.attrs["data-runtime"]
						if groups[key] != nil {
							t.Errorf("two bars for %q", key)
						}
						groups[key] = g
					}
				}
				n := 0
				for _, c := range f.Clusters {
					for _, bar := range c.Bars {
						if bar.N == 0 {
							continue
						}
						n++
						g := groups[c.Label+"\x00"+bar.Runtime]
						if g == nil {
							t.Errorf("%s %s: no bar in the chart", c.Label, bar.Runtime)
							continue
						}
						checkBarGroup(t, g, bar, f.Unit, colors[bar.Runtime])
					}
				}
				if n != len(groups) {
					t.Errorf("%d bars in the chart, the figure has %d with data", len(groups), n)
				}
			})
		}
	}
}

func checkBarGroup(t *testing.T, g *svgNode, b Bar, unit string, c interface{ RGBA() (r, g, b, a uint32) }) {
	t.Helper()
	want := map[string]string{"data-n": strconv.Itoa(b.N), "data-median": baseNum(b.Median)}
	if b.HasCI {
		want["data-lo"], want["data-hi"] = baseNum(b.Lo), baseNum(b.Hi)
	}
	if b.Ratio != nil {
		want["data-ratio"] = baseNum(b.Ratio.Ratio)
	}
	for k, v := range want {
		if g.attrs[k] != v {
			t.Errorf("%s: %s=%q, want %q", b.Runtime, k, g.attrs[k], v)
		}
	}
	if got, err := strconv.ParseFloat(g.attrs["data-median"], 64); err != nil || got != b.Median {
		t.Errorf("%s: data-median %q does not read back as %v", b.Runtime, g.attrs["data-median"], b.Median)
	}
	title := g.child("title")
	if title == nil {
		t.Fatalf("%s: the bar has no title", b.Runtime)
	}
	parts := []string{b.Runtime, FormatValue(b.Median, unit), fmt.Sprintf("(%d trials)", b.N)}
	if b.HasCI {
		parts = append(parts, FormatValue(b.Lo, unit)+" – "+FormatValue(b.Hi, unit))
	}
	if r := RatioLabel(b); r != "" && r != "base" {
		parts = append(parts, r)
	}
	for _, p := range parts {
		if !strings.Contains(title.text, p) {
			t.Errorf("%s: title %q does not say %q", b.Runtime, title.text, p)
		}
	}
	fills := 0
	for _, p := range g.all("path") {
		if strings.Contains(p.attrs["style"], "fill:") {
			fills++
			r, gr, bl, _ := c.RGBA()
			if want := fmt.Sprintf("fill:#%02X%02X%02X", r>>8, gr>>8, bl>>8); p.attrs["style"] != want {
				t.Errorf("%s: bar style %q, want %q", b.Runtime, p.attrs["style"], want)
			}
		}
	}
	if want := map[bool]int{true: 1, false: 0}[b.Median > 0]; fills != want {
		t.Errorf("%s: %d filled bars for a median of %v, want %d", b.Runtime, fills, b.Median, want)
	}
	if r := RatioLabel(b); r != "" {
		if tx := g.child("text"); tx == nil || tx.text != r {
			t.Errorf("%s: ratio label %+v, want %q", b.Runtime, tx, r)
		}
	}
}

// TestCurveSVGCarriesEveryPoint: every point of every line is a group in
// the chart with its x, median and interval in base units, and a title
// that says them.
func TestCurveSVGCarriesEveryPoint(t *testing.T) {
	rep := Build(loadRun(t, beyondRun), builtin.Workloads())
	colors := runtimeColors(analysis.RuntimeOrder(rep.Run))
	if len(rep.Curves) == 0 {
		t.Fatal("no curves")
	}
	for i := range rep.Curves {
		cv := &rep.Curves[i]
		b, err := curveSVG(cv, colors)
		if err != nil {
			t.Fatal(err)
		}
		root := parseSVG(t, b)
		lines := map[string]*svgNode{}
		for _, g := range root.all("g") {
			if g.attrs["class"] == "line" {
				lines[g.attrs["data-runtime"]] = g
			}
		}
		if len(lines) != len(cv.Lines) {
			t.Errorf("%s: %d lines in the chart, want %d", cv.ID, len(lines), len(cv.Lines))
		}
		for _, l := range cv.Lines {
			g := lines[l.Runtime]
			if g == nil {
				t.Errorf("%s: no line for %s", cv.ID, l.Runtime)
				continue
			}
			if p := g.child("path"); p == nil || p.attrs["stroke"] != hexColor(colors[l.Runtime]) {
				t.Errorf("%s %s: line %+v, want a path in %s", cv.ID, l.Runtime, p, hexColor(colors[l.Runtime]))
			}
			var pts []*svgNode
			for _, c := range g.children {
				if c.attrs["class"] == "point" {
					pts = append(pts, c)
				}
			}
			if len(pts) != len(l.Points) {
				t.Fatalf("%s %s: %d points, want %d", cv.ID, l.Runtime, len(pts), len(l.Points))
			}
			for j, p := range l.Points {
				g := pts[j]
				want := map[string]string{"data-x": baseNum(p.X), "data-n": strconv.Itoa(p.N), "data-median": baseNum(p.Median)}
				if p.HasCI {
					want["data-lo"], want["data-hi"] = baseNum(p.Lo), baseNum(p.Hi)
				}
				for k, v := range want {
					if g.attrs[k] != v {
						t.Errorf("%s %s point %d: %s=%q, want %q", cv.ID, l.Runtime, j, k, g.attrs[k], v)
					}
				}
				title := g.child("title")
				if title == nil || !strings.Contains(title.text, FormatValue(p.Median, cv.Unit)) || !strings.Contains(title.text, l.Runtime) {
					t.Errorf("%s %s point %d: title %+v", cv.ID, l.Runtime, j, title)
				}
			}
		}
	}
}

// hostile is a runtime name and label that would break out of an
// attribute and an element if written unescaped.
const hostile = `x"/><script>alert('&amp;')</script><text y="-1">`

// stressFigure is a figure with long and hostile names, many clusters and
// long ratio labels.
func stressFigure() Figure {
	rts := []string{"host", "docker:runsc", "qemu-microvm", "cloud-hypervisor", hostile, "firecracker", "incus"}
	f := Figure{ID: "stress", Title: "stress " + hostile, Unit: "s", Baseline: "host", Runtimes: rts}
	for ci, label := range []string{"create", "start+ready", "cgroup memory per sandbox", hostile, "a-very-long-single-word-series-label", "exec"} {
		c := Cluster{Label: label, Workload: "startup", Metric: "m"}
		for ri, rt := range rts {
			med := float64(1+ri) * math.Pow(10, float64(ci%3)) * 1e-3
			b := Bar{Runtime: rt, N: 6, Median: med, HasCI: true, Lo: med * 0.8, Hi: med * 1.3, Baseline: rt == "host"}
			if rt != "host" {
				b.Ratio = &stats.RatioCI{Ratio: med / 1e-3 * 101.23, Lo: 1, Hi: 2}
				b.Significant = ri%2 == 0
			}
			c.Bars = append(c.Bars, b)
		}
		f.Clusters = append(f.Clusters, c)
	}
	return f
}

// stressCurve is a curve with hostile names and crowded x values.
func stressCurve() Curve {
	cv := Curve{ID: "stress", Title: hostile, XLabel: "sandboxes alive " + hostile, Unit: "bytes", Runtimes: []string{"host", hostile}}
	for ri, rt := range cv.Runtimes {
		l := CurveLine{Runtime: rt}
		for _, x := range []float64{1, 2, 3, 5, 8, 10, 20, 50, 100, 150, 199, 200, 1000} {
			m := float64(ri+1) * x * (1 << 20)
			l.Points = append(l.Points, CurvePoint{X: x, N: 3, Median: m, HasCI: true, Lo: m * 0.9, Hi: m * 1.1})
		}
		cv.Lines = append(cv.Lines, l)
	}
	return cv
}

// TestChartHostileNames: runtime names and labels that look like markup
// stay text: the chart is well-formed, has no element they spell, and
// gives them back unchanged as attribute values and texts.
func TestChartHostileNames(t *testing.T) {
	f, cv := stressFigure(), stressCurve()
	colors := runtimeColors(f.Runtimes)
	fb, err := figureSVG(&f, colors)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := curveSVG(&cv, colors)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"figure": fb, "curve": cb} {
		if bytes.Contains(b, []byte("<script")) || bytes.Contains(b, []byte(`<text y="-1"`)) {
			t.Errorf("%s: the hostile name is markup in the chart", name)
		}
		root := parseSVG(t, b)
		if s := root.all("script"); len(s) > 0 {
			t.Errorf("%s: %d script elements", name, len(s))
		}
		found := 0
		for _, g := range root.all("g") {
			if g.attrs["data-runtime"] == hostile {
				found++
				if ti := g.child("title"); ti != nil && !strings.HasPrefix(ti.text, hostile+",") {
					t.Errorf("%s: title %q does not start with the name", name, ti.text)
				}
			}
		}
		if found == 0 {
			t.Errorf("%s: the hostile runtime's data-runtime does not read back", name)
		}
	}
	// The hostile cluster label, wrapped at its spaces, reads back.
	var texts []string
	for _, tx := range parseSVG(t, fb).all("text") {
		texts = append(texts, tx.text)
	}
	if !strings.Contains(strings.Join(texts, " "), hostile) {
		t.Errorf("the hostile cluster label is not in the figure's texts: %q", texts)
	}
}

// textBox is a text's estimated extent in the chart's coordinates.
type textBox struct {
	s                      string
	x0, y0, x1, y1         float64
	rotated, belowBaseline bool
}

var rotateRe = regexp.MustCompile(`^rotate\(-90 ([-0-9.]+) ([-0-9.]+)\)$`)

// boxOf estimates where a <text> of the chart lies, with the widths
// textWidth gives and a glyph's height of 0.95 em above the baseline and
// 0.25 below.
func boxOf(t *testing.T, tx *svgNode) textBox {
	t.Helper()
	f := func(k string) float64 {
		v, err := strconv.ParseFloat(tx.attrs[k], 64)
		if err != nil {
			t.Fatalf("text %q: %s=%q", tx.text, k, tx.attrs[k])
		}
		return v
	}
	x, y, size := f("x"), f("y"), f("font-size")
	w := textWidth(tx.text, size)
	var a0 float64 // where along the text's direction it starts
	switch tx.attrs["text-anchor"] {
	case "", "start":
		a0 = 0
	case "middle":
		a0 = -w / 2
	case "end":
		a0 = -w
	default:
		t.Fatalf("text %q: anchor %q", tx.text, tx.attrs["text-anchor"])
	}
	tr := tx.attrs["transform"]
	if tr == "" {
		return textBox{s: tx.text, x0: x + a0, x1: x + a0 + w, y0: y - 0.95*size, y1: y + 0.25*size}
	}
	m := rotateRe.FindStringSubmatch(tr)
	if m == nil || m[1] != tx.attrs["x"] || m[2] != tx.attrs["y"] {
		t.Fatalf("text %q: transform %q, want a rotation about its own point", tx.text, tr)
	}
	// Rotated by -90°: the text runs up from y; its glyphs' tops point left.
	return textBox{s: tx.text, rotated: true, x0: x - 0.95*size, x1: x + 0.25*size, y0: y - a0 - w, y1: y - a0}
}

func overlap(a, b textBox) bool {
	return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

// checkTextsFit checks that every text of a chart lies inside its
// viewBox and that no two texts overlap, by the estimated widths.
func checkTextsFit(t *testing.T, name string, b []byte) {
	t.Helper()
	root := parseSVG(t, b)
	vb := strings.Fields(root.attrs["viewBox"])
	if len(vb) != 4 || vb[0] != "0" || vb[1] != "0" {
		t.Fatalf("%s: viewBox %q", name, root.attrs["viewBox"])
	}
	w, _ := strconv.ParseFloat(vb[2], 64)
	h, _ := strconv.ParseFloat(vb[3], 64)
	var boxes []textBox
	for _, tx := range root.all("text") {
		bx := boxOf(t, tx)
		if bx.x0 < 0 || bx.y0 < 0 || bx.x1 > w || bx.y1 > h {
			t.Errorf("%s: text %q at [%.1f,%.1f]–[%.1f,%.1f] leaves the viewBox %gx%g", name, bx.s, bx.x0, bx.y0, bx.x1, bx.y1, w, h)
		}
		for _, o := range boxes {
			if overlap(bx, o) {
				t.Errorf("%s: texts %q and %q overlap", name, bx.s, o.s)
			}
		}
		boxes = append(boxes, bx)
	}
	if len(boxes) < 3 {
		t.Errorf("%s: %d texts", name, len(boxes))
	}
}

// TestChartTextsFit: in every chart of the fixtures, and in charts of
// long and hostile names with crowded labels, no text leaves the viewBox
// and no two texts overlap.
func TestChartTextsFit(t *testing.T) {
	for name, rep := range chartReports(t) {
		colors := runtimeColors(analysis.RuntimeOrder(rep.Run))
		for i := range rep.Figures {
			b, err := figureSVG(&rep.Figures[i], colors)
			if err != nil {
				t.Fatal(err)
			}
			checkTextsFit(t, name+"/"+rep.Figures[i].ID, b)
		}
		for i := range rep.Curves {
			b, err := curveSVG(&rep.Curves[i], colors)
			if err != nil {
				t.Fatal(err)
			}
			checkTextsFit(t, name+"/curve-"+rep.Curves[i].ID, b)
		}
	}
	f, cv := stressFigure(), stressCurve()
	colors := runtimeColors(f.Runtimes)
	tests := []struct {
		name string
		f    Figure
	}{
		{"stress", f},
		{"one-bar", Figure{ID: "one", Unit: "ops/s", Runtimes: []string{"qemu-microvm"},
			Clusters: []Cluster{{Label: "events per second", Bars: []Bar{{Runtime: "qemu-microvm", N: 1, Median: 1234567}}}}}},
		{"zero-median", Figure{ID: "zero", Unit: "s", Runtimes: []string{"host", "runc"},
			Clusters: []Cluster{{Label: "min latency", Bars: []Bar{{Runtime: "host", N: 3, Baseline: true}, {Runtime: "runc", N: 3, Ratio: &stats.RatioCI{Ratio: 1}}}}}}},
	}
	for _, tt := range tests {
		b, err := figureSVG(&tt.f, colors)
		if err != nil {
			t.Fatal(err)
		}
		checkTextsFit(t, tt.name, b)
	}
	b, err := curveSVG(&cv, colors)
	if err != nil {
		t.Fatal(err)
	}
	checkTextsFit(t, "stress-curve", b)
}

// TestAxisTicks: ticks start at 0, step by 1, 2 or 5 times a power of ten,
// three to seven intervals, end at or below the axis's top, and are
// labelled with the decimals their step needs.
func TestAxisTicks(t *testing.T) {
	tests := []struct {
		max  float64
		want string
	}{
		{1.3, "0 0.2 0.4 0.6 0.8 1.0 1.2"},
		{6.6, "0 2 4 6"},
		{38, "0 10 20 30"},
		{870, "0 200 400 600 800"},
		{13000, "0 2000 4000 6000 8000 10000 12000"},
		{0.00042, "0 0.0001 0.0002 0.0003 0.0004"},
		{3, "0 1 2 3"},
		{0, "0"},
	}
	for _, tt := range tests {
		_, labels := axisTicks(tt.max)
		if got := strings.Join(labels, " "); got != tt.want {
			t.Errorf("axisTicks(%g) = %s, want %s", tt.max, got, tt.want)
		}
	}
}
