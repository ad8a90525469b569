package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload"
)

// instant is a workload that makes no sandbox and records one sample at
// once; it counts the trials in flight and can wait until n are.
type instant struct {
	inFlight, most *atomic.Int32
	// together, when above 1, holds each trial until that many are in
	// flight (or ten seconds have passed): the test sees them run at once.
	together int32
}

func (instant) Name() string                               { return "instant" }
func (instant) Doc() string                                { return "records one sample at once" }
func (instant) Params() []workload.Param                   { return nil }
func (instant) Check(driver.Info, map[string]string) error { return nil }
func (instant) MakesSandboxes() bool                       { return true }
func (instant) Metrics() []workload.Metric {
	return []workload.Metric{{Name: "t", Unit: workload.UnitSeconds, Label: "t", Headline: true}}
}

func (w instant) Run(ctx context.Context, _ *workload.Target, rec workload.Recorder) error {
	now := w.inFlight.Add(1)
	defer w.inFlight.Add(-1)
	for {
		most := w.most.Load()
		if now <= most || w.most.CompareAndSwap(most, now) {
			break
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.together > 1 && w.most.Load() < w.together && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	rec.Sample("t", 1)
	return nil
}

// countingObserver keeps the totals it is told and counts the trials.
type countingObserver struct {
	mu      sync.Mutex
	totals  map[int]bool
	started int
	ended   int
}

func (o *countingObserver) TrialStarted(_ plan.Step, _ result.Cell, total int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.totals[total] = true
	o.started++
}

func (o *countingObserver) TrialEnded(_ result.Trial, total int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.totals[total] = true
	o.ended++
}

// failingSink keeps trials and fails at one sequence number; it can end
// the run's context once it has kept a number of trials.
type failingSink struct {
	sliceSink
	failAt   int // -1 never
	cancelAt int // 0 never
	cancel   context.CancelFunc
}

func (s *failingSink) Trial(ctx context.Context, t result.Trial) error {
	if t.Seq == s.failAt {
		return fmt.Errorf("disk full at %d", t.Seq)
	}
	if err := s.sliceSink.Trial(ctx, t); err != nil {
		return err
	}
	s.mu.Lock()
	n := len(s.trials)
	s.mu.Unlock()
	if s.cancelAt > 0 && n >= s.cancelAt {
		s.cancel()
	}
	return nil
}

func TestRunParallel(t *testing.T) {
	const steps = 12
	for _, c := range []struct {
		name     string
		n        int
		failAt   int
		cancelAt int
		adaptive bool
		// want: every step run (all), an error matching wantErr, most in
		// flight at once.
		all      bool
		wantErr  error
		wantText string
		most     int32
	}{
		{name: "serial", n: 1, failAt: -1, all: true, most: 1},
		{name: "three at once", n: 3, failAt: -1, all: true, most: 3},
		{name: "more runners than steps", n: 50, failAt: -1, all: true, most: steps},
		{name: "a sink error stops its shard only", n: 3, failAt: 4, wantText: "disk full at 4"},
		{name: "cancelled", n: 3, failAt: -1, cancelAt: 5, wantErr: ErrInterrupted},
		{name: "adaptive stop refused", n: 2, failAt: -1, adaptive: true, wantText: "one trial at a time"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var inFlight, most atomic.Int32
			w := instant{inFlight: &inFlight, most: &most, together: int32(min(c.n, steps))}
			var reg workload.Registry
			reg.Register(w)
			p, err := plan.Expand(plan.Suite{
				Runtimes: []string{"a", "b"}, Workloads: []plan.WorkloadConfig{{Name: "instant"}},
				Profile: plan.ProfileQuick, Trials: steps/2 - 1, Warmups: 1, Seed: 5,
			}, &reg)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Steps) != steps {
				t.Fatalf("plan of %d steps, want %d", len(p.Steps), steps)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sink := &failingSink{failAt: c.failAt, cancelAt: c.cancelAt, cancel: cancel}
			obs := &countingObserver{totals: map[int]bool{}}
			r := &Runner{RunID: "par", Runtimes: map[string]Runtime{"a": {}, "b": {}}, Workloads: &reg, Sink: sink, Observer: obs}
			if c.adaptive {
				r.More = func([]result.Trial, []plan.Step) []plan.Step { return nil }
			}
			trials, err := r.RunParallel(ctx, p, c.n)
			switch {
			case c.wantErr != nil && !errors.Is(err, c.wantErr):
				t.Fatalf("error %v, want %v", err, c.wantErr)
			case c.wantText != "" && (err == nil || !strings.Contains(err.Error(), c.wantText)):
				t.Fatalf("error %v, want one saying %q", err, c.wantText)
			case c.wantErr == nil && c.wantText == "" && err != nil:
				t.Fatal(err)
			}
			// The trials come back in the plan's order, each once, each
			// also kept by the sink.
			for i := 1; i < len(trials); i++ {
				if trials[i-1].Seq >= trials[i].Seq {
					t.Errorf("trial %d (seq %d) after seq %d: not in the plan's order", i, trials[i].Seq, trials[i-1].Seq)
				}
			}
			for _, tr := range trials {
				if tr.Status != result.StatusOK {
					t.Errorf("trial %d: %s %s", tr.Seq, tr.Status, tr.Error)
				}
			}
			if len(sink.trials) != len(trials) {
				t.Errorf("the sink kept %d trials, RunParallel returned %d", len(sink.trials), len(trials))
			}
			if c.all && len(trials) != steps {
				t.Errorf("%d trials, want all %d", len(trials), steps)
			}
			if !c.all && !c.adaptive && len(trials) >= steps {
				t.Errorf("%d trials: the error did not stop anything", len(trials))
			}
			if c.failAt >= 0 && c.n > 1 && len(trials) <= steps/c.n {
				t.Errorf("%d trials: the other shards stopped too", len(trials))
			}
			// Every observer call is told the whole plan's size.
			for total := range obs.totals {
				if total != steps {
					t.Errorf("the observer was told a total of %d, want %d", total, steps)
				}
			}
			if obs.ended != len(trials) {
				t.Errorf("observer saw %d trials end, want %d", obs.ended, len(trials))
			}
			if c.most > 0 && most.Load() != c.most {
				t.Errorf("%d trials in flight at most, want %d", most.Load(), c.most)
			}
			if most.Load() > int32(max(c.n, 1)) {
				t.Errorf("%d trials in flight with %d runners", most.Load(), c.n)
			}
		})
	}
}
