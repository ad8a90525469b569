package report

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
)

// Sizes of a line chart, in px.
const (
	curveChartW  = 600.0
	curvePlotH   = 210.0
	curveTopPad  = 10.0
	curveRightPd = 10.0
)

// curveSVG draws a curve as an SVG line chart: a line with markers per
// runtime at its medians, whiskers for their confidence intervals. Each
// point is a group that carries its runtime, x, median and interval in
// base units as data attributes and says them in its title (a tooltip).
// It returns the <svg> element, ready to inline in HTML.
func curveSVG(cv *Curve, colors map[string]color.RGBA) ([]byte, error) {
	if len(cv.Lines) == 0 {
		return nil, fmt.Errorf("curve %s has no data", cv.ID)
	}
	top, xmin, xmax := 0.0, math.Inf(1), math.Inf(-1)
	var xs []float64
	seen := map[float64]bool{}
	for _, l := range cv.Lines {
		for _, p := range l.Points {
			top = math.Max(top, math.Max(p.Median, p.Hi))
			xmin, xmax = math.Min(xmin, p.X), math.Max(xmax, p.X)
			if !seen[p.X] {
				seen[p.X] = true
				xs = append(xs, p.X)
			}
		}
	}
	if len(xs) == 0 {
		return nil, fmt.Errorf("curve %s has no points", cv.ID)
	}
	sort.Float64s(xs)
	scale, unitName := displayUnit(cv.Unit, top)

	y := newYAxis(top / scale * 1.1)
	y.top, y.bottom = curveTopPad, curveTopPad+curvePlotH
	left, right := y.margin(), curveChartW-curveRightPd
	xlabels := make([]string, len(xs))
	inset := 10.0
	for i, x := range xs {
		xlabels[i] = strconv.FormatFloat(x, 'g', -1, 64)
		inset = math.Max(inset, textWidth(xlabels[i], tickFont)/2+2)
	}
	xpx := func(x float64) float64 {
		if xmax == xmin {
			return (left + right) / 2
		}
		return left + inset + (x-xmin)/(xmax-xmin)*(right-left-2*inset)
	}
	titleLines := wrapText(cv.XLabel, axisFont, right-left)
	height := y.bottom + 6 + textHeight(tickFont) + 4 + float64(len(titleLines))*textHeight(axisFont) + 4

	d := &svgDoc{}
	d.start(curveChartW, height)
	y.draw(d, left, right, unitName)
	d.line(left, y.bottom, right, y.bottom, "#444444", 1)
	// Tick labels at the x values, leaving out one that would touch the
	// one before it.
	lastEnd := math.Inf(-1)
	for i, x := range xs {
		px := xpx(x)
		d.line(px, y.bottom, px, y.bottom+5, "#444444", 1)
		w := textWidth(xlabels[i], tickFont)
		if px-w/2 < lastEnd+4 {
			continue
		}
		lastEnd = px + w/2
		d.label(px, y.bottom+6+tickFont*0.9, xlabels[i], tickFont, "middle", false)
	}
	for i, s := range titleLines {
		d.label((left+right)/2, y.bottom+6+textHeight(tickFont)+4+float64(i)*textHeight(axisFont)+axisFont*0.9, s, axisFont, "middle", false)
	}
	for _, l := range cv.Lines {
		c := hexColor(colors[l.Runtime])
		d.open("g", attr{"class", "line"}, attr{"data-runtime", l.Runtime})
		d.b.WriteByte('\n')
		path := ""
		for i, p := range l.Points {
			op := "L"
			if i == 0 {
				op = "M"
			}
			path += op + num(xpx(p.X)) + "," + num(y.y(p.Median/scale))
		}
		d.leaf("path", attr{"d", path}, attr{"fill", "none"}, attr{"stroke", c}, attr{"stroke-width", "2"})
		for _, p := range l.Points {
			curvePoint(d, cv, l.Runtime, p, xpx(p.X), y, scale, c)
		}
		d.close("g")
	}
	return d.bytes(), nil
}

// curvePoint writes one point of a runtime's line at px: its group with
// the data, its title, the whisker and the marker.
func curvePoint(d *svgDoc, cv *Curve, runtime string, p CurvePoint, px float64, y yAxis, scale float64, c string) {
	attrs := []attr{{"class", "point"}, {"data-x", baseNum(p.X)}, {"data-n", strconv.Itoa(p.N)}, {"data-median", baseNum(p.Median)}}
	title := fmt.Sprintf("%s, %s %s: median %s", runtime, cv.XLabel, strconv.FormatFloat(p.X, 'g', -1, 64), FormatValue(p.Median, cv.Unit))
	if p.HasCI {
		attrs = append(attrs, attr{"data-lo", baseNum(p.Lo)}, attr{"data-hi", baseNum(p.Hi)})
		title += fmt.Sprintf(", CI %s – %s", FormatValue(p.Lo, cv.Unit), FormatValue(p.Hi, cv.Unit))
	}
	title += fmt.Sprintf(" (%d trials)", p.N)
	d.open("g", attrs...)
	d.b.WriteByte('\n')
	d.text("title", title)
	if p.HasCI {
		d.whisker(px, y.y(p.Lo/scale), y.y(p.Hi/scale), 3, c, 1)
	}
	d.leaf("circle", attr{"cx", num(px)}, attr{"cy", num(y.y(p.Median / scale))}, attr{"r", "3.5"}, attr{"fill", c})
	d.close("g")
}
