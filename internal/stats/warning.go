package stats

import "github.com/isobench/isobench/internal/warning"

// Codes of warnings. A code is stable; the message that goes with it is for
// people and may change.
const (
	// CodeTooFewSamples: too few values for an interval at the requested
	// confidence, or to detect any difference at the requested alpha.
	CodeTooFewSamples = "too-few-samples"
	// CodeHighCV: the coefficient of variation exceeds the threshold.
	CodeHighCV = "high-cv"
	// CodeOutliers: values beyond Tukey's fences.
	CodeOutliers = "outliers"
	// CodeNonFinite: NaN or ±Inf values were left out.
	CodeNonFinite = "non-finite"
	// CodeCVUndefined: the mean is zero (or too small for the ratio to be
	// a number), so there is no coefficient of variation.
	CodeCVUndefined = "cv-undefined"
	// CodeOverflow: a statistic is too large for a float64 and is
	// reported as 0.
	CodeOverflow = "overflow"
	// CodeSamplesEqual: every value of both samples is the same, so a
	// test has nothing to rank.
	CodeSamplesEqual = "samples-equal"
	// CodeInvalidInput: an option or reading was invalid and was replaced
	// or ignored.
	CodeInvalidInput = warning.CodeInvalidInput
	// CodeHostLoad: other work was running on the host. The host's
	// policy warnings (its load, its CPU governors) are judged in package
	// hostinfo; an analysis gives this code for trials that other
	// processes disturbed.
	CodeHostLoad = warning.CodeHostLoad
)

// A Warning is a problem that does not stop an analysis but should be shown
// with its results (the type of package warning, shared with hostinfo).
type Warning = warning.Warning
