package stats

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Interval is a distribution-free confidence interval of the median, bounded
// by two order statistics of the sample.
type Interval struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	// Level is the confidence level asked for.
	Level float64 `json:"level"`
	// Coverage is the exact confidence of [Lo, Hi] for a continuous
	// distribution, 1 − 2·P(B ≤ LoOrder−1) with B ~ Binomial(N, ½). It is
	// at least Level (up to rounding), and 0 when there is no interval.
	Coverage float64 `json:"coverage"`
	// LoOrder and HiOrder are the 1-based order statistics that bound the
	// interval, with HiOrder = N+1−LoOrder; both are 0 when the sample is
	// too small for an interval at Level.
	LoOrder int `json:"lo_order"`
	HiOrder int `json:"hi_order"`
}

// Defined reports whether the sample was large enough for an interval.
func (i Interval) Defined() bool { return i.LoOrder > 0 }

// Summary describes one sample. Fields that need more values than the
// sample has (Stddev and CV below two values, CI below MinSamples) are 0,
// with a warning. A Summary holds no NaN or ±Inf.
type Summary struct {
	// N counts the finite values summarized.
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Stddev is the sample standard deviation (n−1 denominator).
	Stddev float64 `json:"stddev"`
	// CV is Stddev/|Mean|, a fraction (0.05 is 5%).
	CV float64 `json:"cv"`
	// Q1, Q3 and P95 are the 25th, 75th and 95th percentiles.
	Q1  float64 `json:"q1"`
	Q3  float64 `json:"q3"`
	P95 float64 `json:"p95"`
	// CI is the confidence interval of the median.
	CI Interval `json:"ci"`
	// Outliers lists, in ascending order, the values beyond Tukey's fences
	// Q1 − 1.5·IQR and Q3 + 1.5·IQR. They are not removed from the
	// statistics.
	Outliers []float64 `json:"outliers,omitempty"`
	Warnings []Warning `json:"warnings,omitempty"`
}

func (s *Summary) warn(code, format string, args ...any) {
	s.Warnings = append(s.Warnings, Warning{Code: code, Message: fmt.Sprintf(format, args...)})
}

// Summarize describes values (which it does not modify). Options:
// WithConfidence for the interval of the median, WithMaxCV for the
// "high-cv" warning. An invalid option is replaced by its default, with a
// warning.
func Summarize(values []float64, opts ...Option) Summary {
	cfg, problems := newConfig(opts)
	var s Summary
	for _, p := range problems {
		s.warn(CodeInvalidInput, "%s", p)
	}
	xs, dropped := finiteSorted(values)
	if dropped != "" {
		s.warn(CodeNonFinite, "left out %s", dropped)
	}
	n := len(xs)
	s.N = n
	s.CI.Level = cfg.confidence
	if n == 0 {
		need, _ := MinSamples(cfg.confidence)
		s.warn(CodeTooFewSamples, "no values to summarize; a %s confidence interval of the median needs at least %d", pct(cfg.confidence), need)
		return s
	}

	s.Min, s.Max = xs[0], xs[n-1]
	s.Median = quantile(xs, 0.5)
	s.Q1 = quantile(xs, 0.25)
	s.Q3 = quantile(xs, 0.75)
	s.P95 = quantile(xs, 0.95)
	s.CI = medianCI(xs, cfg.confidence)
	if !s.CI.Defined() {
		need, _ := MinSamples(cfg.confidence)
		s.warn(CodeTooFewSamples, "a sample of %d is too small for a %s confidence interval of the median; it needs at least %d values", n, pct(cfg.confidence), need)
	}

	s.Mean = mean(xs)
	if s.Min == s.Max {
		s.Mean = s.Min
	} else if n >= 2 {
		v := stat.Variance(xs, nil)
		switch {
		case math.IsInf(v, 0):
			s.warn(CodeOverflow, "the standard deviation is too large for a float64; reported as 0")
		case v > 0: // rounding can make a tiny variance negative
			s.Stddev = math.Sqrt(v)
		}
	}
	if s.Stddev > 0 {
		cv := s.Stddev / math.Abs(s.Mean)
		if s.Mean == 0 || math.IsInf(cv, 0) {
			s.warn(CodeCVUndefined, "the mean is 0 (or too close to it), so the coefficient of variation is undefined")
		} else {
			s.CV = cv
		}
	}
	if s.CV > cfg.maxCV {
		s.warn(CodeHighCV, "coefficient of variation %.1f%% exceeds %s: the measurements are noisy", 100*s.CV, pct(cfg.maxCV))
	}

	iqr := s.Q3 - s.Q1
	lo, hi := s.Q1-1.5*iqr, s.Q3+1.5*iqr
	for _, x := range xs {
		if x < lo || x > hi {
			s.Outliers = append(s.Outliers, x)
		}
	}
	if k := len(s.Outliers); k > 0 {
		s.warn(CodeOutliers, "%d of %d values outside Tukey's fences [%s, %s] (1.5×IQR beyond the quartiles): %s",
			k, n, num(lo), num(hi), list(s.Outliers, 10))
	}
	return s
}

