package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/host"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/testutil"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/sysbench"
)

type sliceSink struct {
	mu     sync.Mutex
	trials []result.Trial
	after  func(n int) // called after each trial is kept
}

func (s *sliceSink) Trial(_ context.Context, t result.Trial) error {
	s.mu.Lock()
	s.trials = append(s.trials, t)
	n := len(s.trials)
	s.mu.Unlock()
	if s.after != nil {
		s.after(n)
	}
	return nil
}

// setup builds the real workload image and a host runtime.
func setup(t *testing.T) (*image.Image, map[string]Runtime, *workload.Registry) {
	t.Helper()
	testutil.RequireBinary(t, "sysbench")
	img, err := image.Build(context.Background(), image.BuildOptions{CacheDir: t.TempDir(), Agent: testutil.Agent(t)})
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	d, err := host.New(driver.Env{StateDir: base + "/state", RunDir: base + "/run"}, "")
	if err != nil {
		t.Fatal(err)
	}
	info, err := d.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var reg workload.Registry
	reg.Register(sysbench.CPU{})
	return img, map[string]Runtime{"host": {Driver: d, Info: info}}, &reg
}

func cpuPlan(t *testing.T, reg *workload.Registry, trials int, set map[string]string) *plan.Plan {
	t.Helper()
	if set == nil {
		set = map[string]string{"time": "0", "events": "200", "max-prime": "2000"}
	}
	p, err := plan.Expand(plan.Suite{
		Runtimes: []string{"host"}, Workloads: []plan.WorkloadConfig{{Name: "cpu", Set: set}},
		Profile: plan.ProfileQuick, Trials: trials, Warmups: 1, Seed: 9,
	}, reg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunKeepsEveryTrialInOrder(t *testing.T) {
	img, rts, reg := setup(t)
	p := cpuPlan(t, reg, 3, nil)
	sink := &sliceSink{}
	r := &Runner{RunID: "test-order", Image: img, Runtimes: rts, Workloads: reg, Sink: sink}
	trials, err := r.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != 4 || len(sink.trials) != 4 {
		t.Fatalf("%d trials returned, %d kept; want 4 (1 warm-up + 3)", len(trials), len(sink.trials))
	}
	for i, tr := range sink.trials {
		if tr.Seq != p.Steps[i].Seq || tr.Warmup != p.Steps[i].Warmup {
			t.Errorf("trial %d: seq %d warm-up %v, want the plan's %+v", i, tr.Seq, tr.Warmup, p.Steps[i])
		}
		if tr.Status != result.StatusOK {
			t.Fatalf("trial %d: %s: %s", i, tr.Status, tr.Error)
		}
		if v, ok := tr.Value("events"); !ok || v != 200 {
			t.Errorf("trial %d: events = %v, want the 200 asked for", i, v)
		}
		if tr.Raw["sysbench.stdout"] == "" {
			t.Errorf("trial %d: raw sysbench output not kept", i)
		}
		if !tr.End.After(tr.Start) {
			t.Errorf("trial %d: end %v not after start %v", i, tr.End, tr.Start)
		}
	}
}

func TestRunKeepsFailedTrialWithToolError(t *testing.T) {
	img, rts, reg := setup(t)
	// sysbench itself refuses zero threads; the trial must carry its words.
	// The plan refuses them too (a bound checked before any work), so the
	// cells are changed after it is made, as a tool that fails would be.
	p := cpuPlan(t, reg, 1, map[string]string{"threads": "1", "time": "1"})
	for i := range p.Cells {
		p.Cells[i].Params["threads"] = "0"
	}
	sink := &sliceSink{}
	r := &Runner{RunID: "test-fail", Image: img, Runtimes: rts, Workloads: reg, Sink: sink}
	if _, err := r.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if len(sink.trials) != 2 {
		t.Fatalf("%d trials kept, want 2", len(sink.trials))
	}
	for _, tr := range sink.trials {
		if tr.Status != result.StatusFailed || !strings.Contains(tr.Error, "threads") {
			t.Fatalf("trial %+v: want failed with sysbench's message about threads", tr)
		}
		if len(tr.Samples) != 0 {
			t.Fatalf("failed trial has samples %v", tr.Samples)
		}
	}
}

func TestRunInterrupted(t *testing.T) {
	img, rts, reg := setup(t)
	p := cpuPlan(t, reg, 5, map[string]string{"time": "1"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &sliceSink{after: func(n int) {
		if n == 2 {
			cancel()
		}
	}}
	r := &Runner{RunID: "test-int", Image: img, Runtimes: rts, Workloads: reg, Sink: sink}
	_, err := r.Run(ctx, p)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error %v, want ErrInterrupted", err)
	}
	if len(sink.trials) != 2 {
		t.Fatalf("%d trials kept, want the 2 finished before the interrupt", len(sink.trials))
	}
}

func TestAdaptiveStop(t *testing.T) {
	img, rts, reg := setup(t)
	cases := []struct {
		name      string
		target    float64
		max       int
		wantCount func(n int) bool
		unreached bool
	}{
		// 6 trials are the fewest with a 95% interval; a loose target is met.
		{"loose target stops at the plan", 10, 9, func(n int) bool { return n == 6 }, false},
		// An impossible target runs to the limit and says so.
		{"impossible target runs to the limit", 1e-9, 8, func(n int) bool { return n == 8 }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := cpuPlan(t, reg, 6, nil)
			sink := &sliceSink{}
			ad := &Adaptive{Plan: p, Workloads: reg, Target: c.target, MaxTrials: c.max}
			r := &Runner{RunID: "test-adapt", Image: img, Runtimes: rts, Workloads: reg, Sink: sink, More: ad.More}
			trials, err := r.Run(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			measured := 0
			for _, tr := range trials {
				if !tr.Warmup {
					measured++
				}
			}
			if !c.wantCount(measured) {
				t.Fatalf("%d measured trials", measured)
			}
			if got := len(ad.Unreached(trials)) > 0; got != c.unreached {
				t.Fatalf("unreached = %v, want %v", ad.Unreached(trials), c.unreached)
			}
		})
	}
}
