package report

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/isobench/isobench/internal/analysis/analysistest"
	"github.com/isobench/isobench/internal/builtin"
)

// laidText is one text of a chart as Chromium set it.
type laidText struct {
	Chart  string  `json:"chart"`
	Text   string  `json:"text"`
	Size   float64 `json:"size"`   // font-size in the chart's units
	Length float64 `json:"length"` // its advance, in the chart's units
	// Its box and the chart's, in page px.
	X0, Y0, X1, Y1     float64
	CX0, CY0, CX1, CY1 float64
}

const textsJS = `(() => {
  const out = [];
  document.querySelectorAll('svg.chart').forEach((svg, i) => {
    const fig = svg.closest('figure');
    const c = svg.getBoundingClientRect();
    svg.querySelectorAll('text').forEach(t => {
      const r = t.getBoundingClientRect();
      out.push({chart: (fig && fig.id) || String(i), text: t.textContent,
        size: parseFloat(t.getAttribute('font-size')), length: t.getComputedTextLength(),
        X0: r.left, Y0: r.top, X1: r.right, Y1: r.bottom, CX0: c.left, CY0: c.top, CX1: c.right, CY1: c.bottom});
    });
  });
  return out;
})()`

// TestChartTextsInChromium lays the charts out in headless Chromium, with
// the fonts it has: every text lies inside its chart, no two texts of a
// chart overlap, and no text is wider than the width the layout reckoned
// with. The charts are the study's synthetic run's, the startup and
// density run's, and charts of long and hostile names. It skips where
// Chromium is not installed.
func TestChartTextsInChromium(t *testing.T) {
	ctx, dir := chromium(t)

	reg := builtin.Workloads()
	stress := Build(analysistest.StudyRun(analysistest.StudyMedians(), nil), reg)
	stress.Figures = append(stress.Figures, stressFigure())
	stress.Curves = append(stress.Curves, stressCurve())
	for name, rep := range map[string]*Report{"study-stress": stress, beyondRun: Build(loadRun(t, beyondRun), reg)} {
		t.Run(name, func(t *testing.T) {
			openInChromium(t, ctx, dir, rep, name)
			texts, err := chromedp.Run(ctx, chromedp.Evaluate[[]laidText](textsJS))
			if err != nil {
				t.Fatalf("reading the texts' layout: %v", err)
			}
			checkLaidTexts(t, texts)
		})
	}
}

func checkLaidTexts(t *testing.T, texts []laidText) {
	t.Helper()
	if len(texts) == 0 {
		t.Fatal("no texts in the charts")
	}
	const tol = 0.5 // px, for rounding in the layout
	charts := map[string]bool{}
	for i, a := range texts {
		charts[a.Chart] = true
		if a.X0 < a.CX0-tol || a.Y0 < a.CY0-tol || a.X1 > a.CX1+tol || a.Y1 > a.CY1+tol {
			t.Errorf("%s: text %q at [%.1f,%.1f]–[%.1f,%.1f] leaves its chart [%.1f,%.1f]–[%.1f,%.1f]",
				a.Chart, a.Text, a.X0, a.Y0, a.X1, a.Y1, a.CX0, a.CY0, a.CX1, a.CY1)
		}
		if est := textWidth(a.Text, a.Size); a.Length > est {
			t.Errorf("%s: text %q is %.1f wide as set, the layout reckoned %.1f", a.Chart, a.Text, a.Length, est)
		}
		for _, b := range texts[:i] {
			if b.Chart == a.Chart && a.X0 < b.X1-tol && b.X0 < a.X1-tol && a.Y0 < b.Y1-tol && b.Y0 < a.Y1-tol {
				t.Errorf("%s: texts %q and %q overlap", a.Chart, a.Text, b.Text)
			}
		}
	}
	t.Logf("%d texts in %d charts", len(texts), len(charts))
}
