// Package stats turns repeated measurements into the numbers isobench
// reports: summaries with confidence intervals, ratios of a runtime to the
// bare-host baseline, significance tests, a rule for when to stop adding
// trials, and warnings about the environment a run was made in.
//
// The package does no I/O and keeps no state: every function takes plain
// values and returns plain values. Bad input (an empty sample, NaN, ±Inf, a
// zero baseline, a confidence level outside (0, 1)) never panics; it is
// reported as an error where the function returns one and as a [Warning]
// where it does not. Warnings are data with a stable Code and a Message for
// people, not log lines.
//
// # Summaries
//
// [Summarize] ignores non-finite values (with a "non-finite" warning) and
// reports the count, mean, sample standard deviation (n−1 denominator),
// coefficient of variation (stddev / |mean|), minimum, maximum, median,
// quartiles and 95th percentile. Quantiles use linear interpolation between
// order statistics, Hyndman and Fan's definition 7 (the default of NumPy and
// R), so the median of an even-sized sample is the mean of its two middle
// values. A Summary never holds NaN or ±Inf, so it always encodes as JSON.
//
// The confidence interval of the median is distribution-free, from order
// statistics: with B ~ Binomial(n, ½), it is [x(k), x(n+1−k)] for the
// largest k with P(B ≤ k−1) ≤ (1−level)/2, and its exact coverage for a
// continuous distribution is 1 − 2·P(B ≤ k−1) ≥ level (the equal-tailed
// interval of W. J. Conover, Practical Nonparametric Statistics, chapter 3).
// When even k = 1 does not reach the level (n < 6 at 95%, n < 8 at 99%) there
// is no interval and the summary says how many values are needed.
//
// Outliers are found by Tukey's fences: a value below Q1 − 1.5·IQR or above
// Q3 + 1.5·IQR, with Q1, Q3 the quartiles defined above and IQR = Q3 − Q1,
// is an outlier. Outliers are reported (how many and which values), never
// removed: every statistic is computed on all finite values.
//
// A summary warns when the coefficient of variation exceeds a threshold
// (5% unless [WithMaxCV] says otherwise).
//
// # Ratios
//
// [Ratio] estimates median(x)/median(base) with a percentile bootstrap
// confidence interval: each resample draws len(x) values from x and
// len(base) values from base, with replacement and independently; the
// interval's ends are the (1−level)/2 and (1+level)/2 quantiles (definition
// 7) of the resampled ratios. There are [DefaultResamples] resamples unless
// [WithResamples] says otherwise. The random stream is PCG seeded from the
// caller's seed, so the same inputs and seed give the same interval on every
// platform and Go release. The ratio is defined for non-negative values
// only; a baseline whose median is zero, in the sample or in any resample,
// is an error.
//
// # Significance
//
// [Compare] runs the two-sided Mann–Whitney U test. Its p-value is exact
// (the null distribution of U by the Mann–Whitney recurrence) when there are
// no tied values and both samples have at most 50 values; exact conditional
// on the ties (every split of the pooled values into the two samples
// counted, by the sum of mid-ranks) when there are ties and both samples
// have at most 25 values, with the two tails counted apart, p =
// min(1, 2·min(P(U ≤ u), P(U ≥ u))); otherwise it is the normal
// approximation with the tie correction of the variance and a continuity
// correction of 0.5. Ties are the rule for sysbench, whose latencies come
// in 10 µs steps: the normal approximation there was off by ×0.6 to ×2.1. A comparison is significant when p ≤ alpha;
// one that is not is shown as "~" by [Comparison.FormatDelta], never as a
// percentage. [Holm] adjusts many p-values at once by Holm's step-down
// procedure, which controls the family-wise error rate.
//
// # Stopping and the environment
//
// [NeedMore] says whether a cell needs more trials: while there are too few
// values for an interval of the median, or while the interval's larger
// half-width exceeds a target fraction of the median. (The host's own
// warnings, its CPU governors and its load, are judged in package hostinfo.)
//
// A stop that asks after every trial looks many times, and stopping the
// first time the interval is narrow enough lets the interval reported
// afterwards cover the median less often than its level says. So
// [AdaptiveNeedMore], the rule of the adaptive stop, judges a wider interval
// than the one reported, at level [StopLevel] (97.5% for a 95% report), or
// the whole range while the values are too few for it; in simulation this
// kept the reported 95% interval's coverage at 95% or more where the single
// look fell to 93.6%.
//
// # Libraries
//
// Means, variances and binomial probabilities come from gonum. The quantile
// definition, the order-statistic interval, the bootstrap and the U test are
// written here: gonum has neither NumPy's quantile definition nor a U test,
// and the U test of github.com/aclements/go-moremath (which benchstat uses)
// computes the two-sided tied p-value as twice one tail of a distribution
// that ties can make asymmetric, which gives values above 1 (1.5 for {2}
// against {1, 1, 1}). The tests check this package against SciPy
// (testdata/gen_reference.py) and against full enumeration.
package stats