// MinSamples returns the smallest sample size that has a confidence interval
// of the median at the given level (6 at 0.95, 8 at 0.99).
func MinSamples(level float64) (int, error) {
	if !validLevel(level) {
		return 0, fmt.Errorf("confidence level %v is not in (0, 1)", level)
	}
	// 1−level ≥ 2⁻⁵³ for any level < 1, so n ≤ 55 always ends the loop.
	for n := 1; ; n++ {
		if k, _ := medianOrder(n, level); k > 0 {
			return n, nil
		}
	}
}

// NeedMore says whether a cell needs more trials to measure its median to
// within targetRelHalfWidth (a fraction: 0.02 is ±2%) at confidence conf,
// and why. It is true while the values (non-finite ones are ignored) are too
// few for an interval of the median, or while the larger half-width of the
// interval, max(median−lo, hi−median), exceeds targetRelHalfWidth·|median|.
// Invalid parameters give false, so that a bad setting cannot make a run go
// on forever; the reason names the parameter.
//
// NeedMore judges a single look. Asked after every trial, with a stop the
// first time the interval is within the target, it stops too early for the
// reported interval to keep its level (in simulation a 95% interval covered
// the median in as few as 93.6% of runs); the adaptive stop uses
// [AdaptiveNeedMore] instead.
func NeedMore(values []float64, targetRelHalfWidth, conf float64) (bool, string) {
	if !(targetRelHalfWidth > 0) || math.IsInf(targetRelHalfWidth, 0) {
		return false, fmt.Sprintf("invalid target relative half-width %v: it must be a positive number", targetRelHalfWidth)
	}
	if !validLevel(conf) {
		return false, fmt.Sprintf("invalid confidence level %v: it must be in (0, 1)", conf)
	}
	xs, _ := finiteSorted(values)
	ci := medianCI(xs, conf)
	if !ci.Defined() {
		need, _ := MinSamples(conf)
		return true, fmt.Sprintf("%d values; a %s interval of the median needs at least %d", len(xs), pct(conf), need)
	}
	med := quantile(xs, 0.5)
	hw := max(med-ci.Lo, ci.Hi-med)
	if hw == 0 {
		return false, fmt.Sprintf("the %s interval of the median has zero width (n=%d)", pct(conf), len(xs))
	}
	if med == 0 {
		return true, fmt.Sprintf("the median is 0, so the interval's relative half-width is undefined (n=%d)", len(xs))
	}
	rel := hw / math.Abs(med)
	if rel > targetRelHalfWidth {
		return true, fmt.Sprintf("the %s interval of the median reaches ±%.2f%%, target ±%.2f%% (n=%d)", pct(conf), 100*rel, 100*targetRelHalfWidth, len(xs))
	}
	return false, fmt.Sprintf("the %s interval of the median is within ±%.2f%%, target ±%.2f%% (n=%d)", pct(conf), 100*rel, 100*targetRelHalfWidth, len(xs))
}

