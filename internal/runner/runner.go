package runner

import (
	"context"
	"errors"
	"fmt"
	"github.com/isobench/isobench/internal/hostinfo"
	"maps"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload"
)

// Sink takes each trial when it ends. An error from it stops the run: a
// result that cannot be kept is not worth measuring.
type Sink interface {
	Trial(ctx context.Context, t result.Trial) error
}

// Observer is told of progress; every method must return quickly.
type Observer interface {
	TrialStarted(step plan.Step, cell result.Cell, total int)
	TrialEnded(t result.Trial, total int)
}

// Runtime is a probed driver ready to use.
type Runtime struct {
	Driver driver.Driver
	Info   driver.Info
	// Options bound every sandbox made of the runtime (CPUs, memory).
	Options plan.RuntimeOptions
}

// Runner executes plans.
type Runner struct {
	RunID     string
	Image     *image.Image
	Runtimes  map[string]Runtime
	Workloads *workload.Registry
	Sink      Sink
	Observer  Observer // may be nil
	Host      workload.HostOps
	// StartTimeout bounds the start of one sandbox (default 2 minutes).
	StartTimeout time.Duration
	// TrialTimeout bounds one whole trial of a workload that gives no
	// bound of its own (see workload.TrialTimeout) when the plan sets none
	// for the cell (default 30 minutes). A trial that runs out of time is
	// cut short, its sandbox killed and freed, and kept as timed out; the
	// run goes on.
	TrialTimeout time.Duration
	// CleanupTimeout bounds freeing one sandbox (default 1 minute).
	CleanupTimeout time.Duration
	// Skip, when it returns true for a step, leaves the step out (resume).
	Skip func(step plan.Step, cell result.Cell) bool
	// More, when set, is asked after the planned steps for further steps
	// (the adaptive stop); it returns none when the run is done.
	More func(done []result.Trial, steps []plan.Step) []plan.Step
	// Hurry, when closed, asks for a faster exit after an interrupt (the
	// user pressed Ctrl-C twice): the sandbox of the trial in flight is then
	// freed the hard way, without the graceful stop, which Close still
	// follows with its complete removal. Nil never hurries.
	Hurry <-chan struct{}
}

// ErrInterrupted is returned (wrapped) when the run's context ended early.
var ErrInterrupted = errors.New("run interrupted")

// Run executes every step of p, in order, and returns the trials made.
func (r *Runner) Run(ctx context.Context, p *plan.Plan) ([]result.Trial, error) {
	var trials []result.Trial
	steps := p.Steps
	var doneSteps []plan.Step
	for len(steps) > 0 {
		total := len(doneSteps) + len(steps)
		for _, st := range steps {
			if ctx.Err() != nil {
				return trials, fmt.Errorf("%w: %v", ErrInterrupted, context.Cause(ctx))
			}
			cell := p.Cells[st.Cell]
			doneSteps = append(doneSteps, st)
			if r.Skip != nil && r.Skip(st, cell) {
				continue
			}
			if r.Observer != nil {
				r.Observer.TrialStarted(st, cell, total)
			}
			t := r.trial(ctx, st, cell, r.timeout(p, st.Cell))
			if err := r.Sink.Trial(context.WithoutCancel(ctx), t); err != nil {
				return trials, fmt.Errorf("keeping trial %d (%s): %w", st.Seq, cell.Key(), err)
			}
			trials = append(trials, t)
			if r.Observer != nil {
				r.Observer.TrialEnded(t, total)
			}
			if t.Status == result.StatusInterrupted {
				return trials, fmt.Errorf("%w: %v", ErrInterrupted, context.Cause(ctx))
			}
		}
		steps = nil
		if r.More != nil {
			steps = r.More(trials, doneSteps)
		}
	}
	return trials, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// timeout is the time limit of one trial of cell i of p: the plan's, else
// the workload's own default, else the runner's.
func (r *Runner) timeout(p *plan.Plan, i int) time.Duration {
	if d := p.Timeout(i); d > 0 {
		return d
	}
	if w, err := r.Workloads.Get(p.Cells[i].Workload); err == nil {
		if d := workload.TrialTimeout(w, p.Cells[i].Params); d > 0 {
			return d
		}
	}
	return orDefault(r.TrialTimeout, 30*time.Minute)
}

// cleanupContext returns the context a trial's sandbox is freed on: its own
// time limit, not ended by the run's interrupt, but ended at once by Hurry.
func (r *Runner) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orDefault(r.CleanupTimeout, time.Minute))
	if r.Hurry == nil {
		return cctx, cancel
	}
	hctx, hcancel := context.WithCancelCause(cctx)
	done := make(chan struct{})
	go func() {
		select {
		case <-r.Hurry:
			hcancel(errHurry)
		case <-done:
		}
	}()
	return hctx, func() {
		close(done)
		hcancel(nil)
		cancel()
	}
}

