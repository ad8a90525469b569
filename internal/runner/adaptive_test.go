package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
	"github.com/isobench/isobench/internal/workload"
)

// timed is a workload that is never run here: the adaptive stop only reads
// its metrics, a headline "t" and a secondary "aux".
type timed struct{}

func (timed) Name() string                               { return "timed" }
func (timed) Doc() string                                { return "stands for any timed workload" }
func (timed) Params() []workload.Param                   { return nil }
func (timed) Check(driver.Info, map[string]string) error { return nil }
func (timed) Metrics() []workload.Metric {
	return []workload.Metric{
		{Name: "t", Unit: workload.UnitSeconds, Label: "t", Headline: true},
		{Name: "aux", Unit: workload.UnitSeconds, Label: "aux"},
	}
}
func (timed) Run(context.Context, *workload.Target, workload.Recorder) error { return nil }

// adaptiveFixture makes a plan of one cell per series of values and the
// trials (and their steps) that measured them, in order, with an "aux"
// sample too wide for any target.
func adaptiveFixture(series ...[]float64) (*plan.Plan, *workload.Registry, []result.Trial, []plan.Step) {
	var reg workload.Registry
	reg.Register(timed{})
	p := &plan.Plan{Suite: plan.Suite{Seed: 3}}
	var trials []result.Trial
	var steps []plan.Step
	for c, values := range series {
		cell := result.Cell{Runtime: "rt" + string(rune('a'+c)), Workload: "timed"}
		p.Cells = append(p.Cells, cell)
		for i, v := range values {
			steps = append(steps, plan.Step{Seq: len(steps), Cell: c, Index: i})
			trials = append(trials, result.Trial{Seq: len(trials), Cell: cell, Index: i, Status: result.StatusOK,
				Samples: []result.Sample{{Metric: "t", Value: v}, {Metric: "aux", Value: float64(1 + 100*(i%2))}}})
		}
	}
	return p, &reg, trials, steps
}

func TestAdaptiveUsesTheCorrectedRule(t *testing.T) {
	// The 95% interval of the median of these 9 values is [99.5, 100.5],
	// within ±1%, so the single look would stop; the 97.5% interval, which
	// the adaptive stop judges, reaches down to 90.
	outlier := []float64{100.3, 90, 99.9, 100.5, 99.5, 100.1, 101, 99.7, 100}
	if more, _ := stats.NeedMore(outlier, 0.01, 0.95); more {
		t.Fatal("the single look wants more; the fixture no longer tells the rules apart")
	}
	// Six values whose range is within ±1%: enough to stop.
	six := []float64{100, 99.2, 100.8, 100.1, 99.9, 100.4}
	p, reg, trials, steps := adaptiveFixture(outlier, six)
	a := &Adaptive{Plan: p, Workloads: reg, Target: 0.01, MaxTrials: 30}
	more := a.More(trials, steps)
	if len(more) != 1 || more[0].Cell != 0 || more[0].Index != len(outlier) || more[0].Seq != len(steps) {
		t.Fatalf("More = %+v, want one step of cell 0, its trial %d", more, len(outlier))
	}
	un := a.Unreached(trials)
	if len(un) != 1 || !strings.Contains(un[0], "rta timed: t: the 97.5% interval of the median") || !strings.Contains(un[0], "after 9 trials") {
		t.Fatalf("Unreached = %q", un)
	}

	// A looser target is met by both cells.
	a.Target = 0.2
	if more := a.More(trials, steps); more != nil {
		t.Fatalf("More = %+v at ±20%%, want none", more)
	}
	if un := a.Unreached(trials); un != nil {
		t.Fatalf("Unreached = %q at ±20%%, want none", un)
	}

	// At the limit a cell gets no more trials but is reported.
	a.Target, a.MaxTrials = 0.01, len(outlier)
	if more := a.More(trials, steps); more != nil {
		t.Fatalf("More = %+v at the limit, want none", more)
	}
	if un := a.Unreached(trials); len(un) != 1 {
		t.Fatalf("Unreached = %q at the limit, want cell 0", un)
	}
}

func TestAdaptiveLevel(t *testing.T) {
	// 7 values within ±1% but for one at +3%: their 97.5% interval (for a
	// 95% report) is their range, ±3%; at Level 0.6 the stop judges the 80%
	// interval, [x(2), x(6)], within ±1%.
	values := []float64{100, 103, 99.5, 100.5, 99.8, 100.2, 99.6}
	p, reg, trials, steps := adaptiveFixture(values)
	a := &Adaptive{Plan: p, Workloads: reg, Target: 0.01, MaxTrials: 30}
	if more := a.More(trials, steps); len(more) != 1 {
		t.Fatalf("Level 0 (0.95): More = %+v, want a step", more)
	}
	a.Level = 0.6
	if more := a.More(trials, steps); more != nil {
		t.Fatalf("Level 0.6: More = %+v, want none", more)
	}
}
