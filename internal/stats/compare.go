package stats

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Methods of a Comparison's p-value.
const (
	// MethodExact: the exact null distribution of U (conditional on the
	// ties, when there are any).
	MethodExact = "exact"
	// MethodNormal: the normal approximation with tie and continuity
	// corrections.
	MethodNormal = "normal"
)

// ExactLimit is the largest sample size for which Compare computes the
// exact distribution of U when there are no ties.
const ExactLimit = 50

// TiesExactLimit is the largest sample size for which Compare computes the
// exact distribution of U conditional on the ties, when there are ties
// (sysbench reports latencies in 10 µs steps, so ties are the rule).
const TiesExactLimit = 25

// Comparison is the result of a two-sided Mann–Whitney U test of the null
// hypothesis that x and base come from the same distribution.
type Comparison struct {
	// P is the two-sided p-value.
	P float64 `json:"p"`
	// U counts the pairs (x[i], base[j]) with x[i] > base[j], plus half the
	// pairs that are equal. It lies in [0, N1·N2]; N1·N2/2 means no shift.
	U float64 `json:"u"`
	// N1 and N2 are the sizes of x and base.
	N1 int `json:"n1"`
	N2 int `json:"n2"`
	// Method is MethodExact or MethodNormal.
	Method string  `json:"method"`
	Alpha  float64 `json:"alpha"`
	// Significant is P ≤ Alpha. When it is false the comparison shows no
	// difference, whatever the medians are.
	Significant bool      `json:"significant"`
	Warnings    []Warning `json:"warnings,omitempty"`
}

// FormatDelta formats the change from base to x, the centers (medians) of
// the compared samples, as a signed percentage ("+12.34%"), or "~" when the
// comparison is not significant, or "?" when base is 0 and x is not.
func (c Comparison) FormatDelta(base, x float64) string {
	switch {
	case !c.Significant:
		return "~"
	case x == base:
		return "0.00%"
	case base == 0:
		return "?"
	}
	return fmt.Sprintf("%+.2f%%", 100*(x/base-1))
}

// Compare tests whether x and base differ in location by the two-sided
// Mann–Whitney U test (see the package documentation for how P is
// computed), at significance level alpha in (0, 1). Empty samples and
// non-finite values are errors. When every value is the same, P is 1 with a
// "samples-equal" warning; when the samples are too small for any
// arrangement of them to reach alpha, a "too-few-samples" warning says so.
func Compare(x, base []float64, alpha float64) (Comparison, error) {
	if !validLevel(alpha) {
		return Comparison{}, fmt.Errorf("compare: alpha %v is not in (0, 1)", alpha)
	}
	if err := checkFinite(x); err != nil {
		return Comparison{}, fmt.Errorf("compare: runtime sample: %w", err)
	}
	if err := checkFinite(base); err != nil {
		return Comparison{}, fmt.Errorf("compare: baseline sample: %w", err)
	}
	n1, n2 := len(x), len(base)
	c := Comparison{N1: n1, N2: n2, Alpha: alpha}
	u, tieSum, groups := uStatistic(x, base)
	c.U = u
	exactTies := tieSum > 0 && n1 <= TiesExactLimit && n2 <= TiesExactLimit

	switch {
	case groups == 1:
		c.P, c.Method = 1, MethodNormal
		c.Warnings = append(c.Warnings, Warning{Code: CodeSamplesEqual,
			Message: fmt.Sprintf("all %d values are equal; there is nothing to compare", n1+n2)})
	case tieSum == 0 && n1 <= ExactLimit && n2 <= ExactLimit:
		c.Method = MethodExact
		umin := int(math.Min(u, float64(n1*n2)-u)) // U is whole without ties
		c.P = min(1, 2*uCDF(n1, n2, umin))
	case exactTies:
		c.Method = MethodExact
		c.P = tiedExactP(x, base)
	default:
		c.Method = MethodNormal
		c.P = normalP(n1, n2, u, tieSum)
	}
	c.Significant = c.P <= alpha

	if !c.Significant && n1 <= ExactLimit && n2 <= ExactLimit {
		// The most extreme arrangement, x entirely above or below base,
		// has exact p-value 2/C(n1+n2, n1) without ties (ties only make
		// the smallest attainable p-value larger).
		lc, _ := math.Lgamma(float64(n1 + n2 + 1))
		l1, _ := math.Lgamma(float64(n1 + 1))
		l2, _ := math.Lgamma(float64(n2 + 1))
		if minP := 2 * math.Exp(l1+l2-lc); minP > alpha {
			c.Warnings = append(c.Warnings, Warning{Code: CodeTooFewSamples,
				Message: fmt.Sprintf("with %d and %d values the smallest possible p-value is %.3g, above alpha %v: no difference could be detected", n1, n2, minP, alpha)})
		}
	}
	return c, nil
}

