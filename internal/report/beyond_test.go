package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/builtin"
)

// beyondRun is a real run of the startup, density and syscall workloads on
// host, runc, crun and runsc (quick profile), kept with the single values
// of its startup and density trials. (Its density trials kept their single
// start times under "start"; the key is now "start_median", the metric
// whose per-trial value they are the median of, and was renamed in the
// file.)
const beyondRun = "startup-density-syscall"

// TestCurvesAndStartupFigures: the density curves have a line per runtime
// with a point per count (the cgroup curve none for the host, which has
// no cgroup), in growing order; the startup figures are there.
func TestCurvesAndStartupFigures(t *testing.T) {
	r := Build(loadRun(t, beyondRun), builtin.Workloads())
	if len(r.Curves) != 3 {
		t.Fatalf("%d curves, want 3", len(r.Curves))
	}
	for _, cv := range r.Curves {
		want := 4
		if cv.Metric == "cgroup_memory_per_sandbox" {
			want = 3
		}
		if len(cv.Lines) != want {
			t.Errorf("%s: %d lines, want %d", cv.ID, len(cv.Lines), want)
		}
		for _, l := range cv.Lines {
			if len(l.Points) != 3 || l.Points[0].X != 1 || l.Points[2].X != 20 {
				t.Errorf("%s %s: points %+v, want n = 1, 10, 20", cv.ID, l.Runtime, l.Points)
			}
		}
	}
	ids := map[string]bool{}
	for _, f := range r.Figures {
		ids[f.ID] = true
	}
	if !ids["startup-phases"] || !ids["startup-cold-warm"] {
		t.Errorf("figures %v: no startup figures", ids)
	}
	var page bytes.Buffer
	if err := r.HTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`id="curve-density-pss"`, `id="fig-startup-phases"`, `class="tails"`, "p99"} {
		if !strings.Contains(page.String(), s) {
			t.Errorf("the HTML report has no %s", s)
		}
	}
}

// TestGoldenBeyond renders the run as text and HTML against golden files.
func TestGoldenBeyond(t *testing.T) {
	for _, f := range []Format{FormatText, FormatHTML} {
		var buf bytes.Buffer
		if err := Build(loadRun(t, beyondRun), builtin.Workloads()).Write(&buf, f); err != nil {
			t.Fatal(err)
		}
		ext := map[Format]string{FormatText: "txt", FormatHTML: "html"}[f]
		golden(t, beyondRun+"."+ext, buf.Bytes())
	}
}
