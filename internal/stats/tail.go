package stats

// Minimum pooled values for a tail percentile: with fewer, the percentile
// is mostly the largest value seen, and Tail leaves it out.
const (
	MinValuesP95 = 20
	MinValuesP99 = 100
)

// TailSummary describes the tail of a pool of single values (every
// sandbox start of every trial of a cell, say): descriptive figures, with
// no interval, since the pooled values are not independent trials.
type TailSummary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	// P95 and P99 are the 95th and 99th percentiles (definition 7, as in
	// Summarize); HasP95 and HasP99 say whether the pool had enough values
	// (MinValuesP95, MinValuesP99).
	P95    float64 `json:"p95,omitempty"`
	P99    float64 `json:"p99,omitempty"`
	HasP95 bool    `json:"has_p95"`
	HasP99 bool    `json:"has_p99"`
	Max    float64 `json:"max"`
}

// Tail summarizes a pool of values. Non-finite values are left out.
func Tail(values []float64) TailSummary {
	xs, _ := finiteSorted(values)
	t := TailSummary{N: len(xs)}
	if t.N == 0 {
		return t
	}
	t.Median = quantile(xs, 0.5)
	t.Max = xs[len(xs)-1]
	if t.N >= MinValuesP95 {
		t.P95, t.HasP95 = quantile(xs, 0.95), true
	}
	if t.N >= MinValuesP99 {
		t.P99, t.HasP99 = quantile(xs, 0.99), true
	}
	return t
}