func checkFinite(values []float64) error {
	if len(values) == 0 {
		return errors.New("no values")
	}
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("value %d is %v", i, v)
		}
	}
	return nil
}

// tieGroup is a run of equal values in the pooled, sorted sample: its
// size, how many of them come from x, and twice their mid-rank (a whole
// number: the first rank plus the last).
type tieGroup struct{ size, inX, rank2 int }

// tieGroups pools x and base, sorts them and returns the runs of equal
// values in order.
func tieGroups(x, base []float64) []tieGroup {
	type obs struct {
		v   float64
		inX bool
	}
	all := make([]obs, 0, len(x)+len(base))
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range base {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	var out []tieGroup
	for i := 0; i < len(all); {
		j, inX := i, 0
		for ; j < len(all) && all[j].v == all[i].v; j++ {
			if all[j].inX {
				inX++
			}
		}
		// Ranks i+1 … j share the mid-rank (i+1+j)/2.
		out = append(out, tieGroup{size: j - i, inX: inX, rank2: i + 1 + j})
		i = j
	}
	return out
}

// uStatistic returns U of x against base (from the rank sum of x with
// mid-ranks for ties), the tie term Σ(t³−t) over groups of t equal values,
// and the number of distinct values.
func uStatistic(x, base []float64) (u, tieSum float64, groups int) {
	var r1 float64
	gs := tieGroups(x, base)
	for _, g := range gs {
		r1 += float64(g.inX) * float64(g.rank2) / 2
		t := float64(g.size)
		tieSum += t*t*t - t
	}
	n1 := float64(len(x))
	return r1 - n1*(n1+1)/2, tieSum, len(gs)
}

// uCDF returns P(U ≤ u) under the null hypothesis for samples of sizes n1
// and n2 without ties, by the recurrence of Mann and Whitney (1947): with
// p(m, n, k) = P(U = k) for sizes m and n, the largest of the m+n values
// comes from the first sample with probability m/(m+n), and then adds n to U:
//
//	p(m, n, k) = m/(m+n)·p(m−1, n, k−n) + n/(m+n)·p(m, n−1, k).
//
// Only k ≤ u is needed, so the cost is O(n1·n2·u). All terms are positive,
// so the sum is numerically stable.
func uCDF(n1, n2, u int) float64 {
	if u < 0 {
		return 0
	}
	w := u + 1
	prev := make([]float64, (n2+1)*w) // p(m−1, j, ·) for j = 0…n2
	cur := make([]float64, (n2+1)*w)  // p(m, j, ·)
	for j := 0; j <= n2; j++ {
		prev[j*w] = 1 // m = 0: U = 0
	}
	for m := 1; m <= n1; m++ {
		clear(cur)
		cur[0] = 1 // n = 0: U = 0
		for j := 1; j <= n2; j++ {
			a := float64(m) / float64(m+j)
			b := float64(j) / float64(m+j)
			row, left, up := cur[j*w:(j+1)*w], cur[(j-1)*w:j*w], prev[j*w:(j+1)*w]
			for k := range row {
				v := b * left[k]
				if k >= j {
					v += a * up[k-j]
				}
				row[k] = v
			}
		}
		prev, cur = cur, prev
	}
	sum := 0.0
	for _, p := range prev[n2*w:] {
		sum += p
	}
	return min(sum, 1)
}

// tiedExactP returns the two-sided p-value of the Mann–Whitney test from the
// exact permutation distribution of U conditional on the tie pattern of the
// pooled sample: under the null hypothesis every choice of which n1 of the
// n1+n2 pooled values form x is equally likely, and U is a function of the
// sum of x's mid-ranks. Twice a mid-rank is a whole number, so the
// distribution is counted exactly: for each group of t equal values with
// doubled mid-rank r, choosing j of them for x adds j·r to the doubled
// rank sum, in C(t, j) ways. The two-sided p-value is
// min(1, 2·min(P(S ≤ s), P(S ≥ s))) for the observed doubled rank sum s,
// the rule of a two-sided permutation test (with ties the distribution
// need not be symmetric, so the two tails are counted separately). Counts
// are at most C(50, 25) < 2⁵³, exact in float64, for the sizes Compare
// sends here (TiesExactLimit).
func tiedExactP(x, base []float64) float64 {
	n1 := len(x)
	groups := tieGroups(x, base)
	observed, maxSum := 0, 0
	for _, g := range groups {
		observed += g.inX * g.rank2
		maxSum += min(g.size, n1) * g.rank2
	}
	// ways[k][s]: the number of ways to choose k values, from the groups
	// seen so far, whose doubled ranks add up to s.
	ways := make([][]float64, n1+1)
	for k := range ways {
		ways[k] = make([]float64, maxSum+1)
	}
	ways[0][0] = 1
	seen := 0
	for _, g := range groups {
		seen += g.size
		for k := min(n1, seen); k >= 1; k-- {
			row := ways[k]
			for j := 1; j <= min(g.size, k); j++ {
				c := binomial(g.size, j)
				add := j * g.rank2
				from := ways[k-j]
				for s := add; s <= maxSum; s++ {
					if from[s-add] != 0 {
						row[s] += c * from[s-add]
					}
				}
			}
		}
	}
	var total, lower, upper float64
	for s, w := range ways[n1] {
		total += w
		if s <= observed {
			lower += w
		}
		if s >= observed {
			upper += w
		}
	}
	return min(1, 2*min(lower, upper)/total)
}

// binomial returns C(n, k) for small n, exactly.
func binomial(n, k int) float64 {
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n-k+i) / float64(i)
	}
	return math.Round(c)
}

