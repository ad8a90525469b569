package report

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/analysis/analysistest"
	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/result"
)

// chartBox is what the page says of one figure once Chromium has laid it
// out.
type chartBox struct {
	ID     string  `json:"id"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	Bars   int     `json:"bars"`   // filled paths in a runtime's colour
	Want   int     `json:"want"`   // data-bars: the bars with data
	Texts  int     `json:"texts"`  // text elements (axes, labels)
	Inside bool    `json:"inside"` // the chart lies within the page's width
}

const chartsJS = `Array.from(document.querySelectorAll('figure.chart-figure')).map(f => {
  const svg = f.querySelector('svg.chart');
  const r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0, right: 1e9};
  const colors = (f.dataset.colors || '').split(' ').filter(c => c);
  let bars = 0;
  if (svg) for (const p of svg.querySelectorAll('path')) {
    const fill = (p.getAttribute('style') || '').match(/fill:(#[0-9A-Fa-f]{6})/);
    if (fill && colors.includes(fill[1].toUpperCase())) {
      const b = p.getBBox();
      if (b.width > 0 && b.height > 0) bars++;
    }
  }
  return {id: f.dataset.figure, width: r.width, height: r.height, bars: bars,
    want: parseInt(f.dataset.bars, 10), texts: svg ? svg.querySelectorAll('text').length : 0,
    inside: r.right <= document.documentElement.clientWidth + 1};
})`

// TestHTMLInChromium opens the HTML report in headless Chromium, checks
// that every figure's SVG chart was laid out with its bars drawn, and that
// a screenshot of the page shows the bars' colours. It skips where
// Chromium is not installed (isobench setup --tests installs it).
func TestHTMLInChromium(t *testing.T) {
	ctx, dir := chromium(t)

	for name, study := range map[string][]string{
		"cpu-4runtimes":      {"cpu-latency"},
		"sysbench-host-runc": {"cpu-latency", "fileio-read", "fileio-write", "memory-time", "memory-latency"},
	} {
		t.Run(name, func(t *testing.T) {
			checkInChromium(t, ctx, dir, loadRun(t, name), name, study)
		})
	}
	// The study's runtimes (synthetic): figures 6 to 10, and the findings.
	t.Run("study-synthetic", func(t *testing.T) {
		checkInChromium(t, ctx, dir, analysistest.StudyRun(analysistest.StudyMedians(), nil), "study-synthetic",
			[]string{"cpu-latency", "fileio-read", "fileio-write", "memory-time", "memory-latency"})
	})
}

// checkInChromium opens a fixture's report in the browser of ctx and checks
// its charts and screenshot.
func checkInChromium(t *testing.T, ctx context.Context, dir string, run *result.Run, name string, study []string) {
	rep := Build(run, builtin.Workloads())
	openInChromium(t, ctx, dir, rep, name)
	boxes, err := chromedp.Run(ctx, chromedp.Evaluate[[]chartBox](chartsJS))
	if err != nil {
		t.Fatalf("reading the charts' layout: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("taking a screenshot: %v", err)
	}
	if len(boxes) != len(rep.Figures) || len(boxes) == 0 {
		t.Fatalf("%d charts in the page, the report has %d figures", len(boxes), len(rep.Figures))
	}
	seen := map[string]bool{}
	for _, b := range boxes {
		seen[b.ID] = true
	}
	for _, id := range study {
		if !seen[id] {
			t.Errorf("the study's figure %s is not in the page", id)
		}
	}
	for i, b := range boxes {
		if b.ID != rep.Figures[i].ID {
			t.Errorf("chart %d is %q, want %q", i, b.ID, rep.Figures[i].ID)
		}
		if b.Width < 200 || b.Height < 100 {
			t.Errorf("chart %s laid out %.0f×%.0f px: not visible", b.ID, b.Width, b.Height)
		}
		if b.Bars != b.Want || b.Want == 0 {
			t.Errorf("chart %s: %d bars drawn, want %d", b.ID, b.Bars, b.Want)
		}
		if b.Texts < 5 || !b.Inside {
			t.Errorf("chart %s: %d texts, inside the page %v", b.ID, b.Texts, b.Inside)
		}
		t.Logf("chart %s: %.0f×%.0f px, %d bars, %d texts", b.ID, b.Width, b.Height, b.Bars, b.Texts)
	}

	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	// Every runtime's colour covers a visible area (its bars), and the page
	// is not blank.
	counts := colourCounts(img, runtimeColors(analysis.RuntimeOrder(rep.Run)))
	for rt, n := range counts {
		if n < 2000 {
			t.Errorf("screenshot: %d pixels of %s's colour, want its bars (thousands; a legend swatch has about 150)", n, rt)
		}
	}
	t.Logf("screenshot %dx%d, pixels per runtime colour: %v", img.Bounds().Dx(), img.Bounds().Dy(), counts)
}

// colourCounts counts the pixels of each runtime's colour (within a small
// tolerance for anti-aliasing).
func colourCounts(img image.Image, colors map[string]color.RGBA) map[string]int {
	out := map[string]int{}
	for rt := range colors {
		out[rt] = 0
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			for rt, c := range colors {
				if near(r>>8, c.R) && near(g>>8, c.G) && near(bl>>8, c.B) {
					out[rt]++
				}
			}
		}
	}
	return out
}

func near(a uint32, b uint8) bool {
	d := int(a) - int(b)
	return d >= -3 && d <= 3
}

// chromium starts a headless Chromium for a test, with a profile in a
// temporary directory (also returned, for the test's own files), and
// stops it when the test ends; the context gives the test 90 seconds. The
// test skips where Chromium is not installed.
func chromium(t *testing.T) (context.Context, string) {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("no chromium in PATH (Debian package chromium; isobench setup --tests installs it)")
	}
	dir := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")), chromedp.WindowSize(1200, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx, dir
}

// openInChromium writes rep's HTML page as dir/name.html and opens it in
// the browser of ctx, waiting until its charts are shown.
func openInChromium(t *testing.T, ctx context.Context, dir string, rep *Report, name string) {
	t.Helper()
	var page bytes.Buffer
	if err := rep.HTML(&page); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".html")
	if err := os.WriteFile(path, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS("svg.chart"))); err != nil {
		t.Fatalf("opening the report in chromium: %v", err)
	}
}
