package sysbench

import (
	"strconv"
	"time"

	"github.com/isobench/isobench/internal/workload"
)

var _ workload.TrialTimeouter = CPU{}

// startMargin is what a trial may spend besides sysbench's own run: making,
// starting and freeing the sandbox, under software emulation at worst.
const startMargin = 3 * time.Minute

// TrialTimeout implements workload.TrialTimeouter: the agent's limit on the
// sysbench run (its time three times over plus two minutes, or 30 minutes
// for a run bounded by events only) plus the start margin, so that the
// agent's own timeout, which keeps sysbench's output, fires first.
func (CPU) TrialTimeout(p map[string]string) time.Duration {
	secs, err := strconv.Atoi(p["time"])
	if err != nil || secs < 0 {
		secs = 0
	}
	return runTimeout(secs) + startMargin
}
