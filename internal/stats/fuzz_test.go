package stats

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzSummarize feeds arbitrary float64 bit patterns (NaNs, infinities,
// subnormals, extremes) and option values to Summarize and checks that it
// never panics and that its summary is consistent.
func FuzzSummarize(f *testing.F) {
	seed := func(conf, maxCV float64, xs ...float64) {
		b := make([]byte, 8*len(xs))
		for i, x := range xs {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
		}
		f.Add(b, conf, maxCV)
	}
	seed(0.95, 0.05)
	seed(0.95, 0.05, 1)
	seed(0.95, 0.05, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100)
	seed(0.5, 0, math.NaN(), math.Inf(1), -math.MaxFloat64, math.MaxFloat64, 5e-324)
	seed(math.NaN(), -1, 0, 0, 0, 0, 0, 0)
	f.Fuzz(func(t *testing.T, data []byte, conf, maxCV float64) {
		xs := make([]float64, len(data)/8)
		for i := range xs {
			xs[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
		}
		checkSummary(t, xs, conf, maxCV)
	})
}

// TestSummarizeInvariants runs the fuzz target's checks on seeded random
// samples mixed with the values that break naive code, so that every test
// run covers them, not only fuzzing runs.
func TestSummarizeInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	special := []float64{0, math.Copysign(0, -1), 5e-324, -5e-324, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, 1e154, -1e154, math.NaN(), math.Inf(1), math.Inf(-1), 1, 1}
	levels := []float64{0.95, 0.5, 0.999999, 1e-300, 1, 0, math.NaN(), -3}
	for i := range 3000 {
		xs := make([]float64, rng.IntN(40))
		for j := range xs {
			switch rng.IntN(4) {
			case 0:
				xs[j] = special[rng.IntN(len(special))]
			case 1:
				xs[j] = math.Float64frombits(rng.Uint64())
			default:
				xs[j] = 100 + 10*rng.NormFloat64()
			}
		}
		checkSummary(t, xs, levels[i%len(levels)], []float64{0.05, 0, math.Inf(1), math.NaN()}[i%4])
	}
}

func checkSummary(t *testing.T, xs []float64, conf, maxCV float64) {
	t.Helper()
	finite := 0
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			finite++
		}
	}
	s := Summarize(xs, WithConfidence(conf), WithMaxCV(maxCV))
	if s.N != finite {
		t.Fatalf("N = %d, want %d", s.N, finite)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Fatalf("summary of %v holds a non-finite value: %v (%+v)", xs, err, s)
	}
	if s.N == 0 {
		return
	}
	in := func(v float64) bool { return s.Min <= v && v <= s.Max }
	for _, v := range []float64{s.Median, s.Mean, s.Q1, s.Q3, s.P95} {
		if !in(v) {
			t.Fatalf("statistic %v outside [%v, %v]: %+v", v, s.Min, s.Max, s)
		}
	}
	if !(s.Q1 <= s.Median && s.Median <= s.Q3 && s.Q3 <= s.P95) {
		t.Fatalf("quantiles out of order: %+v", s)
	}
	if s.Stddev < 0 || s.CV < 0 {
		t.Fatalf("negative spread: %+v", s)
	}
	if s.CI.Defined() {
		if !(s.CI.Lo <= s.Median && s.Median <= s.CI.Hi) || s.CI.LoOrder+s.CI.HiOrder != s.N+1 ||
			s.CI.Coverage < s.CI.Level-1e-9 {
			t.Fatalf("bad interval %+v for median %v", s.CI, s.Median)
		}
	} else if !hasCode(s.Warnings, CodeTooFewSamples) {
		t.Fatalf("no interval and no warning: %+v", s)
	}
	if len(s.Outliers) > s.N {
		t.Fatalf("more outliers than values: %+v", s)
	}
}
