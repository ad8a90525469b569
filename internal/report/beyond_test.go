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

// TestTails: the startup group has a tail row per phase and runtime,
// pooling 5 starts from each of the 6 OK trials: a p95 (30 ≥ 20 values),
// no p99 (30 < 100), in order median ≤ p95 ≤ max.
func TestTails(t *testing.T) {
	r := Build(loadRun(t, beyondRun), builtin.Workloads())
	var startup, density *Group
	for i := range r.Analysis.Groups {
		g := &r.Analysis.Groups[i]
		switch {
		case g.Workload == "startup":
			startup = g
		case g.Workload == "density" && g.Params["n"] == "20":
			density = g
		}
	}
	if startup == nil || density == nil {
		t.Fatal("no startup or density n=20 group")
	}
	if len(startup.Tails) != 8*4 {
		t.Fatalf("%d startup tail rows, want 8 phases × 4 runtimes", len(startup.Tails))
	}
	for _, row := range startup.Tails {
		tl := row.Tail
		if tl.N != 30 || row.Trials != 6 || !tl.HasP95 || tl.HasP99 {
			t.Errorf("%s %s: %+v (trials %d)", row.Metric.Name, row.Runtime, tl, row.Trials)
		}
		if !(tl.Median <= tl.P95 && tl.P95 <= tl.Max) {
			t.Errorf("%s %s: median %v, p95 %v, max %v out of order", row.Metric.Name, row.Runtime, tl.Median, tl.P95, tl.Max)
		}
	}
	if len(density.Tails) != 4 || density.Tails[0].Metric.Name != "start_median" || density.Tails[0].Tail.N != 120 {
		t.Errorf("density n=20 tails %+v, want the 120 single starts of each runtime", density.Tails)
	}
}

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
