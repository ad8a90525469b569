package startup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
)

// Workload is the startup workload.
type Workload struct{}

var (
	_ workload.Workload       = Workload{}
	_ workload.SandboxMaker   = Workload{}
	_ workload.TrialTimeouter = Workload{}
	_ workload.Discloser      = Workload{}
)

// Name implements workload.Workload.
func (Workload) Name() string { return "startup" }

// Doc implements workload.Workload.
func (Workload) Doc() string {
	return "sandbox life cycle timed in phases (create, start, ready, exec, stop, delete), warm and cold"
}

// MakesSandboxes implements workload.SandboxMaker.
func (Workload) MakesSandboxes() bool { return true }

// Params implements workload.Workload.
func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "starts", Default: "10", Doc: "warm sandboxes started one after another in each trial; the trial's figures are their medians, every single start is kept for the tail percentiles", Profiles: map[string]string{"quick": "5"}},
		{Name: "cold", Default: "true", Doc: "true: each trial first starts one sandbox right after writing back and dropping the host's page cache (the cold_* figures); false: none"},
		{Name: "exec", Default: defaultExec, Doc: "the trivial command the exec phase runs in each sandbox (space-separated argv)"},
		{Name: "oneshot", Default: "true", Doc: "true: each trial also runs starts run-to-completion sandboxes whose only process is the exec command (runc run, docker run --rm), where the runtime can (the oneshot figures); false: none"},
	}
}

// Phases of one sandbox's life, in order; "start_ready" is start and ready
// together (the whole Start call, for runtimes that cannot split it) and
// "total" all of them.
func phases() []string {
	return []string{"create", "start", "ready", "start_ready", "exec", "stop", "delete", "total"}
}

// phaseLabel describes each phase for tables.
var phaseLabel = map[string]string{
	"create":      "create",
	"start":       "start (runtime)",
	"ready":       "ready (agent)",
	"start_ready": "start+ready",
	"exec":        "exec",
	"stop":        "stop",
	"delete":      "delete",
	"total":       "total",
}

// Metrics implements workload.Workload.
func (Workload) Metrics() []workload.Metric {
	var ms []workload.Metric
	for _, p := range phases() {
		ms = append(ms, workload.Metric{Name: p, Unit: workload.UnitSeconds, Label: phaseLabel[p],
			Headline: p == "total" || p == "start_ready"})
	}
	for _, p := range phases() {
		ms = append(ms, workload.Metric{Name: "cold_" + p, Unit: workload.UnitSeconds, Label: "cold " + phaseLabel[p],
			Headline: p == "total"})
	}
	return append(ms,
		workload.Metric{Name: "oneshot", Unit: workload.UnitSeconds, Label: "run to completion"},
		workload.Metric{Name: "oneshot_total", Unit: workload.UnitSeconds, Label: "run to completion, create to delete"},
	)
}

type config struct {
	starts  int
	cold    bool
	oneshot bool
	exec    []string
}

func parse(p map[string]string) (config, error) {
	var c config
	n, err := strconv.Atoi(p["starts"])
	if err != nil || n < 1 || n > 10000 {
		return c, fmt.Errorf("parameter starts: %q is not a count from 1 to 10000", p["starts"])
	}
	c.starts = n
	switch p["cold"] {
	case "true":
		c.cold = true
	case "false":
	default:
		return c, fmt.Errorf("parameter cold: %q is not true or false", p["cold"])
	}
	switch p["oneshot"] {
	case "true":
		c.oneshot = true
	case "false":
	default:
		return c, fmt.Errorf("parameter oneshot: %q is not true or false", p["oneshot"])
	}
	c.exec = strings.Fields(p["exec"])
	if len(c.exec) == 0 {
		return c, errors.New("parameter exec: empty command")
	}
	return c, nil
}

// defaultExec is the exec parameter's default, which is isobench's own
// choice and not disclosed.
const defaultExec = "/bin/true"

// Disclose implements workload.Discloser: an exec command the user chose
// runs in every sandbox the workload starts, and on the host baseline as a
// host process, as root.
func (Workload) Disclose(p map[string]string) ([]workload.Disclosure, error) {
	if strings.Join(strings.Fields(p["exec"]), " ") == defaultExec {
		return nil, nil
	}
	note := "the exec phase runs it in every sandbox started"
	if p["oneshot"] == "true" {
		note += ", and as the only process of each run-to-completion sandbox"
	}
	return []workload.Disclosure{{Kind: workload.DiscloseCommand, Param: "exec", What: p["exec"], Note: note, Sandboxed: true}}, nil
}

// Check implements workload.Workload: every runtime can run it.
func (Workload) Check(_ driver.Info, p map[string]string) error {
	_, err := parse(p)
	return err
}

// perSandbox bounds one sandbox's whole life under the slowest isolation.
const perSandbox = 3 * time.Minute

// TrialTimeout implements workload.TrialTimeouter.
func (Workload) TrialTimeout(p map[string]string) time.Duration {
	c, err := parse(p)
	if err != nil {
		return 0
	}
	n := c.starts + 1
	if c.oneshot {
		n += c.starts
	}
	return time.Duration(n)*perSandbox + time.Minute
}

// Times are one sandbox's phases, in seconds; a phase the driver cannot
// tell apart is absent.
type Times map[string]float64

