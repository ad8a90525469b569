package density

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
)

// Workload is the density workload.
type Workload struct{}

var (
	_ workload.Workload       = Workload{}
	_ workload.SandboxMaker   = Workload{}
	_ workload.TrialTimeouter = Workload{}
)

// Ramp is the value of parameter n that starts sandboxes until max or the
// first failure.
const Ramp = "ramp"

// Name implements workload.Workload.
func (Workload) Name() string { return "density" }

// Doc implements workload.Workload.
func (Workload) Doc() string {
	return "N sandboxes kept alive at once: start rate, time until all are ready, host memory (PSS, cgroup) per sandbox, start latency as N grows"
}

// MakesSandboxes implements workload.SandboxMaker.
func (Workload) MakesSandboxes() bool { return true }

// Params implements workload.Workload.
func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "n", Default: "1,10,25,50", Doc: "sandboxes alive at once: a comma-separated list (one cell each, the density curve) or \"ramp\" (start until max or the first failure)", Profiles: map[string]string{"quick": "1,10,20"}},
		{Name: "max", Default: "200", Doc: "with n=ramp: the most sandboxes to start"},
		{Name: "parallel", Default: "1", Doc: "sandboxes started at the same time (1: one after another)"},
		{Name: "settle", Default: "2s", Doc: "wait after all are ready before reading memory", Profiles: map[string]string{"quick": "1s"}},
	}
}

// Metrics implements workload.Workload.
func (Workload) Metrics() []workload.Metric {
	return []workload.Metric{
		{Name: "pss_per_sandbox", Unit: workload.UnitBytes, Label: "PSS per sandbox", Headline: true},
		{Name: "cgroup_memory_per_sandbox", Unit: workload.UnitBytes, Label: "cgroup memory per sandbox", Headline: true},
		{Name: "rss_per_sandbox", Unit: workload.UnitBytes, Label: "RSS per sandbox"},
		{Name: "processes_per_sandbox", Unit: workload.UnitCount, Label: "host processes per sandbox"},
		{Name: "start_median", Unit: workload.UnitSeconds, Label: "median start", Headline: true},
		{Name: "start_slowdown", Unit: workload.UnitRatio, Label: "start slowdown (last quarter / first)"},
		{Name: "all_ready", Unit: workload.UnitSeconds, Label: "time until all ready", Headline: true},
		{Name: "start_rate", Unit: workload.UnitOpsPerSec, Label: "starts/s", HigherIsBetter: true},
		{Name: "teardown", Unit: workload.UnitSeconds, Label: "teardown of all"},
		{Name: "reached", Unit: workload.UnitCount, Label: "sandboxes alive", HigherIsBetter: true},
	}
}

type config struct {
	n        int // sandboxes; with ramp, the most
	ramp     bool
	parallel int
	settle   time.Duration
}

// maxSandboxes bounds n and max: a few thousand sandboxes alive at once
// is past where every runtime's curve has shown its shape, and the host's
// limits (processes, memory, mounts) come before it.
const maxSandboxes = 5000

func parse(p map[string]string) (config, error) {
	var c config
	switch v := p["n"]; {
	case v == Ramp:
		c.ramp = true
		n, err := strconv.Atoi(p["max"])
		if err != nil || n < 1 || n > maxSandboxes {
			return c, fmt.Errorf("parameter max: %q is not a count from 1 to %d", p["max"], maxSandboxes)
		}
		c.n = n
	case strings.Contains(v, ","):
		return c, fmt.Errorf("parameter n: %q lists several counts; a cell takes one (the plan makes one cell per count)", v)
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSandboxes {
			return c, fmt.Errorf("parameter n: %q is not a count from 1 to %d nor %q", v, maxSandboxes, Ramp)
		}
		c.n = n
	}
	par, err := strconv.Atoi(p["parallel"])
	if err != nil || par < 1 || par > 256 {
		return c, fmt.Errorf("parameter parallel: %q is not a count from 1 to 256", p["parallel"])
	}
	c.parallel = par
	d, err := time.ParseDuration(p["settle"])
	if err != nil || d < 0 || d > time.Hour {
		return c, fmt.Errorf("parameter settle: %q is not a duration from 0 to 1h (e.g. 2s)", p["settle"])
	}
	c.settle = d
	return c, nil
}

