package stats

import (
	"math"
	"testing"
)

func TestTail(t *testing.T) {
	var xs []float64
	for i := 1; i <= 100; i++ {
		xs = append(xs, float64(i))
	}
	tests := []struct {
		name     string
		values   []float64
		n        int
		p95, p99 bool
	}{
		{"empty", nil, 0, false, false},
		{"19 values", xs[:19], 19, false, false},
		{"20 values", xs[:20], 20, true, false},
		{"100 values", xs, 100, true, true},
		{"non-finite left out", append([]float64{math.NaN(), math.Inf(1)}, xs[:20]...), 20, true, false},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) {
			got := Tail(c.values)
			if got.N != c.n || got.HasP95 != c.p95 || got.HasP99 != c.p99 {
				t.Errorf("Tail = %+v, want n %d, p95 %v, p99 %v", got, c.n, c.p95, c.p99)
			}
		})
	}
	// Definition 7 on 1..100: p95 = 1 + 0.95·99 = 95.05, p99 = 99.01.
	got := Tail(xs)
	if math.Abs(got.P95-95.05) > 1e-9 || math.Abs(got.P99-99.01) > 1e-9 || got.Median != 50.5 || got.Max != 100 {
		t.Errorf("Tail(1..100) = %+v", got)
	}
}
