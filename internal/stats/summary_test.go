package stats

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestSummarizeReference(t *testing.T) {
	ref := loadReference(t)
	for _, want := range ref.Summaries {
		t.Run(want.Name, func(t *testing.T) {
			s := Summarize(want.Values)
			if s.N != want.N {
				t.Fatalf("N = %d, want %d", s.N, want.N)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"Mean", s.Mean, want.Mean},
				{"Median", s.Median, want.Median},
				{"Min", s.Min, want.Min},
				{"Max", s.Max, want.Max},
				{"Stddev", s.Stddev, want.Stddev},
				{"CV", s.CV, want.CV},
				{"Q1", s.Q1, want.Q1},
				{"Q3", s.Q3, want.Q3},
				{"P95", s.P95, want.P95},
			} {
				if !approx(f.got, f.want, 1e-12) {
					t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
				}
			}
			if !slices.Equal(s.Outliers, want.Outliers) && !(len(s.Outliers) == 0 && len(want.Outliers) == 0) {
				t.Errorf("Outliers = %v, want %v", s.Outliers, want.Outliers)
			}
			if hasCode(s.Warnings, CodeOutliers) != (len(want.Outliers) > 0) {
				t.Errorf("outlier warning present = %v, want %v: %v", !(len(want.Outliers) > 0), len(want.Outliers) > 0, s.Warnings)
			}
			if hasCode(s.Warnings, CodeHighCV) != (want.CV > DefaultMaxCV) {
				t.Errorf("high-cv warning with CV %v: %v", want.CV, s.Warnings)
			}
			for _, wc := range want.CI {
				ci := Summarize(want.Values, WithConfidence(wc.Level)).CI
				if ci.LoOrder != wc.LoOrder || !approx(ci.Coverage, wc.Coverage, 1e-9) {
					t.Errorf("level %v: order %d coverage %v, want %d %v", wc.Level, ci.LoOrder, ci.Coverage, wc.LoOrder, wc.Coverage)
				}
				if wc.LoOrder > 0 && (ci.Lo != wc.Lo || ci.Hi != wc.Hi || ci.HiOrder != want.N+1-wc.LoOrder) {
					t.Errorf("level %v: interval [%v, %v] (orders %d, %d), want [%v, %v]", wc.Level, ci.Lo, ci.Hi, ci.LoOrder, ci.HiOrder, wc.Lo, wc.Hi)
				}
				if ci.Level != wc.Level {
					t.Errorf("level %v: Level = %v", wc.Level, ci.Level)
				}
			}
		})
	}
}

func TestMedianCITable(t *testing.T) {
	ref := loadReference(t)
	for _, row := range ref.MedianCITable {
		k, cov := medianOrder(row.N, row.Level)
		if k != row.LoOrder || !approx(cov, row.Coverage, 1e-9) {
			t.Errorf("n=%d level=%v: k=%d coverage=%v, want k=%d coverage=%v", row.N, row.Level, k, cov, row.LoOrder, row.Coverage)
		}
		if k > 0 && cov < row.Level-1e-12 {
			t.Errorf("n=%d level=%v: coverage %v below the level", row.N, row.Level, cov)
		}
	}
	for _, row := range ref.MinSamples {
		n, err := MinSamples(row.Level)
		if err != nil || n != row.N {
			t.Errorf("MinSamples(%v) = %d, %v; want %d", row.Level, n, err, row.N)
		}
	}
}

