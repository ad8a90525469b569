package stats

import (
	"fmt"
	"math"
)

// Defaults of the options.
const (
	// DefaultConfidence is the confidence level of intervals.
	DefaultConfidence = 0.95
	// DefaultMaxCV is the coefficient of variation above which a summary
	// warns that its sample is noisy.
	DefaultMaxCV = 0.05
	// DefaultResamples is the number of bootstrap resamples of Ratio.
	DefaultResamples = 2000
)

// Bounds of WithResamples.
const (
	MinResamples = 100
	MaxResamples = 1_000_000
)

// An Option changes a default of Summarize or Ratio. A function ignores the
// options that do not concern it.
type Option func(*config)

// WithConfidence sets the confidence level of intervals, in (0, 1).
func WithConfidence(level float64) Option {
	return func(c *config) { c.confidence = level }
}

// WithMaxCV sets the coefficient of variation (a fraction: 0.05 is 5%) above
// which Summarize warns. +Inf turns the warning off.
func WithMaxCV(cv float64) Option {
	return func(c *config) { c.maxCV = cv }
}

// WithResamples sets the number of bootstrap resamples of Ratio, between
// MinResamples and MaxResamples.
func WithResamples(n int) Option {
	return func(c *config) { c.resamples = n }
}

type config struct {
	confidence float64
	maxCV      float64
	resamples  int
}

// newConfig applies opts to the defaults. Each invalid setting is replaced
// by its default and described in problems.
func newConfig(opts []Option) (c config, problems []string) {
	c = config{confidence: DefaultConfidence, maxCV: DefaultMaxCV, resamples: DefaultResamples}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if !validLevel(c.confidence) {
		problems = append(problems, fmt.Sprintf("confidence level %v is not in (0, 1); using %v", c.confidence, DefaultConfidence))
		c.confidence = DefaultConfidence
	}
	if math.IsNaN(c.maxCV) || c.maxCV < 0 {
		problems = append(problems, fmt.Sprintf("CV threshold %v is not a non-negative number; using %v", c.maxCV, DefaultMaxCV))
		c.maxCV = DefaultMaxCV
	}
	if c.resamples < MinResamples || c.resamples > MaxResamples {
		problems = append(problems, fmt.Sprintf("%d resamples is not between %d and %d; using %d", c.resamples, MinResamples, MaxResamples, DefaultResamples))
		c.resamples = DefaultResamples
	}
	return c, problems
}

// validLevel reports whether p is a usable confidence level or alpha.
func validLevel(p float64) bool { return p > 0 && p < 1 }
