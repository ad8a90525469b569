package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestCompareReference(t *testing.T) {
	ref := loadReference(t)
	for _, want := range ref.MannWhitney {
		t.Run(want.Name, func(t *testing.T) {
			c, err := Compare(want.X, want.Base, 0.05)
			if err != nil {
				t.Fatal(err)
			}
			if c.U != want.U || c.Method != want.Method || c.N1 != len(want.X) || c.N2 != len(want.Base) {
				t.Errorf("U=%v method=%s n=%d+%d, want U=%v method=%s", c.U, c.Method, c.N1, c.N2, want.U, want.Method)
			}
			if !approx(c.P, want.P, 1e-9) {
				t.Errorf("P = %v, want %v", c.P, want.P)
			}
			if c.Significant != (want.P <= 0.05) {
				t.Errorf("Significant = %v with P %v", c.Significant, want.P)
			}
			// Swapping the samples mirrors U and keeps P.
			s, err := Compare(want.Base, want.X, 0.05)
			if err != nil || s.U != float64(c.N1*c.N2)-c.U || !approx(s.P, c.P, 1e-12) {
				t.Errorf("swapped: U=%v P=%v, %v; want U=%v P=%v", s.U, s.P, err, float64(c.N1*c.N2)-c.U, c.P)
			}
		})
	}
}

// TestCompareCriticalValues checks against the published table of critical
// values of U (e.g. Mann and Whitney 1947, and the tables in most
// statistics textbooks): for n1 = n2 = 5 at two-sided α = 0.05 the
// critical value is 2, so U = 2 is significant and U = 3 is not. By hand,
// the number of the C(10, 5) = 252 arrangements with U = 0, 1, 2, 3 is
// 1, 1, 2, 3 (partitions of U into at most 5 parts of at most 5), so the
// two-sided p-values are 2·4/252 and 2·7/252.
func TestCompareCriticalValues(t *testing.T) {
	for _, tc := range []struct {
		x, base []float64
		u, p    float64
		sig     bool
	}{
		{[]float64{1, 2, 3, 4, 7}, []float64{5, 6, 8, 9, 10}, 2, 8.0 / 252, true},
		{[]float64{1, 2, 3, 5, 7}, []float64{4, 6, 8, 9, 10}, 3, 14.0 / 252, false},
		{[]float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 0, 2.0 / 252, true},
	} {
		c, err := Compare(tc.x, tc.base, 0.05)
		if err != nil {
			t.Fatal(err)
		}
		if c.U != tc.u || math.Abs(c.P-tc.p) > 1e-15 || c.Significant != tc.sig || c.Method != MethodExact {
			t.Errorf("Compare(%v, %v) = %+v, want U=%v P=%v significant=%v", tc.x, tc.base, c, tc.u, tc.p, tc.sig)
		}
	}
}

// TestUCDFEnumeration checks the recurrence against counting U over every
// way of choosing which of n1+n2 ranks belong to the first sample.
func TestUCDFEnumeration(t *testing.T) {
	for n1 := 1; n1 <= 6; n1++ {
		for n2 := 1; n2 <= 7; n2++ {
			nn := n1 + n2
			counts := make([]float64, n1*n2+1)
			total := 0.0
			for mask := 0; mask < 1<<nn; mask++ {
				if popcount(mask) != n1 {
					continue
				}
				// U = pairs (first, second) with first ranked above.
				u, below := 0, 0
				for r := 0; r < nn; r++ {
					if mask&(1<<r) != 0 {
						u += below
					} else {
						below++
					}
				}
				counts[u]++
				total++
			}
			cum := 0.0
			for u := range counts {
				cum += counts[u]
				if got := uCDF(n1, n2, u); math.Abs(got-cum/total) > 1e-14 {
					t.Errorf("uCDF(%d, %d, %d) = %v, want %v", n1, n2, u, got, cum/total)
				}
			}
		}
	}
}

