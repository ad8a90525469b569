package analysis

import (
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/result"
)

func TestUnmeasured(t *testing.T) {
	trial := func(rt string, warmup bool, st result.Status) result.Trial {
		return result.Trial{Cell: result.Cell{Runtime: rt, Workload: "cpu"}, Warmup: warmup, Status: st}
	}
	for _, tc := range []struct {
		name   string
		trials []result.Trial
		want   string // "" for nil
	}{
		{"every cell skipped", nil, "run r measured nothing: every cell was skipped"},
		{"nothing succeeded", []result.Trial{trial("host", true, result.StatusOK), trial("host", false, result.StatusFailed)},
			"no trial of run r succeeded (see the failed trials: isobench report r)"},
		{"a dead cell", []result.Trial{trial("host", false, result.StatusOK), trial("runc", false, result.StatusTimeout)},
			"1 cell(s) of run r have no successful trial: runc cpu"},
		{"measured", []result.Trial{trial("host", false, result.StatusOK), trial("runc", false, result.StatusFailed), trial("runc", false, result.StatusOK)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Unmeasured(&result.Run{ID: "r", Trials: tc.trials})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Unmeasured: %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Errorf("Unmeasured: %v, want %q", err, tc.want)
			}
		})
	}
}
