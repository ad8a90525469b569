package stats

import (
	"math/rand/v2"
	"testing"
)

func sample30(seed uint64, center float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0))
	xs := make([]float64, 30)
	for i := range xs {
		xs[i] = center * (1 + 0.02*rng.NormFloat64())
	}
	return xs
}

func BenchmarkSummarize30(b *testing.B) {
	xs := sample30(1, 1500)
	for b.Loop() {
		Summarize(xs)
	}
}

func BenchmarkRatio30(b *testing.B) {
	x, base := sample30(2, 1450), sample30(3, 1500)
	for b.Loop() {
		if _, err := Ratio(x, base, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompare30(b *testing.B) {
	x, base := sample30(4, 1450), sample30(5, 1500)
	for b.Loop() {
		if _, err := Compare(x, base, 0.05); err != nil {
			b.Fatal(err)
		}
	}
}
