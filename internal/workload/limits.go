package workload

import (
	"fmt"
	"strconv"
)

// Bounds that the integer parameters of workloads share. Parameters are
// untrusted input (flags and suite files alike) and isobench runs as root:
// each workload's Check refuses a value beyond what fits a real study, so
// that a typo never asks a sandbox, or the host baseline, for a hundred
// million threads.
const (
	// MaxThreads bounds a workload's worker threads (or parallel jobs).
	MaxThreads = 1024
	// MaxSeconds bounds a workload's own run time in seconds (a day).
	MaxSeconds = 24 * 60 * 60
)

// IntParam reads the integer parameter name of p, base 10, and checks that
// it lies in [lo, hi]. The error names the parameter and the range.
func IntParam(p map[string]string, name string, lo, hi int64) (int64, error) {
	v, err := strconv.ParseInt(p[name], 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("parameter %s: %q is out of range: want %d to %d", name, p[name], lo, hi)
		}
		return 0, fmt.Errorf("parameter %s: %q is not a whole number", name, p[name])
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("parameter %s: %d is out of range: want %d to %d", name, v, lo, hi)
	}
	return v, nil
}
