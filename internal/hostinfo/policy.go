package hostinfo

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/isobench/isobench/internal/warning"
)

// The host's policy for measuring: what Warnings judges of a host.

// CodeGovernor is the code of a warning about a CPU frequency governor
// other than "performance". A host loaded by other work gets
// warning.CodeHostLoad, and a load average that cannot be judged
// warning.CodeInvalidInput.
const CodeGovernor = "cpu-governor"

// GovernorWarning judges the CPU frequency governors of a host, one entry
// per CPU as read from cpufreq (e.g. "performance", "powersave"). It returns
// nil when every CPU uses "performance" or when the list is empty (the host
// exposes no frequency scaling, as in many VMs). An empty entry counts as an
// unknown governor.
func GovernorWarning(governors []string) *warning.Warning {
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
	return &warning.Warning{
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
func LoadWarning(loadavg float64, cores int) *warning.Warning {
	if cores <= 0 || math.IsNaN(loadavg) || math.IsInf(loadavg, 0) || loadavg < 0 {
		return &warning.Warning{
			Code:    warning.CodeInvalidInput,
			Message: fmt.Sprintf("cannot judge host load from load average %v on %d cores", loadavg, cores),
		}
	}
	limit := max(0.5, 0.1*float64(cores))
	if loadavg <= limit {
		return nil
	}
	return &warning.Warning{
		Code:    warning.CodeHostLoad,
		Message: fmt.Sprintf("load average %.2f on %d cores exceeds %.2f: other work on the host may disturb the measurements", loadavg, cores, limit),
	}
}
