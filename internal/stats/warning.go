package stats

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

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
	CodeInvalidInput = "invalid-input"
	// CodeGovernor: a CPU frequency governor other than "performance".
	CodeGovernor = "cpu-governor"
	// CodeHostLoad: other work was running on the host.
	CodeHostLoad = "host-load"
)

// A Warning is a problem that does not stop an analysis but should be shown
// with its results.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// String returns "code: message".
func (w Warning) String() string { return w.Code + ": " + w.Message }

// GovernorWarning judges the CPU frequency governors of a host, one entry
// per CPU as read from cpufreq (e.g. "performance", "powersave"). It returns
// nil when every CPU uses "performance" or when the list is empty (the host
// exposes no frequency scaling, as in many VMs). An empty entry counts as an
// unknown governor.
func GovernorWarning(governors []string) *Warning {
	others := map[string]int{}
	n := 0
	for _, g := range governors {
		g = strings.ToLower(strings.TrimSpace(g))
		if g == "performance" {
			continue
		}
		if g == "" {
			g = "unknown"
		}
		others[g]++
		n++
	}
	if n == 0 {
		return nil
	}
	names := make([]string, 0, len(others))
	for g := range others {
		names = append(names, g)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, g := range names {
		parts[i] = fmt.Sprintf("%s on %d", g, others[g])
	}
	return &Warning{
		Code: CodeGovernor,
		Message: fmt.Sprintf("CPU frequency governor is not \"performance\" on %d of %d CPUs (%s): frequency scaling adds noise to the measurements",
			n, len(governors), strings.Join(parts, ", ")),
	}
}

// LoadWarning judges the host's load average against its number of cores.
// loadavg must be load that is not the run's own: read it before the first
// trial, or subtract the threads the run keeps busy. It returns nil when the
// load is at most max(0.5, 0.1·cores), a warning with CodeHostLoad above
// that, and one with CodeInvalidInput when the reading cannot be judged.
func LoadWarning(loadavg float64, cores int) *Warning {
	if cores <= 0 || math.IsNaN(loadavg) || math.IsInf(loadavg, 0) || loadavg < 0 {
		return &Warning{
			Code:    CodeInvalidInput,
			Message: fmt.Sprintf("cannot judge host load from load average %v on %d cores", loadavg, cores),
		}
	}
	limit := max(0.5, 0.1*float64(cores))
	if loadavg <= limit {
		return nil
	}
	return &Warning{
		Code:    CodeHostLoad,
		Message: fmt.Sprintf("load average %.2f on %d cores exceeds %.2f: other work on the host may disturb the measurements", loadavg, cores, limit),
	}
}
