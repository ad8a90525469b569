package report

import (
	"bytes"
	"encoding/xml"
	"math"
	"strconv"
	"strings"
)

// The charts are SVG that the report writes itself: no embedded font, text
// set in the viewer's sans-serif fonts, every attribute value and text
// escaped as XML (runtime names and parameters come from the run and are
// not trusted). Layout measures text with textWidth, an estimate on the
// wide side of what a browser's sans-serif draws, so that labels keep
// clear of each other and of the chart's edges.

// chartFonts is the font-family list of a chart's text: the page's own.
const chartFonts = `system-ui, -apple-system, "Segoe UI", "Liberation Sans", "DejaVu Sans", Arial, sans-serif`

// Font sizes of a chart's text, in px.
const (
	tickFont  = 11.0 // axis tick labels
	axisFont  = 12.0 // axis titles (units, x label) and cluster labels
	labelFont = 10.0 // ratio labels above bars
)

// svgDoc writes an SVG element by element. Attribute names are the
// code's own; attribute values and texts are escaped.
type svgDoc struct {
	b bytes.Buffer
}

// attr is one attribute of an element.
type attr struct{ name, value string }

// num renders a coordinate or length with at most two decimals.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

func (d *svgDoc) tag(name string, attrs []attr, end string) {
	d.b.WriteByte('<')
	d.b.WriteString(name)
	for _, a := range attrs {
		d.b.WriteByte(' ')
		d.b.WriteString(a.name)
		d.b.WriteString(`="`)
		_ = xml.EscapeText(&d.b, []byte(a.value)) // a bytes.Buffer does not fail
		d.b.WriteByte('"')
	}
	d.b.WriteString(end)
}

// open starts an element that close ends.
func (d *svgDoc) open(name string, attrs ...attr) { d.tag(name, attrs, ">") }

// close ends an element.
func (d *svgDoc) close(name string) { d.b.WriteString("</" + name + ">\n") }

// leaf writes an element without content.
func (d *svgDoc) leaf(name string, attrs ...attr) { d.tag(name, attrs, "/>\n") }

// text writes an element whose content is s, escaped.
func (d *svgDoc) text(name, s string, attrs ...attr) {
	d.tag(name, attrs, ">")
	_ = xml.EscapeText(&d.b, []byte(s))
	d.close(name)
}

// start opens the <svg> element of a chart w×h px, on a white ground.
func (d *svgDoc) start(w, h float64) {
	d.open("svg", attr{"xmlns", "http://www.w3.org/2000/svg"}, attr{"width", num(w)}, attr{"height", num(h)},
		attr{"viewBox", "0 0 " + num(w) + " " + num(h)}, attr{"font-family", chartFonts}, attr{"fill", "#222222"})
	d.b.WriteByte('\n')
	d.leaf("rect", attr{"width", num(w)}, attr{"height", num(h)}, attr{"fill", "#FFFFFF"})
}

// line writes a straight line.
func (d *svgDoc) line(x1, y1, x2, y2 float64, stroke string, width float64) {
	d.leaf("path", attr{"d", "M" + num(x1) + "," + num(y1) + "L" + num(x2) + "," + num(y2)},
		attr{"fill", "none"}, attr{"stroke", stroke}, attr{"stroke-width", num(width)})
}

// whisker writes a vertical interval from y1 to y2 at x with caps of
// half-width capW.
func (d *svgDoc) whisker(x, y1, y2, capW float64, stroke string, width float64) {
	p := "M" + num(x) + "," + num(y1) + "L" + num(x) + "," + num(y2) +
		"M" + num(x-capW) + "," + num(y1) + "L" + num(x+capW) + "," + num(y1) +
		"M" + num(x-capW) + "," + num(y2) + "L" + num(x+capW) + "," + num(y2)
	d.leaf("path", attr{"d", p}, attr{"fill", "none"}, attr{"stroke", stroke}, attr{"stroke-width", num(width)})
}

// label writes a text at (x, y), y its baseline, anchored "start",
// "middle" or "end"; rotated by -90° (reading upwards) about (x, y) when
// up is set.
func (d *svgDoc) label(x, y float64, s string, size float64, anchor string, up bool) {
	attrs := []attr{{"x", num(x)}, {"y", num(y)}, {"font-size", num(size)}}
	if anchor != "start" {
		attrs = append(attrs, attr{"text-anchor", anchor})
	}
	if up {
		attrs = append(attrs, attr{"transform", "rotate(-90 " + num(x) + " " + num(y) + ")"})
	}
	d.text("text", s, attrs...)
}

