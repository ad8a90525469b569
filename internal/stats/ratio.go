package stats

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sort"
	"strings"
)

// RatioCI is the ratio of a runtime's median to the baseline's, with a
// percentile bootstrap confidence interval.
type RatioCI struct {
	// Ratio is median(x)/median(base).
	Ratio float64 `json:"ratio"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	// Level is the confidence level of [Lo, Hi].
	Level     float64 `json:"level"`
	Resamples int     `json:"resamples"`
	Seed      int64   `json:"seed"`
	// Warnings says when a sample is too small for the interval to be
	// trusted.
	Warnings []Warning `json:"warnings,omitempty"`
}

// pcgStream is the second PCG seed word; the caller's seed is the first.
const pcgStream = 0x6973_6f62_656e_6368 // "isobench"

// Ratio estimates median(x)/median(base) and its confidence interval by a
// seeded percentile bootstrap (see the package documentation). Options:
// WithConfidence, WithResamples; an invalid option is an error. Values must
// be finite and non-negative; an empty sample, or a baseline whose median is
// zero in the sample or in any resample, is an error. Samples smaller than
// MinSamples(level) give an interval with a "too-few-samples" warning.
func Ratio(x, base []float64, seed int64, opts ...Option) (RatioCI, error) {
	cfg, problems := newConfig(opts)
	if len(problems) > 0 {
		return RatioCI{}, fmt.Errorf("ratio: %s", strings.Join(problems, "; "))
	}
	xs, err := ratioSample(x)
	if err != nil {
		return RatioCI{}, fmt.Errorf("ratio: runtime sample: %w", err)
	}
	bs, err := ratioSample(base)
	if err != nil {
		return RatioCI{}, fmt.Errorf("ratio: baseline sample: %w", err)
	}
	mb := quantile(bs, 0.5)
	if mb == 0 {
		return RatioCI{}, errors.New("ratio: the baseline median is 0, so the ratio is undefined")
	}
	r := RatioCI{Ratio: quantile(xs, 0.5) / mb, Level: cfg.confidence, Resamples: cfg.resamples, Seed: seed}
	if math.IsInf(r.Ratio, 0) {
		return RatioCI{}, errors.New("ratio: median(x)/median(base) overflows a float64")
	}

	src := rand.NewPCG(uint64(seed), pcgStream)
	reps := make([]float64, cfg.resamples)
	cx, cb := make([]int, len(xs)), make([]int, len(bs))
	zeros := 0
	for i := range reps {
		mx := resampleMedian(src, xs, cx)
		mb := resampleMedian(src, bs, cb)
		if mb == 0 {
			zeros++
			continue
		}
		reps[i] = mx / mb
	}
	if zeros > 0 {
		return RatioCI{}, fmt.Errorf("ratio: the baseline median was 0 in %d of %d bootstrap resamples; too many baseline values are 0 for a ratio", zeros, cfg.resamples)
	}
	sort.Float64s(reps)
	if math.IsInf(reps[len(reps)-1], 0) {
		return RatioCI{}, errors.New("ratio: a bootstrap ratio overflows a float64")
	}
	r.Lo = quantile(reps, (1-cfg.confidence)/2)
	r.Hi = quantile(reps, (1+cfg.confidence)/2)

	need, _ := MinSamples(cfg.confidence)
	if len(xs) < need || len(bs) < need {
		r.Warnings = append(r.Warnings, Warning{
			Code: CodeTooFewSamples,
			Message: fmt.Sprintf("samples of %d and %d values: a bootstrap interval at %s needs at least %d in each to be trusted",
				len(xs), len(bs), pct(cfg.confidence), need),
		})
	}
	return r, nil
}

// ratioSample checks a sample for Ratio and returns it sorted, in a new
// slice.
func ratioSample(values []float64) ([]float64, error) {
	if len(values) == 0 {
		return nil, errors.New("no values")
	}
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("value %d is %v", i, v)
		}
		if v < 0 {
			return nil, fmt.Errorf("value %d is negative (%v); ratios are for non-negative metrics", i, v)
		}
	}
	xs := append([]float64(nil), values...)
	sort.Float64s(xs)
	return xs, nil
}

// resampleMedian draws len(sorted) values from sorted with replacement and
// returns their median. It counts how often each index is drawn, so the
// resample comes out sorted without sorting; counts is scratch space of the
// same length.
func resampleMedian(src *rand.PCG, sorted []float64, counts []int) float64 {
	n := len(sorted)
	clear(counts)
	for range n {
		// Multiply-shift maps a uniform 64-bit word to [0, n) with a bias
		// below n/2⁶⁴, the same on every platform and Go release.
		i, _ := bits.Mul64(src.Uint64(), uint64(n))
		counts[i]++
	}
	lo, hi := (n-1)/2, n/2 // positions of the middle values, from 0
	var a float64
	seen := 0
	for i, c := range counts {
		next := seen + c
		if seen <= lo && lo < next {
			a = sorted[i]
		}
		if seen <= hi && hi < next {
			return lerp(a, sorted[i], 0.5*float64(hi-lo))
		}
		seen = next
	}
	return a // not reached: hi < n
}
