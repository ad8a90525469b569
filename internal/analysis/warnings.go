package analysis

import (
	"fmt"
	"strconv"

	"github.com/isobench/isobench/internal/hostinfo"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
)

// RunWarnings gathers the run-level warnings: those judged from the
// environment when the run started, then each runtime's, then the trials
// that other work on the host disturbed.
func RunWarnings(run *result.Run) []stats.Warning {
	out := hostinfo.EnvWarnings(run.Env)
	for _, rt := range run.Runtimes {
		for _, w := range rt.Warnings {
			out = append(out, stats.Warning{Code: "runtime", Message: rt.Name + ": " + w})
		}
	}
	return append(out, otherLoadWarnings(run)...)
}

// OtherLoadLimit is the average number of CPUs other processes may keep busy
// during a trial before the trial is said to be disturbed.
const OtherLoadLimit = 0.25

// otherLoadWarnings says, per runtime and workload, how many measured trials
// ran while other work kept more than OtherLoadLimit CPUs busy (the runner
// records it per trial as attrs host.other_cpu and host.other_top).
func otherLoadWarnings(run *result.Run) []stats.Warning {
	type key struct{ rt, wl string }
	type tally struct {
		n, busy int
		worst   float64
		top     string
	}
	var order []key
	tallies := map[key]*tally{}
	for _, t := range run.Trials {
		if t.Warmup {
			continue
		}
		k := key{t.Cell.Runtime, t.Cell.Workload}
		tl := tallies[k]
		if tl == nil {
			tl = &tally{}
			tallies[k] = tl
			order = append(order, k)
		}
		tl.n++
		v, err := strconv.ParseFloat(t.Attrs["host.other_cpu"], 64)
		if err != nil || v <= OtherLoadLimit {
			continue
		}
		tl.busy++
		if v > tl.worst {
			tl.worst, tl.top = v, t.Attrs["host.other_top"]
		}
	}
	var out []stats.Warning
	for _, k := range order {
		tl := tallies[k]
		if tl.busy == 0 {
			continue
		}
		msg := fmt.Sprintf("%s %s: other work kept more than %.2f CPUs busy during %d of %d trials (up to %.2f", k.rt, k.wl, OtherLoadLimit, tl.busy, tl.n, tl.worst)
		if tl.top != "" {
			msg += "; busiest: " + tl.top
		}
		out = append(out, stats.Warning{Code: stats.CodeHostLoad, Message: msg + ")"})
	}
	return out
}