// errHurry ends the graceful stop of a sandbox when Hurry is closed.
var errHurry = errors.New("asked to stop at once")

// trial runs one step in a fresh sandbox, within limit, and records what
// happened.
func (r *Runner) trial(ctx context.Context, st plan.Step, cell result.Cell, limit time.Duration) (t result.Trial) {
	t = result.Trial{
		RunID: r.RunID, Seq: st.Seq, Cell: cell, Index: st.Index, Warmup: st.Warmup,
		Start: time.Now(), Attrs: map[string]string{}, Raw: map[string]string{},
	}
	rec := &recorder{trial: &t}
	// What else ran on the host during the trial, and what isobench itself
	// cost, are data of the trial (see hostinfo.CPUWatch).
	watch := hostinfo.StartCPUWatch("", os.Getpid())
	selfCPU := ownCPU()
	defer func() {
		t.End = time.Now()
		other := watch.Stop()
		t.Attrs["host.other_cpu"] = strconv.FormatFloat(other.Cores, 'f', 3, 64)
		if len(other.Top) > 0 {
			t.Attrs["host.other_top"] = strings.Join(other.Top, ", ")
		}
		t.Attrs["isobench.cpu_sec"] = strconv.FormatFloat((ownCPU() - selfCPU).Seconds(), 'f', 4, 64)
		if rec.err != nil && t.Status == result.StatusOK {
			t.Status, t.Error = result.StatusFailed, rec.err.Error()
		}
		if len(t.Raw) == 0 {
			t.Raw = nil
		}
	}()
	var tctx context.Context
	fail := func(err error) result.Trial {
		t.Status = result.StatusFailed
		switch {
		case ctx.Err() != nil:
			t.Status = result.StatusInterrupted
		case tctx != nil && tctx.Err() != nil:
			// Whatever the driver or workload made of it, the trial ran
			// out of its time.
			t.Status = result.StatusTimeout
			err = fmt.Errorf("trial timed out after %s: %w", limit, err)
		case errors.Is(err, context.DeadlineExceeded):
			t.Status = result.StatusTimeout
		}
		t.Error = err.Error()
		return t
	}
	rt, ok := r.Runtimes[cell.Runtime]
	if !ok {
		return fail(fmt.Errorf("runtime %s is not available", cell.Runtime))
	}
	w, err := r.Workloads.Get(cell.Workload)
	if err != nil {
		return fail(err)
	}
	rec.w = w
	for k, v := range rt.Info.Features {
		t.Attrs["runtime."+k] = v
	}
	if len(rt.Info.Warnings) > 0 {
		t.Attrs["runtime.warnings"] = strings.Join(rt.Info.Warnings, "; ")
	}
	if rt.Options.CPUs > 0 {
		t.Attrs["sandbox.cpus"] = fmt.Sprint(rt.Options.CPUs)
	}
	if rt.Options.MemoryBytes > 0 {
		t.Attrs["sandbox.memory_bytes"] = fmt.Sprint(rt.Options.MemoryBytes)
	}
	t.Attrs["trial.timeout"] = limit.String()

	tctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	scratch := cell.Params["scratch"]
	if scratch == "" {
		scratch = driver.ScratchRootfs
	}
	specs := 0
	newSpec := func() driver.Spec {
		id := SandboxID(r.RunID, st.Seq, specs)
		specs++
		return driver.Spec{
			ID:          id,
			Image:       r.Image,
			Scratch:     scratch,
			CPUs:        rt.Options.CPUs,
			MemoryBytes: rt.Options.MemoryBytes,
			Labels:      map[string]string{"isobench.run": r.RunID, "isobench.seq": fmt.Sprint(st.Seq)},
		}
	}
	target := &workload.Target{
		Runtime:     rt.Info,
		Driver:      rt.Driver,
		NewSpec:     newSpec,
		Params:      maps.Clone(cell.Params),
		ScratchKind: scratch,
		Host:        r.Host,
	}
	if sm, ok := w.(workload.SandboxMaker); !ok || !sm.MakesSandboxes() {
		inst, err := rt.Driver.Create(tctx, newSpec())
		if err != nil {
			return fail(fmt.Errorf("creating sandbox: %w", err))
		}
		defer func() {
			cctx, cc := r.cleanupContext(ctx)
			defer cc()
			errStop := inst.Stop(cctx)
			if errors.Is(context.Cause(cctx), errHurry) {
				// The graceful stop was cut short on purpose; Close frees
				// the sandbox the hard way and says what it could not.
				errStop = nil
			}
			errClose := inst.Close()
			if err := errors.Join(errStop, errClose); err != nil {
				// A sandbox that cannot be freed spoils the trial: what it
				// measured may be fine, but the host is not.
				t.Status = result.StatusFailed
				t.Error = strings.TrimPrefix(t.Error+"; cleanup: "+err.Error(), "; ")
			}
		}()
		startLimit := orDefault(r.StartTimeout, 2*time.Minute)
		sctx, sc := context.WithTimeout(tctx, startLimit)
		err = inst.Start(sctx)
		startTimedOut := sctx.Err() != nil && tctx.Err() == nil
		sc()
		if err != nil {
			if startTimedOut {
				t.Status = result.StatusTimeout
				t.Error = fmt.Sprintf("starting sandbox: timed out after %s: %v", startLimit, err)
				return t
			}
			return fail(fmt.Errorf("starting sandbox: %w", err))
		}
		target.Instance = inst
		target.Scratch = driver.ScratchDir(inst)
	}
	if err := w.Run(tctx, target, rec); err != nil {
		return fail(err)
	}
	if len(t.Samples) == 0 && rec.err == nil {
		return fail(fmt.Errorf("workload %s recorded no samples", w.Name()))
	}
	t.Status = result.StatusOK
	return t
}

// SandboxID names the n-th sandbox of trial seq of a run. The numbers have
// a fixed width so that no id is a prefix of another one of the same run:
// gVisor's runsc looks containers up by id prefix and refuses an id that
// starts another live one as ambiguous. Every character is one a host name
// may hold, as system containers and VMs use the id as one.
func SandboxID(runID string, seq, n int) string {
	return fmt.Sprintf("%s%s-%05d-%03d", driver.IDPrefix, runID, seq, n)
}

// ownCPU returns the user and system CPU time of the isobench process
// itself (every thread, not its children).
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// recorder collects a trial's samples, checking them against the workload's
// declared metrics.
type recorder struct {
	w     workload.Workload
	trial *result.Trial
	err   error
}

func (r *recorder) Sample(metric string, v float64) {
	s, err := workload.Sample(r.w, metric, v)
	if err != nil {
		r.err = errors.Join(r.err, err)
		return
	}
	r.trial.Samples = append(r.trial.Samples, s)
}

func (r *recorder) Attr(k, v string) { r.trial.Attrs[k] = v }

func (r *recorder) Raw(name, text string) {
	if text != "" {
		r.trial.Raw[name] = text
	}
}