// bytes ends the document and returns it.
func (d *svgDoc) bytes() []byte {
	d.close("svg")
	return d.b.Bytes()
}

// textWidth estimates the width in px of s set at size px in a
// sans-serif font, erring wide: per character a width at or above that of
// the common sans-serif faces (DejaVu Sans, the widest of them, included).
func textWidth(s string, size float64) float64 {
	em := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune("iljtfrI.,:;'!|()[]{} ", r):
			em += 0.42
		case r == 'm' || r == 'w' || r == 'M' || r == 'W' || r == '%' || r == '@':
			em += 1.0
		case r >= 'A' && r <= 'Z':
			em += 0.8
		case r < 0x80:
			em += 0.66
		case r == '×' || r == 'µ' || r == '–' || r == '~':
			em += 0.86
		default:
			em += 1.0 // anything else, up to a CJK ideograph's full em
		}
	}
	return em * size
}

// textHeight is the height in px a line of text at size px takes: from
// the top of its tallest glyph to the bottom of its descenders, and a
// little space.
func textHeight(size float64) float64 { return size * 1.3 }

// wrapText breaks s at spaces into lines no wider than w px at size px
// where it can; a word wider than w has a line of its own.
func wrapText(s string, size, w float64) []string {
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		if cur == "" {
			cur = word
			continue
		}
		if textWidth(cur+" "+word, size) <= w {
			cur += " " + word
			continue
		}
		lines = append(lines, cur)
		cur = word
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// widestWord is the width of the widest word of s at size px.
func widestWord(s string, size float64) float64 {
	w := 0.0
	for _, word := range strings.Fields(s) {
		w = math.Max(w, textWidth(word, size))
	}
	return w
}

// axisTicks chooses the ticks of a linear axis from 0 to max: the largest
// step of 1, 2 or 5 times a power of ten that leaves at least three
// intervals (so three to seven), the ticks 0, step, … up to max, and their
// labels with the decimals the step needs.
func axisTicks(max float64) ([]float64, []string) {
	if !(max > 0) || math.IsInf(max, 0) {
		return []float64{0}, []string{"0"}
	}
	p := math.Pow(10, math.Floor(math.Log10(max/3)))
	step := p
	for _, m := range []float64{5, 2, 1} {
		if math.Floor(max/(m*p)+1e-9) >= 3 {
			step = m * p
			break
		}
	}
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	var ticks []float64
	var labels []string
	for i := 0; ; i++ {
		v := float64(i) * step
		if v > max*(1+1e-9) {
			break
		}
		ticks = append(ticks, v)
		if i == 0 {
			labels = append(labels, "0")
			continue
		}
		labels = append(labels, strconv.FormatFloat(v, 'f', dec, 64))
	}
	return ticks, labels
}

// baseNum renders a value in base units for a data attribute: the
// shortest decimal that reads back as the same float.
func baseNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// yAxis is a chart's value axis, from 0 at the plot's bottom to max at its
// top.
type yAxis struct {
	max         float64 // in display units
	top, bottom float64 // px
	ticks       []float64
	labels      []string
	labelW      float64 // the widest tick label's width
}

func newYAxis(max float64) yAxis {
	a := yAxis{max: math.Max(max, 1e-12)}
	a.ticks, a.labels = axisTicks(a.max)
	for _, l := range a.labels {
		a.labelW = math.Max(a.labelW, textWidth(l, tickFont))
	}
	return a
}

// y is the px position of value v.
func (a yAxis) y(v float64) float64 {
	return a.bottom - v/a.max*(a.bottom-a.top)
}

// margin is the room the axis takes left of the plot: the unit's title,
// the tick labels and the ticks.
func (a yAxis) margin() float64 {
	return 6 + textHeight(axisFont) + 4 + a.labelW + 4 + 5
}

// draw writes the grid lines, tick marks and labels, the axis line at x0
// and the unit's title, rotated, at the left edge; the grid spans x0 to x1.
func (a yAxis) draw(d *svgDoc, x0, x1 float64, unit string) {
	for i, v := range a.ticks {
		y := a.y(v)
		if v > 0 {
			d.line(x0, y, x1, y, "#E6E6E6", 1)
		}
		d.line(x0-5, y, x0, y, "#444444", 1)
		d.label(x0-8, y+tickFont*0.35, a.labels[i], tickFont, "end", false)
	}
	d.line(x0, a.top, x0, a.bottom, "#444444", 1)
	d.label(6+axisFont, (a.top+a.bottom)/2, unit, axisFont, "middle", true)
}