// Sweep gives one parameter set per listed count (see plan.Sweeper).
func (Workload) Sweep(p map[string]string) ([]map[string]string, error) {
	var out []map[string]string
	seen := map[string]bool{}
	for _, f := range strings.Split(p["n"], ",") {
		f = strings.TrimSpace(f)
		if seen[f] {
			return nil, fmt.Errorf("parameter n: %q is listed twice", f)
		}
		seen[f] = true
		q := maps.Clone(p)
		q["n"] = f
		if _, err := parse(q); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

// Check implements workload.Workload.
func (Workload) Check(_ driver.Info, p map[string]string) error {
	_, err := parse(p)
	return err
}

// perSandbox bounds one sandbox's start and teardown under the slowest
// isolation.
const perSandbox = 2 * time.Minute

// TrialTimeout implements workload.TrialTimeouter.
func (Workload) TrialTimeout(p map[string]string) time.Duration {
	c, err := parse(p)
	if err != nil {
		return 0
	}
	return time.Duration(c.n)*perSandbox/time.Duration(c.parallel) + c.settle + 5*time.Minute
}

// sandbox is one started instance with its start latency.
type sandbox struct {
	inst  driver.Instance
	start time.Duration // create + start
	index int
}

// Run implements workload.Workload.
func (Workload) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) (err error) {
	c, err := parse(t.Params)
	if err != nil {
		return err
	}
	if t.Driver == nil || t.NewSpec == nil {
		return errors.New("density: the runner gave no driver to make sandboxes with")
	}
	var (
		mu      sync.Mutex
		alive   []sandbox
		made    []driver.Instance // everything created, started or not
		firstEr error
	)
	// Whatever happens, everything made goes.
	tornDown := false
	defer func() {
		if tornDown {
			return
		}
		if _, terr := teardown(ctx, made, c.parallel); terr != nil {
			err = errors.Join(err, fmt.Errorf("density: tearing down: %w", terr))
		}
	}()

	newSpec := t.NewSpec
	begin := time.Now()
	var lastReady time.Time
	sem := make(chan struct{}, c.parallel)
	var wg sync.WaitGroup
	for i := 0; i < c.n; i++ {
		mu.Lock()
		stop := firstEr != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		spec := newSpec()
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			inst, err := t.Driver.Create(ctx, spec)
			if err == nil {
				mu.Lock()
				made = append(made, inst)
				mu.Unlock()
				err = inst.Start(ctx)
			}
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstEr == nil {
					firstEr = fmt.Errorf("sandbox %d: %w", i+1, err)
				}
				return
			}
			alive = append(alive, sandbox{inst: inst, start: now.Sub(t0), index: i})
			if now.After(lastReady) {
				lastReady = now
			}
		}(i)
	}
	wg.Wait()
	if firstEr == nil && ctx.Err() != nil {
		firstEr = ctx.Err()
	}
	if firstEr != nil && (!c.ramp || len(alive) == 0 || ctx.Err() != nil) {
		return fmt.Errorf("density: %d of %d sandboxes running when one failed: %w", len(alive), c.n, firstEr)
	}
	if firstEr != nil {
		rec.Attr("density.stopped_by", firstEr.Error())
	}
	sort.Slice(alive, func(a, b int) bool { return alive[a].index < alive[b].index })
	n := len(alive)
	rec.Sample("reached", float64(n))
	allReady := lastReady.Sub(begin)
	rec.Sample("all_ready", allReady.Seconds())
	if allReady > 0 {
		rec.Sample("start_rate", float64(n)/allReady.Seconds())
	}
	starts := make([]float64, n)
	for i, s := range alive {
		starts[i] = s.start.Seconds()
	}
	rec.Sample("start_median", median(starts))
	if q := n / 4; q >= 1 {
		if first := median(starts[:q]); first > 0 {
			rec.Sample("start_slowdown", median(starts[n-q:])/first)
		}
	}
	pooled := workload.Pooled{"start_median": starts}
	rec.Raw(workload.PooledRaw, pooled.Encode())

	select {
	case <-time.After(c.settle):
	case <-ctx.Done():
		return fmt.Errorf("density: waiting %s before reading memory: %w", c.settle, ctx.Err())
	}
	mem, err := measure(alive)
	if err != nil {
		return fmt.Errorf("density: %w", err)
	}
	mem.record(rec, n)

	t0 := time.Now()
	tornDown = true
	slow, err := teardown(ctx, made, c.parallel)
	if err != nil {
		return fmt.Errorf("density: tearing down: %w", err)
	}
	rec.Sample("teardown", time.Since(t0).Seconds())
	if slow > 0 {
		rec.Attr("density.slow_stops", fmt.Sprintf("%d of %d sandboxes did not stop gracefully in time and were removed by force", slow, len(made)))
	}
	return nil
}