// medianCI returns the order-statistic interval of the median of sorted.
func medianCI(sorted []float64, level float64) Interval {
	n := len(sorted)
	ci := Interval{Level: level}
	k, cov := medianOrder(n, level)
	if k == 0 {
		return ci
	}
	ci.LoOrder, ci.HiOrder, ci.Coverage = k, n+1-k, cov
	ci.Lo, ci.Hi = sorted[k-1], sorted[n-k]
	return ci
}

// medianOrder returns the largest k ≤ (n+1)/2 with P(B ≤ k−1) ≤ (1−level)/2,
// B ~ Binomial(n, ½), and the coverage 1 − 2·P(B ≤ k−1) of [x(k), x(n+1−k)];
// k = 0 when even k = 1 fails.
func medianOrder(n int, level float64) (k int, coverage float64) {
	if n < 1 || !validLevel(level) {
		return 0, 0
	}
	b := distuv.Binomial{N: float64(n), P: 0.5}
	// The tolerance keeps a level that is exactly attainable (such as
	// 1 − 2⁻⁴ at n = 5) from being lost to rounding in the CDF.
	tail := (1 - level) / 2 * (1 + 1e-9)
	ok := func(k int) bool { return b.CDF(float64(k-1)) <= tail }
	// ok is true up to some k and false after it: find the last true.
	k = sort.Search((n+1)/2, func(i int) bool { return !ok(i + 1) })
	if k == 0 {
		return 0, 0
	}
	return k, 1 - 2*b.CDF(float64(k-1))
}

// quantile returns the p-quantile of sorted (non-empty) by linear
// interpolation between order statistics: Hyndman and Fan's definition 7,
// NumPy's and R's default.
func quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	h := p * float64(n-1)
	i := int(math.Floor(h))
	if i >= n-1 {
		return sorted[n-1]
	}
	return lerp(sorted[i], sorted[i+1], h-float64(i))
}

// lerp interpolates between a ≤ b without overflowing and without leaving
// [a, b].
func lerp(a, b, f float64) float64 {
	if f == 0 || a == b {
		return a
	}
	v := a + f*(b-a)
	if math.IsInf(v, 0) || math.IsNaN(v) { // b−a overflowed
		v = a*(1-f) + b*f
	}
	return min(max(v, a), b)
}

// mean returns the mean of sorted (non-empty), within [min, max].
func mean(sorted []float64) float64 {
	n := float64(len(sorted))
	m := stat.Mean(sorted, nil)
	if math.IsInf(m, 0) || math.IsNaN(m) { // the sum overflowed
		m = 0
		for _, x := range sorted {
			m += x / n
		}
	}
	return min(max(m, sorted[0]), sorted[len(sorted)-1])
}

// finiteSorted returns the finite values sorted, in a new slice, and a
// description of the others ("" when there are none).
func finiteSorted(values []float64) ([]float64, string) {
	xs := make([]float64, 0, len(values))
	var nan, pinf, ninf int
	for _, x := range values {
		switch {
		case math.IsNaN(x):
			nan++
		case math.IsInf(x, 1):
			pinf++
		case math.IsInf(x, -1):
			ninf++
		default:
			xs = append(xs, x)
		}
	}
	sort.Float64s(xs)
	var parts []string
	for _, c := range []struct {
		n    int
		name string
	}{{nan, "NaN"}, {pinf, "+Inf"}, {ninf, "-Inf"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.name))
		}
	}
	if len(parts) == 0 {
		return xs, ""
	}
	return xs, strings.Join(parts, ", ") + " of " + strconv.Itoa(len(values)) + " values"
}

// pct formats a fraction as a percentage: 0.95 → "95%".
func pct(f float64) string { return strconv.FormatFloat(100*f, 'g', 4, 64) + "%" }

func num(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// list formats up to max values, saying how many more there are.
func list(xs []float64, max int) string {
	parts := make([]string, 0, min(len(xs), max)+1)
	for i, x := range xs {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(xs)-max))
			break
		}
		parts = append(parts, num(x))
	}
	return strings.Join(parts, ", ")
}
