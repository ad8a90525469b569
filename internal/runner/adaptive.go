package runner

import (
	"fmt"
	"sort"

	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
	"github.com/isobench/isobench/internal/workload"
)

// Adaptive is the adaptive stop: after the planned trials, cells that have
// not yet met Target (a fraction of the median, e.g. 0.02) for every
// headline metric get one more trial per round, in a fresh random order,
// until they meet it or have MaxTrials measured trials.
//
// A cell meets the target by the rule of [stats.AdaptiveNeedMore], which is
// stricter than "the Level interval of the median is within ±Target": the
// stop asks after every trial, and stopping the first time that interval is
// narrow enough would leave the interval the report then shows (the Level
// interval of all the cell's trials) covering the median less often than
// Level says, as low as 93.6% for 95% in simulation. So it judges the
// interval at [stats.StopLevel](Level), 97.5% for 95%, or the whole range
// of the values while they are too few for that interval (6 values at 95%).
// Simulated with looks from the 6th trial to the 30th, this kept the
// reported 95% interval's coverage at 95% or more, for about 2 to 3 more
// trials per cell where the target is met between the 10th and 25th.
type Adaptive struct {
	Plan      *plan.Plan
	Workloads *workload.Registry
	Target    float64
	MaxTrials int
	Level     float64 // confidence level; 0 means 0.95
}

// More is a Runner.More function.
func (a *Adaptive) More(done []result.Trial, steps []plan.Step) []plan.Step {
	var need []int
	for i, st := range a.status(done) {
		if st.needMore && st.n < a.MaxTrials {
			need = append(need, i)
		}
	}
	if len(need) == 0 {
		return nil
	}
	return plan.MoreRound(steps, need, a.Plan.Suite.Seed)
}

// Unreached describes the cells that ended wider than the target.
func (a *Adaptive) Unreached(done []result.Trial) []string {
	var out []string
	for i, st := range a.status(done) {
		if st.needMore {
			c := a.Plan.Cells[i]
			out = append(out, fmt.Sprintf("%s %s: %s after %d trials", c.Runtime, c.Workload, st.reason, st.n))
		}
	}
	return out
}

type cellStatus struct {
	n        int
	needMore bool
	reason   string
}

// status judges every cell of the plan on the trials done so far.
func (a *Adaptive) status(done []result.Trial) []cellStatus {
	level := a.Level
	if level == 0 {
		level = 0.95
	}
	index := map[string]int{}
	for i, c := range a.Plan.Cells {
		index[c.Key()] = i
	}
	values := make([]map[string][]float64, len(a.Plan.Cells))
	out := make([]cellStatus, len(a.Plan.Cells))
	for _, t := range done {
		i, ok := index[t.Cell.Key()]
		if !ok || t.Warmup {
			continue
		}
		out[i].n++ // failed trials count against the limit too
		if t.Status != result.StatusOK {
			continue
		}
		if values[i] == nil {
			values[i] = map[string][]float64{}
		}
		for _, s := range t.Samples {
			values[i][s.Metric] = append(values[i][s.Metric], s.Value)
		}
	}
	for i, c := range a.Plan.Cells {
		w, err := a.Workloads.Get(c.Workload)
		if err != nil || out[i].n == 0 {
			continue
		}
		var metrics []string
		for _, m := range w.Metrics() {
			if m.Headline {
				metrics = append(metrics, m.Name)
			}
		}
		sort.Strings(metrics)
		for _, m := range metrics {
			vs, ok := values[i][m]
			if !ok {
				continue
			}
			if more, why := stats.AdaptiveNeedMore(vs, a.Target, level); more {
				out[i].needMore = true
				out[i].reason = m + ": " + why
				break
			}
		}
	}
	return out
}