// normalP returns the two-sided p-value of U by the normal approximation,
// with the tie correction of the variance and a continuity correction of ½.
func normalP(n1, n2 int, u, tieSum float64) float64 {
	nn := float64(n1 + n2)
	prod := float64(n1) * float64(n2)
	variance := prod / 12 * ((nn + 1) - tieSum/(nn*(nn-1)))
	if !(variance > 0) {
		return 1
	}
	z := (math.Abs(u-prod/2) - 0.5) / math.Sqrt(variance)
	// Erfc keeps its precision in the far tail, where 1−Φ(z) would not.
	return min(1, math.Erfc(z/math.Sqrt2))
}

// Holm adjusts p-values for multiple comparisons by Holm's step-down
// procedure (S. Holm, "A simple sequentially rejective multiple test
// procedure", Scand. J. Statist. 6, 1979): sort the m p-values ascending; the
// adjusted value of the i-th smallest (from 1) is the running maximum of
// min(1, (m−j+1)·p(j)) over j ≤ i. A hypothesis is rejected when its
// adjusted p-value is at most alpha. reject and adjusted follow the order of
// pvalues. A p-value outside [0, 1] (or NaN) or an alpha outside (0, 1) is an
// error.
func Holm(pvalues []float64, alpha float64) (reject []bool, adjusted []float64, err error) {
	if !validLevel(alpha) {
		return nil, nil, fmt.Errorf("holm: alpha %v is not in (0, 1)", alpha)
	}
	for i, p := range pvalues {
		if !(p >= 0 && p <= 1) {
			return nil, nil, fmt.Errorf("holm: p-value %d is %v, not in [0, 1]", i, p)
		}
	}
	m := len(pvalues)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return pvalues[order[a]] < pvalues[order[b]] })
	reject, adjusted = make([]bool, m), make([]float64, m)
	running := 0.0
	for rank, i := range order {
		running = max(running, min(1, float64(m-rank)*pvalues[i]))
		adjusted[i] = running
		reject[i] = running <= alpha
	}
	return reject, adjusted, nil
}
