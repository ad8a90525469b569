package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
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

// hexColor renders a colour as vgsvg writes it ("#4E79A7").
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
// interval and the ratio to the baseline above each bar. It returns the
// <svg> element without an XML prolog, ready to inline in HTML.
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

	p := plot.New()
	p.BackgroundColor = color.White
	styleText(&p.Y.Label.TextStyle, 10)
	styleText(&p.X.Tick.Label, 9)
	styleText(&p.Y.Tick.Label, 9)
	p.Y.Label.Text = unitName
	p.Y.Tick.Marker = plot.DefaultTicks{}
	p.X.Tick.Length, p.X.Padding = 0, vg.Points(2)
	p.Y.Padding = 0

	slot := float64(nr + 1) // one bar's width of space between clusters
	bars := &barPlot{}
	var labels plotter.XYLabels
	var ticks []plot.Tick
	rotate := nr*nc > 12
	for ci, c := range f.Clusters {
		ticks = append(ticks, plot.Tick{Value: float64(ci)*slot + float64(nr-1)/2, Label: c.Label})
		for ri, rt := range f.Runtimes {
			b, ok := findBar(c.Bars, rt)
			if !ok || b.N == 0 {
				continue
			}
			// A median of 0 (below a tool's print resolution) has no bar
			// to draw; its label still says what it is.
			x := float64(ci)*slot + float64(ri)
			r := bar{x: x, y: b.Median / scale, color: colors[rt]}
			if b.HasCI {
				r.lo, r.hi, r.ci = b.Lo/scale, b.Hi/scale, true
			}
			bars.bars = append(bars.bars, r)
			if l := RatioLabel(b); l != "" {
				labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: math.Max(r.y, r.hi)})
				labels.Labels = append(labels.Labels, l)
			}
		}
	}
	p.Add(bars)
	if len(labels.Labels) > 0 {
		lp, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, fmt.Errorf("figure %s: %w", f.ID, err)
		}
		for i := range lp.TextStyle {
			styleText(&lp.TextStyle[i], 8)
			lp.TextStyle[i].XAlign = draw.XCenter
			lp.TextStyle[i].YAlign = draw.YBottom
			if rotate {
				lp.TextStyle[i].Rotation = math.Pi / 2
				lp.TextStyle[i].XAlign = draw.XLeft
				lp.TextStyle[i].YAlign = draw.YCenter
			}
		}
		lp.Offset = vg.Point{Y: vg.Points(2)}
		p.Add(lp)
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	// Room for the cluster labels, wider than one or two bars.
	margin := 0.7
	if nr <= 2 {
		margin = 1.0
	}
	p.X.Min, p.X.Max = -margin, float64(nc-1)*slot+float64(nr-1)+margin
	headroom := 1.12
	if rotate {
		headroom = 1.3
	}
	p.Y.Min, p.Y.Max = 0, math.Max(top/scale*headroom, 1e-12)

	width := vg.Points(math.Min(720, math.Max(320, 70+float64(nc)*math.Max(slot*26, 110))))
	c := vgsvg.New(width, vg.Points(220))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("figure %s: writing SVG: %w", f.ID, err)
	}
	out := buf.Bytes()
	// Drop the XML prolog and the generator comment before <svg.
	if i := bytes.Index(out, []byte("<svg")); i > 0 {
		out = out[i:]
	}
	return out, nil
}

// styleText sets a sans-serif font of a size.
func styleText(s *text.Style, size float64) {
	s.Font = font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
	if s.Handler == nil {
		s.Handler = plot.DefaultTextHandler
	}
	if s.Color == nil {
		s.Color = color.Black
	}
}

func findBar(bars []Bar, rt string) (Bar, bool) {
	for _, b := range bars {
		if b.Runtime == rt {
			return b, true
		}
	}
	return Bar{}, false
}

// bar is one drawn bar, in data units.
type bar struct {
	x, y   float64
	lo, hi float64
	ci     bool
	color  color.RGBA
}

// barPlot draws bars centred on their x, 0.8 wide, with whiskers.
type barPlot struct{ bars []bar }

var (
	_ plot.Plotter    = (*barPlot)(nil)
	_ plot.DataRanger = (*barPlot)(nil)
)

// Plot implements plot.Plotter.
func (bp *barPlot) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	whisker := draw.LineStyle{Color: color.Black, Width: vg.Points(0.8)}
	for _, b := range bp.bars {
		x0, x1 := trX(b.x-0.4), trX(b.x+0.4)
		y0, y1 := trY(0), trY(b.y)
		if b.y > 0 {
			c.FillPolygon(b.color, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
		}
		if !b.ci {
			continue
		}
		xm, cap := trX(b.x), (x1-x0)/4
		lo, hi := trY(b.lo), trY(b.hi)
		c.StrokeLine2(whisker, xm, lo, xm, hi)
		c.StrokeLine2(whisker, xm-cap, lo, xm+cap, lo)
		c.StrokeLine2(whisker, xm-cap, hi, xm+cap, hi)
	}
}

// DataRange implements plot.DataRanger.
func (bp *barPlot) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, b := range bp.bars {
		xmin, xmax = math.Min(xmin, b.x-0.5), math.Max(xmax, b.x+0.5)
		ymax = math.Max(ymax, math.Max(b.y, b.hi))
	}
	return xmin, xmax, 0, ymax
}

// svgAttr inserts attributes into an <svg> element's start tag.
func svgAttr(svg []byte, attrs string) []byte {
	s := string(svg)
	if !strings.HasPrefix(s, "<svg") {
		return svg
	}
	return []byte("<svg " + attrs + s[len("<svg"):])
}