func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func TestCompareEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name    string
		x, base []float64
		alpha   float64
		err     string
		p       float64
		sig     bool
		codes   []string
	}{
		{name: "all equal", x: []float64{2, 2, 2, 2}, base: []float64{2, 2, 2}, alpha: 0.05, p: 1, codes: []string{CodeSamplesEqual, CodeTooFewSamples}},
		{name: "all equal, larger", x: []float64{5, 5, 5, 5, 5, 5, 5, 5}, base: []float64{5, 5, 5, 5, 5, 5, 5, 5}, alpha: 0.05, p: 1, codes: []string{CodeSamplesEqual}},
		{name: "one each", x: []float64{1}, base: []float64{2}, alpha: 0.05, p: 1, codes: []string{CodeTooFewSamples}},
		{name: "3v3 apart", x: []float64{1, 2, 3}, base: []float64{4, 5, 6}, alpha: 0.05, p: 0.1, codes: []string{CodeTooFewSamples}},
		{name: "3v3 apart, alpha 0.1", x: []float64{1, 2, 3}, base: []float64{4, 5, 6}, alpha: 0.1, p: 0.1, sig: true},
		{name: "4v4 apart", x: []float64{1, 2, 3, 4}, base: []float64{5, 6, 7, 8}, alpha: 0.05, p: 2.0 / 70, sig: true},
		// U = 6; of the C(8, 4) = 70 arrangements, 1+1+2+3+5+5+7 = 24 have
		// U ≤ 6 (partitions into at most 4 parts of at most 4).
		{name: "4v4 mixed", x: []float64{1, 3, 5, 7}, base: []float64{2, 4, 6, 8}, alpha: 0.05, p: 2 * 24.0 / 70},
		{name: "empty x", x: nil, base: []float64{1}, alpha: 0.05, err: "runtime sample: no values"},
		{name: "empty base", x: []float64{1}, base: nil, alpha: 0.05, err: "baseline sample: no values"},
		{name: "NaN", x: []float64{1, math.NaN()}, base: []float64{1}, alpha: 0.05, err: "value 1 is NaN"},
		{name: "Inf", x: []float64{1}, base: []float64{math.Inf(-1)}, alpha: 0.05, err: "value 0 is -Inf"},
		{name: "alpha 0", x: []float64{1}, base: []float64{2}, alpha: 0, err: "alpha 0"},
		{name: "alpha NaN", x: []float64{1}, base: []float64{2}, alpha: math.NaN(), err: "alpha NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(tc.x, tc.base, tc.alpha)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("Compare = %+v, %v; want an error containing %q", c, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(c.P-tc.p) > 1e-12 || c.Significant != tc.sig {
				t.Errorf("P=%v significant=%v, want %v %v", c.P, c.Significant, tc.p, tc.sig)
			}
			if got := codes(c.Warnings); !slices.Equal(got, tc.codes) {
				t.Errorf("warnings %v, want codes %v", c.Warnings, tc.codes)
			}
		})
	}
}

func TestFormatDelta(t *testing.T) {
	sig := Comparison{Significant: true}
	for _, tc := range []struct {
		c       Comparison
		base, x float64
		want    string
	}{
		{Comparison{Significant: false, P: 0.2}, 100, 150, "~"},
		{sig, 100, 112.345, "+12.35%"},
		{sig, 100, 90, "-10.00%"},
		{sig, 5, 5, "0.00%"},
		{sig, 0, 1, "?"},
	} {
		if got := tc.c.FormatDelta(tc.base, tc.x); got != tc.want {
			t.Errorf("FormatDelta(%v, %v) with significant=%v = %q, want %q", tc.base, tc.x, tc.c.Significant, got, tc.want)
		}
	}
}

// TestHolmTextbook is the worked example of the Wikipedia article
// "Holm–Bonferroni method" (section "Example"): p = 0.01, 0.04, 0.03, 0.005
// at α = 0.05. Sorted, 0.005 ≤ 0.05/4 and 0.01 ≤ 0.05/3 are rejected, then
// 0.03 > 0.05/2 stops the procedure: H1 and H4 are rejected. The adjusted
// values are 4·0.005, 3·0.01, max(3·0.01, 2·0.03), max(0.06, 0.04).
func TestHolmTextbook(t *testing.T) {
	reject, adj, err := Holm([]float64{0.01, 0.04, 0.03, 0.005}, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, false, true}; !slices.Equal(reject, want) {
		t.Errorf("reject = %v, want %v", reject, want)
	}
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if math.Abs(adj[i]-want[i]) > 1e-15 {
			t.Errorf("adjusted = %v, want %v", adj, want)
			break
		}
	}
}

// TestHolmReference compares with statsmodels' multipletests(method="holm").
func TestHolmReference(t *testing.T) {
	ref := loadReference(t)
	for _, want := range ref.Holm {
		t.Run(want.Name, func(t *testing.T) {
			reject, adj, err := Holm(want.P, want.Alpha)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(reject, want.Reject) {
				t.Errorf("reject = %v, want %v", reject, want.Reject)
			}
			for i := range adj {
				if !approx(adj[i], want.Adjusted[i], 1e-12) {
					t.Errorf("adjusted[%d] = %v, want %v", i, adj[i], want.Adjusted[i])
				}
			}
		})
	}
}

