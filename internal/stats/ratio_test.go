package stats

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestRatioReference compares the bootstrap with SciPy's
// stats.bootstrap(method="percentile") on the same data. The two use
// different random streams, so the ends agree only within Monte Carlo
// error: over 200 seeds, the ends from this package scatter with a standard
// deviation below 1% of the interval's width and their mean lies within 0.5%
// of the width from SciPy's. The tolerance, 5% of the width, is several
// times that, and far less than the shift a different method would make (the
// basic bootstrap moves these ends by about 20% of the width).
func TestRatioReference(t *testing.T) {
	ref := loadReference(t)
	for _, want := range ref.Bootstrap {
		t.Run(want.Name, func(t *testing.T) {
			got, err := Ratio(want.X, want.Base, 7, WithResamples(want.Resamples), WithConfidence(want.Level))
			if err != nil {
				t.Fatal(err)
			}
			if !approx(got.Ratio, want.Ratio, 1e-12) {
				t.Errorf("Ratio = %v, want %v", got.Ratio, want.Ratio)
			}
			tol := 0.05 * (want.Hi - want.Lo)
			if math.Abs(got.Lo-want.Lo) > tol || math.Abs(got.Hi-want.Hi) > tol {
				t.Errorf("interval [%v, %v], want [%v, %v] ± %v", got.Lo, got.Hi, want.Lo, want.Hi, tol)
			}
			if got.Level != want.Level || got.Resamples != want.Resamples || got.Seed != 7 || len(got.Warnings) != 0 {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestRatioDeterministic(t *testing.T) {
	x := []float64{1.21, 1.19, 1.25, 1.22, 1.18, 1.3, 1.2, 1.23, 1.24, 1.17, 1.26, 1.2}
	base := []float64{1.01, 0.99, 1.0, 1.02, 0.98, 1.03, 1.0, 0.97, 1.01, 1.04}
	first, err := Ratio(x, base, 42)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Ratio(x, base, 42)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, again) {
		t.Errorf("same seed, different results: %+v and %+v", first, again)
	}
	differs := false
	for seed := int64(43); seed < 53; seed++ {
		r, err := Ratio(x, base, seed)
		if err != nil {
			t.Fatal(err)
		}
		if r.Ratio != first.Ratio {
			t.Errorf("seed %d changed the point estimate", seed)
		}
		differs = differs || r.Lo != first.Lo || r.Hi != first.Hi
	}
	if !differs {
		t.Error("ten other seeds all gave the interval of seed 42: the seed is not used")
	}
	// The input order must not matter: the bootstrap sorts a copy.
	rev := append([]float64(nil), x...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	r, err := Ratio(rev, base, 42)
	if err != nil || !reflect.DeepEqual(r, first) {
		t.Errorf("reordered input changed the result: %+v, %v", r, err)
	}
	if x[0] != 1.21 || x[len(x)-1] != 1.2 {
		t.Error("Ratio changed its input")
	}
}

// TestRatioContainsEstimate checks on many random samples that the interval
// contains the point estimate. This holds for the percentile bootstrap of a
// ratio of medians because a resampled median is at most the sample's median
// with probability at least about ½, so at least about ¼ of the resampled
// ratios lie on each side of the estimate.
func TestRatioContainsEstimate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	draw := []func() float64{
		func() float64 { return 100 + 5*rng.NormFloat64() },
		func() float64 { return 1 + rng.ExpFloat64() },
		func() float64 { return float64(1 + rng.IntN(4)) }, // heavy ties
		func() float64 { return math.Exp(2 * rng.NormFloat64()) },
	}
	for i := range 300 {
		gx, gb := draw[i%len(draw)], draw[(i/len(draw))%len(draw)]
		x := make([]float64, 2+rng.IntN(40))
		base := make([]float64, 2+rng.IntN(40))
		for j := range x {
			x[j] = gx()
		}
		for j := range base {
			base[j] = gb()
		}
		r, err := Ratio(x, base, int64(i), WithResamples(500), WithConfidence([]float64{0.8, 0.95, 0.99}[i%3]))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !(r.Lo <= r.Ratio && r.Ratio <= r.Hi) {
			t.Errorf("case %d: estimate %v outside [%v, %v] (x=%v base=%v)", i, r.Ratio, r.Lo, r.Hi, x, base)
		}
	}
}

func TestRatioErrors(t *testing.T) {
	good := []float64{1, 2, 3, 4, 5, 6}
	for _, tc := range []struct {
		name    string
		x, base []float64
		opts    []Option
		want    string
	}{
		{"empty x", nil, good, nil, "runtime sample: no values"},
		{"empty base", good, []float64{}, nil, "baseline sample: no values"},
		{"zero baseline", good, []float64{0, 0, 0, 1, 2}, nil, "baseline median is 0"},
		{"zero baseline in resamples", good, []float64{0, 0, 0, 0, 1, 1, 1, 1, 1}, nil, "bootstrap resamples"},
		{"NaN", []float64{1, math.NaN()}, good, nil, "value 1 is NaN"},
		{"Inf base", good, []float64{1, math.Inf(1)}, nil, "baseline sample: value 1 is +Inf"},
		{"negative", []float64{1, -2}, good, nil, "negative"},
		{"overflow", []float64{math.MaxFloat64}, []float64{0.5}, nil, "overflows"},
		{"bad confidence", good, good, []Option{WithConfidence(0)}, "confidence level 0"},
		{"bad resamples", good, good, []Option{WithResamples(10)}, "10 resamples"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Ratio(tc.x, tc.base, 1, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Ratio = %+v, %v; want an error containing %q", r, err, tc.want)
			}
		})
	}
}

func TestRatioWarnings(t *testing.T) {
	for _, tc := range []struct {
		n     int
		level float64
		warn  bool
	}{
		{1, 0.95, true}, {5, 0.95, true}, {6, 0.95, false}, {7, 0.99, true}, {8, 0.99, false},
	} {
		x := make([]float64, tc.n)
		for i := range x {
			x[i] = float64(10 + i)
		}
		r, err := Ratio(x, []float64{9, 10, 11, 12, 13, 14, 15, 16}, 3, WithConfidence(tc.level))
		if err != nil {
			t.Fatalf("n=%d: %v", tc.n, err)
		}
		if hasCode(r.Warnings, CodeTooFewSamples) != tc.warn {
			t.Errorf("n=%d level=%v: warnings %v, want too-few-samples: %v", tc.n, tc.level, r.Warnings, tc.warn)
		}
	}
	// A one-value sample bootstraps to a single ratio.
	r, err := Ratio([]float64{3}, []float64{2}, 1)
	if err != nil || r.Ratio != 1.5 || r.Lo != 1.5 || r.Hi != 1.5 {
		t.Errorf("Ratio([3], [2]) = %+v, %v", r, err)
	}
}

// TestResampleMedian checks the counting shortcut against sorting the
// drawn values.
func TestResampleMedian(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7, 30} {
		sorted := make([]float64, n)
		for i := range sorted {
			sorted[i] = float64(i * i)
		}
		a, b := rand.NewPCG(9, uint64(n)), rand.NewPCG(9, uint64(n))
		counts := make([]int, n)
		for range 50 {
			got := resampleMedian(a, sorted, counts)
			clear(counts)
			drawn := make([]float64, 0, n)
			for range n {
				i, _ := bits.Mul64(b.Uint64(), uint64(n))
				drawn = append(drawn, sorted[i])
			}
			slices.Sort(drawn)
			want := quantile(drawn, 0.5)
			if got != want {
				t.Fatalf("n=%d: resampled median %v, want %v", n, got, want)
			}
		}
	}
}
