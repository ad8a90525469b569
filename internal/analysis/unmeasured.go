package analysis

import (
	"fmt"
	"strings"

	"github.com/isobench/isobench/internal/result"
)

// Unmeasured says why a run cannot be judged: it measured nothing, or it
// has a cell whose every measured trial failed or timed out, naming the
// cells; nil when every cell that ran has a successful trial. A run that
// could not measure what it was asked must not look like one that did.
// Cells skipped from the start (the runtime or workload cannot run here)
// have no trials and are not counted; the run lists them as skipped.
func Unmeasured(run *result.Run) error {
	dead, ok := DeadCells(run)
	switch {
	case ok == 0 && len(run.Trials) == 0:
		return fmt.Errorf("run %s measured nothing: every cell was skipped (see the reasons above)", run.ID)
	case ok == 0:
		return fmt.Errorf("no trial of run %s succeeded (see the failed trials: isobench report %s)", run.ID, run.ID)
	case len(dead) > 0:
		return fmt.Errorf("%d cell(s) of run %s have no successful trial: %s", len(dead), run.ID, strings.Join(dead, "; "))
	}
	return nil
}