// TestMedianCIByHand checks intervals that can be worked out with pencil:
// with B ~ Binomial(n, ½), P(B ≤ j) = Σ C(n, i)/2ⁿ for i ≤ j.
func TestMedianCIByHand(t *testing.T) {
	for _, tc := range []struct {
		n        int
		level    float64
		k        int
		coverage float64
	}{
		// n=10: P(B ≤ 1) = 11/1024 ≤ 0.025 < P(B ≤ 2) = 56/1024, so
		// [x(2), x(9)] with coverage 1 − 22/1024.
		{10, 0.95, 2, 1 - 22.0/1024},
		// n=6: P(B ≤ 0) = 1/64 ≤ 0.025, so the range, 1 − 2/64.
		{6, 0.95, 1, 1 - 2.0/64},
		// n=5: 1/32 > 0.025: no interval at 95% …
		{5, 0.95, 0, 0},
		// … but exactly enough at level 1 − 2/32 = 0.9375.
		{5, 0.9375, 1, 0.9375},
		// n=20: P(B ≤ 5) = 21700/2²⁰ ≤ 0.025 < P(B ≤ 6) = 60460/2²⁰.
		{20, 0.95, 6, 1 - 2*21700.0/(1<<20)},
		// Levels reached exactly, where the binomial CDF from the
		// incomplete beta function comes out a few ulps high (1/64 as
		// 0.015625000000000007 at n=6): the interval must not be lost.
		{6, 1 - 2.0/64, 1, 1 - 2.0/64},
		{4, 1 - 2.0/16, 1, 1 - 2.0/16},
		{6, 1 - 2*7.0/64, 2, 1 - 2*7.0/64},
		// n=2 at 50%: P(B ≤ 0) = ¼ ≤ ¼.
		{2, 0.5, 1, 0.5},
	} {
		k, cov := medianOrder(tc.n, tc.level)
		if k != tc.k || math.Abs(cov-tc.coverage) > 1e-12 {
			t.Errorf("n=%d level=%v: k=%d coverage=%v, want %d %v", tc.n, tc.level, k, cov, tc.k, tc.coverage)
		}
	}
}

func TestSummarizeEdgeCases(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name   string
		values []float64
		opts   []Option
		n      int
		median float64
		mean   float64
		stddev float64
		ci     bool
		codes  []string // exactly these warning codes, in order
	}{
		{name: "nil", values: nil, codes: []string{CodeTooFewSamples}},
		{name: "one", values: []float64{4}, n: 1, median: 4, mean: 4, codes: []string{CodeTooFewSamples}},
		{name: "two", values: []float64{4, 6}, n: 2, median: 5, mean: 5, stddev: math.Sqrt2,
			codes: []string{CodeTooFewSamples, CodeHighCV}},
		{name: "all equal", values: []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, n: 7, median: 0.1, mean: 0.1, ci: true},
		{name: "all zero", values: []float64{0, 0, 0, 0, 0, 0}, n: 6, ci: true},
		{name: "NaN and Inf dropped", values: []float64{nan, 1, 2, inf, 3, -inf, 4, 5, 6}, n: 6, median: 3.5, mean: 3.5,
			stddev: math.Sqrt(3.5), ci: true, codes: []string{CodeNonFinite, CodeHighCV}},
		{name: "only NaN", values: []float64{nan, nan}, codes: []string{CodeNonFinite, CodeTooFewSamples}},
		{name: "zero mean", values: []float64{-1, 1, -1, 1, -1, 1}, n: 6, stddev: math.Sqrt(1.2), ci: true,
			codes: []string{CodeCVUndefined}},
		{name: "overflowing spread", values: []float64{-math.MaxFloat64, math.MaxFloat64}, n: 2,
			codes: []string{CodeTooFewSamples, CodeOverflow}},
		{name: "bad options", values: []float64{1, 1, 1, 1, 1, 1}, opts: []Option{WithConfidence(1), WithMaxCV(nan), nil}, n: 6, median: 1, mean: 1, ci: true,
			codes: []string{CodeInvalidInput, CodeInvalidInput}},
		{name: "lower confidence", values: []float64{1, 2, 3, 4}, opts: []Option{WithConfidence(0.8)}, n: 4, median: 2.5, mean: 2.5,
			stddev: math.Sqrt(5.0 / 3), ci: true, codes: []string{CodeHighCV}},
		{name: "cv threshold off", values: []float64{1, 2, 3, 4, 5, 6}, opts: []Option{WithMaxCV(math.Inf(1))}, n: 6, median: 3.5, mean: 3.5,
			stddev: math.Sqrt(3.5), ci: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Summarize(tc.values, tc.opts...)
			if s.N != tc.n || s.Median != tc.median || s.Mean != tc.mean || !approx(s.Stddev, tc.stddev, 1e-12) {
				t.Errorf("N=%d Median=%v Mean=%v Stddev=%v, want %d %v %v %v", s.N, s.Median, s.Mean, s.Stddev, tc.n, tc.median, tc.mean, tc.stddev)
			}
			if s.CI.Defined() != tc.ci {
				t.Errorf("CI defined = %v, want %v (%+v)", s.CI.Defined(), tc.ci, s.CI)
			}
			if got := codes(s.Warnings); !slices.Equal(got, tc.codes) {
				t.Errorf("warnings %v, want codes %v", s.Warnings, tc.codes)
			}
			if _, err := json.Marshal(s); err != nil {
				t.Errorf("Summary does not encode as JSON: %v", err)
			}
		})
	}
}