// Cycle makes one sandbox with spec and takes it through its life: create,
// start (split into start and ready when the instance is a
// driver.StartTimer), exec of argv, stop and delete (Close). It always
// closes what it made; an error says which phase failed.
func Cycle(ctx context.Context, d driver.Driver, spec driver.Spec, argv []string) (Times, error) {
	tm := Times{}
	t0 := time.Now()
	inst, err := d.Create(ctx, spec)
	t1 := time.Now()
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = inst.Close()
		}
	}()
	tm["create"] = t1.Sub(t0).Seconds()
	if err := inst.Start(ctx); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	t2 := time.Now()
	tm["start_ready"] = t2.Sub(t1).Seconds()
	if st, ok := inst.(driver.StartTimer); ok {
		if timing, ok := st.StartTiming(); ok {
			if err := timing.Check(); err != nil {
				return nil, err
			}
			// The driver's Begin is at most a hair after t1 and its Ready
			// a hair before t2: the split is of the timed whole.
			tm["start"] = timing.Launched.Sub(t1).Seconds()
			tm["ready"] = t2.Sub(timing.Launched).Seconds()
		}
	}
	var stderr strings.Builder
	if err := inst.Exec(ctx, argv, nil, &limited{w: &stderr, n: 2000}); err != nil {
		return nil, fmt.Errorf("exec %s: %w", strings.Join(argv, " "), err)
	}
	t3 := time.Now()
	tm["exec"] = t3.Sub(t2).Seconds()
	if err := inst.Stop(ctx); err != nil {
		return nil, fmt.Errorf("stop: %w", err)
	}
	t4 := time.Now()
	tm["stop"] = t4.Sub(t3).Seconds()
	closed = true
	if err := inst.Close(); err != nil {
		return nil, fmt.Errorf("delete: %w", err)
	}
	t5 := time.Now()
	tm["delete"] = t5.Sub(t4).Seconds()
	tm["total"] = t5.Sub(t0).Seconds()
	return tm, nil
}

// errNoOneShot says a driver's instances cannot run to completion.
var errNoOneShot = errors.New("the runtime's driver cannot run a command as the sandbox's only process")

// OneShot makes one sandbox with spec and runs argv as its only process,
// to completion (driver.OneShot): "oneshot" is the run alone, from the call
// to the runtime's return, and "oneshot_total" create to delete. It
// returns errNoOneShot, having closed the instance, when the driver cannot.
func OneShot(ctx context.Context, d driver.Driver, spec driver.Spec, argv []string) (Times, error) {
	t0 := time.Now()
	inst, err := d.Create(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	once, ok := inst.(driver.OneShot)
	if !ok {
		return nil, errors.Join(errNoOneShot, inst.Close())
	}
	var stderr strings.Builder
	t1 := time.Now()
	took, err := once.RunOnce(ctx, argv, nil, &limited{w: &stderr, n: 2000})
	if took <= 0 {
		took = time.Since(t1)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("run %s: %w", strings.Join(argv, " "), err), inst.Close())
	}
	if err := inst.Close(); err != nil {
		return nil, fmt.Errorf("delete: %w", err)
	}
	return Times{"oneshot": took.Seconds(), "oneshot_total": time.Since(t0).Seconds()}, nil
}

// limited keeps the first n bytes written to it.
type limited struct {
	w interface{ WriteString(string) (int, error) }
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(l.n, len(p))
		l.w.WriteString(string(p[:k]))
		l.n -= k
	}
	return len(p), nil
}

// Run implements workload.Workload.
func (Workload) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) error {
	c, err := parse(t.Params)
	if err != nil {
		return err
	}
	if t.Driver == nil || t.NewSpec == nil {
		return errors.New("startup: the runner gave no driver to make sandboxes with")
	}
	if c.cold {
		if t.Host == nil {
			return errors.New("startup: cold=true needs the host's page cache dropped, and this run cannot (set cold=false)")
		}
		if err := t.Host.DropCaches(ctx); err != nil {
			return fmt.Errorf("startup: cold start: %w", err)
		}
		tm, err := Cycle(ctx, t.Driver, t.NewSpec(), c.exec)
		if err != nil {
			return fmt.Errorf("startup: cold sandbox: %w", err)
		}
		for _, p := range phases() {
			if v, ok := tm[p]; ok {
				rec.Sample("cold_"+p, v)
			}
		}
		rec.Attr("startup.cold", "the first sandbox of each trial starts right after the host's page cache was written back and dropped")
	}
	pooled := workload.Pooled{}
	for i := 0; i < c.starts; i++ {
		tm, err := Cycle(ctx, t.Driver, t.NewSpec(), c.exec)
		if err != nil {
			return fmt.Errorf("startup: sandbox %d of %d: %w", i+1, c.starts, err)
		}
		for _, p := range phases() {
			if v, ok := tm[p]; ok {
				pooled.Add(p, v)
			}
		}
	}
	if c.oneshot {
		for i := 0; i < c.starts; i++ {
			tm, err := OneShot(ctx, t.Driver, t.NewSpec(), c.exec)
			if errors.Is(err, errNoOneShot) {
				rec.Attr("startup.oneshot", errNoOneShot.Error())
				break
			}
			if err != nil {
				return fmt.Errorf("startup: run-to-completion sandbox %d of %d: %w", i+1, c.starts, err)
			}
			for p, v := range tm {
				pooled.Add(p, v)
			}
		}
	}
	rec.Raw(workload.PooledRaw, pooled.Encode())
	for _, p := range append(phases(), "oneshot", "oneshot_total") {
		if vs := pooled[p]; len(vs) > 0 {
			rec.Sample(p, median(vs))
		}
	}
	if len(pooled["ready"]) == 0 {
		rec.Attr("startup.split", "the runtime's driver cannot tell start from ready: start_ready is the whole start")
	}
	rec.Attr("startup.starts", strconv.Itoa(c.starts))
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
