package analysis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/isobench/isobench/internal/result"
)

// ParseBound reads a gate's bound, "5%", as the fraction 0.05. A bare
// number is refused: "5" could mean 5% or 500%.
func ParseBound(s string) (float64, error) {
	t := strings.TrimSpace(s)
	num, pct := strings.CutSuffix(t, "%")
	if !pct {
		return 0, fmt.Errorf("%q: give a percentage with its sign, e.g. 5%%", s)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a percentage like 5%%", s)
	}
	if !(v > 0) || v > 1000 {
		return 0, fmt.Errorf("%q is not a percentage above 0%% and at most 1000%%", s)
	}
	return v / 100, nil
}

// HasRuntime reports whether a run has a trial of the runtime.
func HasRuntime(run *result.Run, rt string) bool {
	for _, t := range run.Trials {
		if t.Cell.Runtime == rt {
			return true
		}
	}
	return false
}

// UnjudgedText names the cells a gate could not judge, each with its
// kind, for one line: "runc cpu (missing); crun cpu (inconclusive)".
func UnjudgedText(us []Unjudged) string {
	var names []string
	for _, u := range us {
		names = append(names, u.Name()+" ("+u.Kind+")")
	}
	return strings.Join(names, "; ")
}
