package analysis_test

import (
	"path/filepath"
	"testing"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/analysis/analysistest"
	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/result"
)

// loadRun reads one of the real runs whose reports are kept as golden
// files beside package report (see its golden_test.go):
//
//	cpu-4runtimes: isobench run --runtimes host,runc,crun,runsc,youki --trials 6 --warmups 1
//	cpu-host-runc: isobench run --runtimes host,runc --trials 6 --warmups 1, right after
//	startup-density-syscall: startup, density and syscall on host, runc, crun and runsc
//	               (quick profile), with the single values of its startup and density trials
func loadRun(t *testing.T, name string) *result.Run {
	t.Helper()
	return analysistest.LoadRun(t, filepath.Join("..", "report", "testdata", "runs", name+".json"))
}

// TestTails: the startup group has a tail row per phase and runtime,
// pooling 5 starts from each of the 6 OK trials: a p95 (30 ≥ 20 values),
// no p99 (30 < 100), in order median ≤ p95 ≤ max.
func TestTails(t *testing.T) {
	a := analysis.Analyze(loadRun(t, "startup-density-syscall"), builtin.Workloads())
	var startup, density *analysis.Group
	for i := range a.Groups {
		g := &a.Groups[i]
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

// TestFormatValueCarry: a value that rounds up to 1000 of a unit is said
// in the next one.
func TestFormatValueCarry(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{
		{0.99996, "sec", "1s"},
		{0.9994, "sec", "999.4ms"},
		{0.00099996, "sec", "1ms"},
		{0.00000099996, "sec", "1µs"},
		{0.00073, "sec", "730.0µs"},
		{2.5, "sec", "2.5s"},
		{0, "sec", "0s"},
		{-0.99996, "sec", "-1s"},
	} {
		if got := analysis.FormatValue(tc.v, tc.unit); got != tc.want {
			t.Errorf("FormatValue(%v, %s) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}
