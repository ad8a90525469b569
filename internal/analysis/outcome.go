package analysis

import (
	"strings"

	"github.com/isobench/isobench/internal/result"
)

// DeadCells names the cells of a run whose every measured trial (warm-ups
// aside) failed or timed out, as "runtime workload k=v …", in the order
// their first trial ran, and counts the measured trials that ended OK. A
// cell with no measured trial at all (skipped, or not reached) is not
// dead: the run says why it has none.
func DeadCells(run *result.Run) (dead []string, ok int) {
	type tally struct {
		name   string
		trials int
		ok     int
	}
	var order []string
	cells := map[string]*tally{}
	for _, t := range run.Trials {
		if t.Warmup {
			continue
		}
		k := t.Cell.Key()
		c := cells[k]
		if c == nil {
			name := strings.TrimSpace(t.Cell.Runtime + " " + t.Cell.Workload + " " + ParamsText(t.Cell.Params))
			c = &tally{name: name}
			cells[k] = c
			order = append(order, k)
		}
		c.trials++
		if t.Status == result.StatusOK {
			c.ok++
			ok++
		}
	}
	for _, k := range order {
		if c := cells[k]; c.trials > 0 && c.ok == 0 {
			dead = append(dead, c.name)
		}
	}
	return dead, ok
}
