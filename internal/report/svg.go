package report

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
)

// palette colours runtimes in the order the run lists them (Tableau 10,
// readable by most colour-blind people and in grey).
func palette() []color.RGBA {
	return []color.RGBA{
		{0x4E, 0x79, 0xA7, 0xFF}, {0xF2, 0x8E, 0x2B, 0xFF}, {0xE1, 0x57, 0x59, 0xFF}, {0x76, 0xB7, 0xB2, 0xFF},
		{0x59, 0xA1, 0x4F, 0xFF}, {0xED, 0xC9, 0x48, 0xFF}, {0xB0, 0x7A, 0xA1, 0xFF}, {0xFF, 0x9D, 0xA7, 0xFF},
		{0x9C, 0x75, 0x5F, 0xFF}, {0xBA, 0xB0, 0xAC, 0xFF},
	}
}

// runtimeColors gives every runtime of the run its colour.
func runtimeColors(runtimes []string) map[string]color.RGBA {
	p := palette()
	out := map[string]color.RGBA{}
	for i, rt := range runtimes {
		out[rt] = p[i%len(p)]
	}
	return out
}

// hexColor renders a colour as the charts and the page write it ("#4E79A7").
func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B) }

// RatioLabel is the label above a bar: "base" for the baseline, "×1.03" for
// a significant ratio, "×1.03~" when the difference is not significant, ""
// without a ratio.
func RatioLabel(b Bar) string {
	switch {
	case b.Baseline:
		return "base"
	case b.Ratio == nil:
		return ""
	case !b.Significant:
		return fmt.Sprintf("×%.2f~", b.Ratio.Ratio)
	default:
		return fmt.Sprintf("×%.2f", b.Ratio.Ratio)
	}
}

// figureSVG draws a figure as an SVG bar chart: a cluster per series, a
// bar per runtime at its median, whiskers for the median's confidence
// interval and the ratio to the baseline above each bar. Each bar is a
// group that carries its runtime, series, median and interval in base
// units as data attributes and says them in its title (a tooltip). It
// returns the <svg> element, ready to inline in HTML.
func figureSVG(f *Figure, colors map[string]color.RGBA) ([]byte, error) {
	nr, nc := len(f.Runtimes), len(f.Clusters)
	if nr == 0 || nc == 0 {
		return nil, fmt.Errorf("figure %s has no data", f.ID)
	}
	top := 0.0
	for _, c := range f.Clusters {
		for _, b := range c.Bars {
			top = math.Max(top, math.Max(b.Median, b.Hi))
		}
	}
	scale, unitName := displayUnit(f.Unit, top)
	return barChart(f, colors, scale, unitName).svg(), nil
}

// barLayout is a bar chart measured and placed.
type barLayout struct {
	f      *Figure
	colors map[string]color.RGBA
	scale  float64
	unit   string

	step     float64    // px per bar
	up       bool       // ratio labels read upwards
	clusterX []float64  // left edge of each cluster's first bar
	lines    [][]string // each cluster's label, wrapped
	width    float64
	height   float64
	left     float64 // the plot's left edge
	y        yAxis
}

// Sizes of a bar chart, in px.
const (
	barPlotH     = 210.0 // the plot's height
	barChartW    = 600.0 // the width a chart aims at
	barChartMinW = 360.0 // and has at least
	barStepMax   = 56.0  // px per bar at most
	barStepMin   = 16.0  // px per bar at least
	barLabelGap  = 3.0   // between a bar (or whisker) and its label
	barTopMargin = 10.0
)

func barChart(f *Figure, colors map[string]color.RGBA, scale float64, unit string) *barLayout {
	l := &barLayout{f: f, colors: colors, scale: scale, unit: unit}
	nr, nc := len(f.Runtimes), len(f.Clusters)
	var labels []string
	top := 0.0
	for _, c := range f.Clusters {
		for _, b := range c.Bars {
			top = math.Max(top, math.Max(b.Median, b.Hi)/scale)
			if s := RatioLabel(b); s != "" {
				labels = append(labels, s)
			}
		}
	}
	// The bars' width: what fills the aimed-at width, within bounds, with
	// a bar's width of space between clusters.
	l.y = newYAxis(top)
	l.left = l.y.margin()
	l.step = (barChartW - l.left - 10) / float64(nc*(nr+1))
	l.step = math.Max(barStepMin, math.Min(barStepMax, l.step))
	for _, s := range labels {
		if textWidth(s, labelFont) > l.step-2 {
			l.up = true
		}
	}
	// Room above the highest bar for its label: the axis's top value is
	// chosen so that every label ends below the plot's top.
	labelExt := func(s string) float64 {
		if s == "" {
			return 0
		}
		if l.up {
			return barLabelGap + textWidth(s, labelFont)
		}
		return barLabelGap + textHeight(labelFont)
	}
	// Labels that read upwards get room of their own above the plot's
	// usual height, so that the bars keep theirs.
	plotH := barPlotH
	if l.up {
		ext := 0.0
		for _, s := range labels {
			ext = math.Max(ext, labelExt(s))
		}
		plotH += math.Min(ext, barPlotH/2)
	}
	ymax := top * 1.05
	for _, c := range f.Clusters {
		for _, b := range c.Bars {
			if b.N == 0 {
				continue
			}
			v := math.Max(b.Median, b.Hi) / scale
			if ext := labelExt(RatioLabel(b)); ext > 0 {
				ymax = math.Max(ymax, v*plotH/math.Max(plotH-ext, plotH*0.3))
			}
		}
	}
	l.y = newYAxis(ymax)
	l.left = l.y.margin()
	// Clusters: as wide as their bars, or their label's widest word, or
	// their share of a chart's least width.
	x := l.left + l.step/2
	maxLines := 1
	least := (barChartMinW-l.left-10)/float64(nc) - l.step
	for _, c := range f.Clusters {
		inner := math.Max(math.Max(float64(nr)*l.step, least), widestWord(c.Label, axisFont)+4)
		shift := (inner - float64(nr)*l.step) / 2
		l.clusterX = append(l.clusterX, x+shift)
		lines := wrapText(c.Label, axisFont, inner+l.step*0.8)
		l.lines = append(l.lines, lines)
		maxLines = max(maxLines, len(lines))
		x += inner + l.step
	}
	l.width = x - l.step/2 + 10
	l.y.top = barTopMargin
	l.y.bottom = barTopMargin + plotH
	l.height = l.y.bottom + 6 + float64(maxLines)*textHeight(axisFont) + 4
	return l
}