// memory is what the sandboxes cost the host together.
type memory struct {
	pss, rss, cgroup int64
	procs            int
	hasProcs, hasCg  bool
	noProcs, noCg    string // why a figure is missing
}

// measure reads the memory of every sandbox's host processes and cgroups.
// A sandbox that has no process left has died: that is an error.
func measure(alive []sandbox) (memory, error) {
	var m memory
	for _, s := range alive {
		if hp, ok := s.inst.(driver.HostProcesses); ok {
			m.hasProcs = true
			pids := hp.HostPIDs()
			if len(pids) == 0 {
				return m, fmt.Errorf("sandbox %d has no host process left: it died while the others started", s.index+1)
			}
			for _, pid := range pids {
				pm, err := driver.ReadProcessMemory(pid)
				if err != nil {
					// A process of the sandbox that just exited (a
					// runtime's helper) costs nothing any more.
					continue
				}
				m.pss += pm.PSS
				m.rss += pm.RSS
				m.procs++
			}
		} else {
			m.noProcs = "the runtime's driver cannot name a sandbox's host processes"
		}
		if hc, ok := s.inst.(driver.HostCgroups); ok {
			v, ok, err := driver.CgroupMemory(hc.HostCgroups())
			if err != nil {
				return m, fmt.Errorf("sandbox %d: %w", s.index+1, err)
			}
			if ok {
				m.hasCg = true
				m.cgroup += v
			} else {
				m.noCg = "the sandbox's cgroups have no memory controller"
			}
		} else {
			m.noCg = "the runtime's driver names no cgroup of its sandboxes"
		}
	}
	return m, nil
}

func (m memory) record(rec workload.Recorder, n int) {
	if n == 0 {
		return
	}
	if m.hasProcs && m.noProcs == "" {
		rec.Sample("pss_per_sandbox", float64(m.pss)/float64(n))
		rec.Sample("rss_per_sandbox", float64(m.rss)/float64(n))
		rec.Sample("processes_per_sandbox", float64(m.procs)/float64(n))
	} else {
		rec.Attr("density.pss", "not measured: "+m.noProcs)
	}
	if m.hasCg && m.noCg == "" {
		rec.Sample("cgroup_memory_per_sandbox", float64(m.cgroup)/float64(n))
	} else {
		rec.Attr("density.cgroup_memory", "not measured: "+m.noCg)
	}
}

// teardownTimeout bounds the graceful stop of one sandbox in teardown;
// Close follows regardless.
const teardownTimeout = time.Minute

// teardown stops and closes every instance, up to parallel (at least 4) at
// once, on contexts of their own: an interrupted trial still frees all.
// Close frees everything and checks that nothing is left, so only its
// errors fail the teardown; a graceful stop that did not finish (a slow
// runtime under the load of many sandboxes going at once) is counted in
// slowStops, since Close then removed the sandbox the hard way.
func teardown(ctx context.Context, insts []driver.Instance, parallel int) (slowStops int, err error) {
	sem := make(chan struct{}, max(parallel, 4))
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, in := range insts {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
			errStop := in.Stop(sctx)
			cancel()
			errClose := in.Close()
			mu.Lock()
			defer mu.Unlock()
			if errStop != nil {
				slowStops++
			}
			if errClose != nil {
				errs = append(errs, errClose)
			}
		}()
	}
	wg.Wait()
	return slowStops, errors.Join(errs...)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