func TestHolmEdgeCases(t *testing.T) {
	reject, adj, err := Holm(nil, 0.05)
	if err != nil || len(reject) != 0 || len(adj) != 0 {
		t.Errorf("Holm(nil) = %v, %v, %v", reject, adj, err)
	}
	reject, adj, err = Holm([]float64{0.04}, 0.05)
	if err != nil || !reject[0] || adj[0] != 0.04 {
		t.Errorf("one p-value is not adjusted: %v, %v, %v", reject, adj, err)
	}
	for _, tc := range []struct {
		p     []float64
		alpha float64
		want  string
	}{
		{[]float64{0.1, math.NaN()}, 0.05, "p-value 1 is NaN"},
		{[]float64{-0.1}, 0.05, "p-value 0 is -0.1"},
		{[]float64{1.5}, 0.05, "p-value 0 is 1.5"},
		{[]float64{0.1}, 1, "alpha 1"},
	} {
		if _, _, err := Holm(tc.p, tc.alpha); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Holm(%v, %v) error %v, want one containing %q", tc.p, tc.alpha, err, tc.want)
		}
	}
}

// TestTiedExactEnumeration checks the exact tied distribution against
// counting U over every way of choosing which n1 of the pooled values
// form the first sample, for samples with ties of every shape.
func TestTiedExactEnumeration(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		n1, n2 := 1+rng.IntN(7), 1+rng.IntN(7)
		levels := 1 + rng.IntN(4) // few distinct values: many ties
		x, base := make([]float64, n1), make([]float64, n2)
		for i := range x {
			x[i] = float64(rng.IntN(levels))
		}
		for i := range base {
			base[i] = float64(rng.IntN(levels) + rng.IntN(2))
		}
		pooled := append(append([]float64{}, x...), base...)
		u, tieSum, groups := uStatistic(x, base)
		if tieSum == 0 || groups == 1 {
			continue
		}
		var total, lower, upper float64
		for mask := 0; mask < 1<<len(pooled); mask++ {
			if popcount(mask) != n1 {
				continue
			}
			var a, b []float64
			for i, v := range pooled {
				if mask&(1<<i) != 0 {
					a = append(a, v)
				} else {
					b = append(b, v)
				}
			}
			ua, _, _ := uStatistic(a, b)
			total++
			if ua <= u {
				lower++
			}
			if ua >= u {
				upper++
			}
		}
		want := min(1, 2*min(lower, upper)/total)
		c, err := Compare(x, base, 0.05)
		if err != nil {
			t.Fatal(err)
		}
		if c.Method != MethodExact || math.Abs(c.P-want) > 1e-12 {
			t.Errorf("Compare(%v, %v): P=%v method %s, want %v by enumeration", x, base, c.P, c.Method, want)
		}
	}
}

// TestTiedExact holds the cases that made the normal approximation wrong
// for sysbench's 10 µs steps, and values of benchstat's U test (the exact
// tied distribution of go-moremath, as benchstat uses) where its two-sided
// rule and this one agree.
func TestTiedExact(t *testing.T) {
	for _, tc := range []struct {
		name    string
		x, base []float64
		p       float64
		method  string
	}{
		// Entirely apart: the smallest p-value n = 6 + 6 allows, 2/924
		// (the normal approximation said 0.0045 and 0.0013).
		{"latency steps 6v6", []float64{710, 710, 720, 720, 720, 730}, []float64{740, 740, 750, 750, 760, 760}, 2.0 / 924, MethodExact},
		{"two values 6v6", []float64{1, 1, 1, 1, 1, 1}, []float64{2, 2, 2, 2, 2, 2}, 2.0 / 924, MethodExact},
		// benchstat: 0.1774891774891775.
		{"overlapping 6v6", []float64{1, 2, 2, 2, 2, 3}, []float64{2, 2, 3, 3, 3, 3}, 0.1774891774891775, MethodExact},
		// An asymmetric tie pattern, where benchstat's library says
		// p = 1.5: the only other arrangement has probability 3/4.
		{"asymmetric ties 1v3", []float64{2}, []float64{1, 1, 1}, 0.5, MethodExact},
		// Past TiesExactLimit: the normal approximation.
		{"ties 26v26", ladder(26, 0), ladder(26, 1), -1, MethodNormal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(tc.x, tc.base, 0.05)
			if err != nil {
				t.Fatal(err)
			}
			if c.Method != tc.method || (tc.p >= 0 && math.Abs(c.P-tc.p) > 1e-12) {
				t.Errorf("P=%v method %s, want %v %s", c.P, c.Method, tc.p, tc.method)
			}
			if !(c.P > 0 && c.P <= 1) {
				t.Errorf("P=%v is not a probability", c.P)
			}
		})
	}
}

// ladder returns n values in steps of 10 with every value twice, shifted.
func ladder(n int, shift float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 700 + 10*float64(i/2) + 10*shift
	}
	return out
}
