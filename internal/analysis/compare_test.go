package analysis_test

import (
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/analysis/analysistest"
	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/result"
)

func TestCompareRegressions(t *testing.T) {
	reg := builtin.Workloads()
	base := loadRun(t, "cpu-host-runc")
	tests := []struct {
		name      string
		metric    string
		factor    float64
		failAbove float64
		want      []string // regressed metrics of runc
	}{
		{"same run", "latency_min", 1, 0.05, nil},
		{"min latency 20% slower, bound 5%", "latency_min", 1.2, 0.05, []string{"latency_min"}},
		{"min latency 20% slower, bound 30%", "latency_min", 1.2, 0.30, nil},
		{"min latency 20% faster is no regression", "latency_min", 0.8, 0.05, nil},
		{"events/s 40% fewer, bound 5%", "events_per_sec", 0.6, 0.05, []string{"events_per_sec"}},
		{"events/s 40% more is no regression", "events_per_sec", 1.4, 0.05, nil},
		{"no bound, no regression", "latency_min", 2, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := analysis.CompareRuns(base, analysistest.Scaled(base, "runc", tt.metric, tt.factor), reg, analysis.CompareOptions{FailAbove: tt.failAbove})
			var got []string
			for _, r := range c.Regressions() {
				if r.Runtime != "runc" {
					t.Errorf("regression of %s %s, whose samples did not change", r.Runtime, r.Metric.Name)
				}
				got = append(got, r.Metric.Name)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("regressions = %v, want %v", got, tt.want)
			}
			for _, r := range c.Rows {
				if r.Runtime == "host" && r.Significant {
					t.Errorf("host %s significant against itself (p=%v)", r.Metric.Name, r.PHolm)
				}
			}
		})
	}
}

func TestCompareRuntimesMatchesAnalysis(t *testing.T) {
	run := loadRun(t, "cpu-4runtimes")
	c := analysis.CompareRuntimes(run, "host", "runc", builtin.Workloads(), analysis.CompareOptions{})
	a := analysis.Analyze(run, builtin.Workloads())
	if len(c.Rows) != len(a.Groups[0].Metrics) {
		t.Fatalf("%d rows, want one per metric (%d)", len(c.Rows), len(a.Groups[0].Metrics))
	}
	for i, r := range c.Rows {
		m := a.Groups[0].Metrics[i]
		host, _ := m.Cell("host")
		runc, _ := m.Cell("runc")
		if r.Old.Median != host.Summary.Median || r.New.Median != runc.Summary.Median {
			t.Errorf("%s: medians %v, %v; the analysis has %v, %v", r.Metric.Name, r.Old.Median, r.New.Median, host.Summary.Median, runc.Summary.Median)
		}
		if r.Compare == nil || r.Compare.P != runc.Compare.P {
			t.Errorf("%s: p-value differs from the analysis' U test", r.Metric.Name)
		}
		if r.PHolm < r.Compare.P {
			t.Errorf("%s: Holm-adjusted p %v below the raw p %v", r.Metric.Name, r.PHolm, r.Compare.P)
		}
	}
}

// TestCompareGate: the gate never passes what it did not measure. A
// runtime gone from the new run, a runtime whose every trial failed, and
// a big change measured on too few trials are each listed as not judged,
// with the runtime named, and block the gate unless allowed. (Package
// report's TestCompareUnjudgedShown checks that every format lists them.)
func TestCompareGate(t *testing.T) {
	reg := builtin.Workloads()
	base := loadRun(t, "cpu-host-runc")
	for _, tc := range []struct {
		name     string
		old, new *result.Run
		kind     string // of runc's unjudged cells
		hostToo  bool   // host is not judged either
		regress  bool
	}{
		{"runc gone", base, analysistest.Without(base, false, "runc"), analysis.UnjudgedMissing, false, false},
		{"runc new", analysistest.Without(base, false, "runc"), base, analysis.UnjudgedMissing, false, false},
		{"runc all failed", base, analysistest.Without(base, true, "runc"), analysis.UnjudgedInconclusive, false, false},
		{"50% slower on 3 trials a side", analysistest.FirstTrials(base, 3), analysistest.FirstTrials(analysistest.Scaled(base, "runc", "events_per_sec", 0.5), 3), analysis.UnjudgedInconclusive, true, false},
		{"50% slower on 6 trials a side", base, analysistest.Scaled(base, "runc", "events_per_sec", 0.5), "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := analysis.CompareRuns(tc.old, tc.new, reg, analysis.CompareOptions{FailAbove: 0.05})
			var runc []analysis.Unjudged
			for _, u := range c.Unjudged {
				if u.Runtime == "runc" {
					runc = append(runc, u)
				} else if u.Runtime == "host" && !tc.hostToo {
					t.Errorf("host, the same on both sides, not judged: %+v", u)
				}
			}
			if tc.kind == "" && len(runc) > 0 {
				t.Errorf("runc not judged: %+v", runc)
			}
			if tc.kind != "" {
				if len(runc) == 0 {
					t.Fatalf("runc judged; want it listed as %s", tc.kind)
				}
				for _, u := range runc {
					if u.Kind != tc.kind || u.Reason == "" {
						t.Errorf("runc listed as %s (%q), want %s with a reason", u.Kind, u.Reason, tc.kind)
					}
				}
				if len(c.Blocking(false, false)) == 0 {
					t.Error("the gate does not block on them")
				}
				allowMissing, allowInconclusive := tc.kind == analysis.UnjudgedMissing, tc.kind == analysis.UnjudgedInconclusive
				if b := c.Blocking(allowMissing, allowInconclusive); len(b) != 0 {
					t.Errorf("allowed, still blocking: %+v", b)
				}
			}
			if got := len(c.Regressions()) > 0; got != tc.regress {
				t.Errorf("regression = %v, want %v", got, tc.regress)
			}
		})
	}
}

// TestCompareOneStory: a row called significant has a ratio interval that
// excludes 1; a row whose U test rejects while its interval holds 1 is
// marked, not called.
func TestCompareOneStory(t *testing.T) {
	reg := builtin.Workloads()
	base := loadRun(t, "cpu-host-runc")
	for _, f := range []float64{0.97, 0.99, 1.01, 1.03, 1.1} {
		c := analysis.CompareRuns(base, analysistest.Scaled(base, "runc", "latency_avg", f), reg, analysis.CompareOptions{})
		for _, r := range c.Rows {
			if r.Ratio == nil && r.Compare != nil {
				t.Errorf("×%v %s %s: no ratio interval shown", f, r.Runtime, r.Metric.Name)
				continue
			}
			if r.Significant && r.Ratio.Lo <= 1 && r.Ratio.Hi >= 1 {
				t.Errorf("×%v %s %s: significant with ratio interval [%v, %v]", f, r.Runtime, r.Metric.Name, r.Ratio.Lo, r.Ratio.Hi)
			}
			if r.Disagree && (r.Significant || r.PHolm > c.Alpha) {
				t.Errorf("×%v %s %s: marked as disagreeing, but significant=%v p=%v", f, r.Runtime, r.Metric.Name, r.Significant, r.PHolm)
			}
		}
	}
}