func TestSummarizeMessages(t *testing.T) {
	s := Summarize([]float64{1, 2, 3})
	if w := find(s.Warnings, CodeTooFewSamples); w == nil || !strings.Contains(w.Message, "at least 6") {
		t.Errorf("too-few-samples warning should say 6 are needed: %v", s.Warnings)
	}
	s = Summarize([]float64{10.1, 10.3, 9.9, 10.0, 10.2, 10.1, 9.8, 10.4, 10.0, 10.2, 14.9, 3.0}, WithMaxCV(1))
	if w := find(s.Warnings, CodeOutliers); w == nil || !strings.Contains(w.Message, "2 of 12") ||
		!strings.Contains(w.Message, "3, 14.9") {
		t.Errorf("outliers warning should count and list the values: %v", s.Warnings)
	}
	s = Summarize([]float64{1, 1, 1, 1, 1, 1}, WithConfidence(-2))
	if w := find(s.Warnings, CodeInvalidInput); w == nil || !strings.Contains(w.Message, "-2") {
		t.Errorf("invalid option warning should name the value: %v", s.Warnings)
	}
	if s.CI.Level != DefaultConfidence {
		t.Errorf("invalid level should fall back to %v, got %v", DefaultConfidence, s.CI.Level)
	}
}

func TestSummarizeKeepsInput(t *testing.T) {
	in := []float64{3, 1, 2, math.NaN()}
	Summarize(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 || !math.IsNaN(in[3]) {
		t.Errorf("Summarize changed its input: %v", in)
	}
}

func TestMinSamplesInvalid(t *testing.T) {
	for _, level := range []float64{0, 1, -0.5, 2, math.NaN(), math.Inf(1)} {
		if _, err := MinSamples(level); err == nil {
			t.Errorf("MinSamples(%v) did not fail", level)
		}
	}
}

func TestNeedMore(t *testing.T) {
	// tight: 10 values within ±0.1% of 100; the 95% interval is [x(2), x(9)].
	tight := []float64{99.9, 99.95, 100, 100, 100.02, 100.03, 100.05, 100.06, 100.08, 100.1}
	wide := []float64{80, 90, 95, 100, 105, 110, 120, 130}
	for _, tc := range []struct {
		name   string
		values []float64
		target float64
		conf   float64
		more   bool
		reason string
	}{
		{"empty", nil, 0.01, 0.95, true, "needs at least 6"},
		{"five at 95%", []float64{1, 1, 1, 1, 1}, 0.01, 0.95, true, "needs at least 6"},
		{"five at 90%", []float64{1, 1, 1, 1, 1}, 0.01, 0.9, false, "zero width"},
		{"tight", tight, 0.01, 0.95, false, "within ±0.07%"},
		{"tight, tighter target", tight, 0.0005, 0.95, true, "reaches ±0.07%"},
		{"wide", wide, 0.05, 0.95, true, "reaches ±"},
		{"wide, loose target", wide, 0.5, 0.95, false, "within"},
		{"zero median", []float64{-2, -1, 0, 0, 0, 1, 2}, 0.05, 0.95, true, "median is 0"},
		{"NaN ignored", append([]float64{math.NaN()}, tight...), 0.01, 0.95, false, "n=10"},
		{"bad target", tight, 0, 0.95, false, "invalid target"},
		{"NaN target", tight, math.NaN(), 0.95, false, "invalid target"},
		{"bad confidence", tight, 0.01, 1, false, "invalid confidence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			more, reason := NeedMore(tc.values, tc.target, tc.conf)
			if more != tc.more || !strings.Contains(reason, tc.reason) {
				t.Errorf("NeedMore = %v, %q; want %v and a reason containing %q", more, reason, tc.more, tc.reason)
			}
		})
	}
}

func codes(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Code)
	}
	return out
}

func hasCode(ws []Warning, code string) bool { return find(ws, code) != nil }

func find(ws []Warning, code string) *Warning {
	for i := range ws {
		if ws[i].Code == code {
			return &ws[i]
		}
	}
	return nil
}