// svg writes the chart.
func (l *barLayout) svg() []byte {
	d := &svgDoc{}
	d.start(l.width, l.height)
	l.y.draw(d, l.left, l.width-10, l.unit)
	d.line(l.left, l.y.bottom, l.width-10, l.y.bottom, "#444444", 1)
	barW := l.step * 0.8
	for ci, c := range l.f.Clusters {
		for ri, rt := range l.f.Runtimes {
			b, ok := findBar(c.Bars, rt)
			if !ok || b.N == 0 {
				continue
			}
			xm := l.clusterX[ci] + float64(ri)*l.step + l.step/2
			l.bar(d, c.Label, b, xm, barW)
		}
		cx := l.clusterX[ci] + float64(len(l.f.Runtimes))*l.step/2
		for i, s := range l.lines[ci] {
			d.label(cx, l.y.bottom+6+float64(i)*textHeight(axisFont)+axisFont*0.9, s, axisFont, "middle", false)
		}
	}
	return d.bytes()
}

// bar writes one runtime's bar of a cluster centred on xm: its group with
// the data, its title, the bar, the whisker and the ratio label.
func (l *barLayout) bar(d *svgDoc, series string, b Bar, xm, barW float64) {
	attrs := []attr{{"class", "bar"}, {"data-runtime", b.Runtime}, {"data-series", series},
		{"data-n", strconv.Itoa(b.N)}, {"data-median", baseNum(b.Median)}}
	title := fmt.Sprintf("%s, %s: median %s", b.Runtime, series, FormatValue(b.Median, l.f.Unit))
	if b.HasCI {
		attrs = append(attrs, attr{"data-lo", baseNum(b.Lo)}, attr{"data-hi", baseNum(b.Hi)})
		title += fmt.Sprintf(", CI %s – %s", FormatValue(b.Lo, l.f.Unit), FormatValue(b.Hi, l.f.Unit))
	}
	if b.Ratio != nil {
		attrs = append(attrs, attr{"data-ratio", baseNum(b.Ratio.Ratio)})
	}
	if r := RatioLabel(b); r != "" && r != "base" {
		title += ", " + r + " against the baseline"
	} else if r == "base" {
		title += ", the baseline"
	}
	title += fmt.Sprintf(" (%d trials)", b.N)
	d.open("g", attrs...)
	d.b.WriteByte('\n')
	d.text("title", title)
	y0, y1 := l.y.bottom, l.y.y(b.Median/l.scale)
	if b.Median > 0 {
		// A bar too short to see is drawn a hairline high: its median is
		// above 0.
		y1 = math.Min(y1, y0-0.5)
		// The fill is in the style, where the page's readers (and its
		// tests) find a runtime's bars by their colour.
		d.leaf("path", attr{"d", "M" + num(xm-barW/2) + "," + num(y0) + "H" + num(xm+barW/2) + "V" + num(y1) + "H" + num(xm-barW/2) + "Z"},
			attr{"style", "fill:" + hexColor(l.colors[b.Runtime])})
	}
	topY := y1
	if b.HasCI {
		lo, hi := l.y.y(b.Lo/l.scale), l.y.y(b.Hi/l.scale)
		d.whisker(xm, lo, hi, barW/4, "#222222", 1)
		topY = math.Min(topY, hi)
	}
	if s := RatioLabel(b); s != "" {
		if l.up {
			d.label(xm+labelFont*0.35, topY-barLabelGap, s, labelFont, "start", true)
		} else {
			d.label(xm, topY-barLabelGap-labelFont*0.25, s, labelFont, "middle", false)
		}
	}
	d.close("g")
}

func findBar(bars []Bar, rt string) (Bar, bool) {
	for _, b := range bars {
		if b.Runtime == rt {
			return b, true
		}
	}
	return Bar{}, false
}

// svgAttr inserts attributes into an <svg> element's start tag.
func svgAttr(svg []byte, attrs string) []byte {
	s := string(svg)
	if !strings.HasPrefix(s, "<svg") {
		return svg
	}
	return []byte("<svg " + attrs + s[len("<svg"):])
}
