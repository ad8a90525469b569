package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/host"
	"github.com/isobench/isobench/internal/driver/oci"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/testutil"
	"github.com/isobench/isobench/internal/workload"
)

// sleeper is a workload whose command never ends on its own: `sleep` for
// an hour, with no limit of the agent's. It gives no trial time limit of
// its own unless limit is set.
type sleeper struct{ limit time.Duration }

func (sleeper) Name() string                                   { return "sleeper" }
func (sleeper) Doc() string                                    { return "sleeps for an hour" }
func (sleeper) Params() []workload.Param                       { return nil }
func (sleeper) Check(driver.Info, map[string]string) error     { return nil }
func (s sleeper) TrialTimeout(map[string]string) time.Duration { return s.limit }
func (sleeper) Metrics() []workload.Metric {
	return []workload.Metric{{Name: "wall", Unit: workload.UnitSeconds, Label: "wall"}}
}
func (sleeper) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) error {
	res, err := t.MustRun(ctx, agent.Request{Argv: []string{"sleep", "3600"}})
	if err != nil {
		return err
	}
	rec.Sample("wall", res.Wall().Seconds())
	return nil
}

// quick is a workload that ends at once.
type quick struct{ sleeper }

func (quick) Name() string { return "quick" }
func (quick) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) error {
	res, err := t.MustRun(ctx, agent.Request{Argv: []string{"true"}})
	if err != nil {
		return err
	}
	rec.Sample("wall", res.Wall().Seconds())
	return nil
}

func hostRuntime(t *testing.T) (Runtime, driver.Env) {
	t.Helper()
	base := t.TempDir()
	env := driver.Env{StateDir: filepath.Join(base, "state"), RunDir: filepath.Join(base, "run")}
	d, err := host.New(env, "")
	if err != nil {
		t.Fatal(err)
	}
	info, err := d.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return Runtime{Driver: d, Info: info}, env
}

// TestTrialTimeoutHungCommand: a command that hangs is killed at the
// trial's limit, the trial is kept as timed out, and the run goes on. The
// limit comes from the suite, else from the workload, else the runner.
func TestTrialTimeoutHungCommand(t *testing.T) {
	img := testutil.MinimalImage(t)
	for _, c := range []struct {
		name   string
		suite  time.Duration
		wl     time.Duration
		runner time.Duration
		want   time.Duration
	}{
		{"suite", 2 * time.Second, time.Hour, time.Hour, 2 * time.Second},
		{"workload default", 0, 2 * time.Second, time.Hour, 2 * time.Second},
		{"runner default", 0, 0, 2 * time.Second, 2 * time.Second},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			rt, env := hostRuntime(t)
			var reg workload.Registry
			reg.Register(sleeper{limit: c.wl})
			reg.Register(quick{})
			p, err := plan.Expand(plan.Suite{
				Runtimes: []string{"host"}, Workloads: []plan.WorkloadConfig{{Name: "sleeper"}, {Name: "quick"}},
				Profile: plan.ProfileQuick, Trials: 2, Seed: 5, Order: plan.OrderBlocks, Timeout: c.suite,
			}, &reg)
			if err != nil {
				t.Fatal(err)
			}
			sink := &sliceSink{}
			r := &Runner{RunID: "test-timeout", Image: img, Runtimes: map[string]Runtime{"host": rt}, Workloads: &reg, Sink: sink, TrialTimeout: c.runner}
			if _, err := r.Run(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if len(sink.trials) != 4 {
				t.Fatalf("%d trials kept, want 4: the run goes on after a timeout", len(sink.trials))
			}
			for _, tr := range sink.trials {
				switch tr.Cell.Workload {
				case "sleeper":
					if tr.Status != result.StatusTimeout || !strings.Contains(tr.Error, "timed out after "+c.want.String()) {
						t.Errorf("sleeper trial %d: %s (%s), want timed out after %s", tr.Seq, tr.Status, tr.Error, c.want)
					}
					if tr.Attrs["trial.timeout"] != c.want.String() {
						t.Errorf("trial attribute trial.timeout = %q, want %s", tr.Attrs["trial.timeout"], c.want)
					}
				case "quick":
					if tr.Status != result.StatusOK {
						t.Errorf("quick trial %d after the timeouts: %s (%s)", tr.Seq, tr.Status, tr.Error)
					}
				}
			}
			// The killed command goes, and the agent that ran it. Other
			// tests may sleep too: only ours, under this run directory,
			// count.
			for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				left := procsUnder(env.RunDir, "sleep 3600")
				if len(left) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("the hung command still runs: %s", strings.Join(left, "; "))
					break
				}
			}
		})
	}
}

// TestTrialTimeoutHungRuntime uses a runtime that really hangs here:
// gVisor on its kvm platform, where nested virtualization does not work,
// never starts a sandbox. The trial's limit kills it, the trial is kept as
// timed out, everything the runtime made is removed, and the next trial
// runs. Where runsc:kvm works (real KVM), its trial may pass instead.
func TestTrialTimeoutHungRuntime(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "runsc")
	img := testutil.MinimalImage(t)
	rt, _ := hostRuntime(t)
	base := t.TempDir()
	env := driver.Env{StateDir: filepath.Join(base, "state"), RunDir: filepath.Join(base, "run")}
	kvm, err := oci.New(env, "runsc", "kvm")
	if err != nil {
		t.Fatal(err)
	}
	var reg workload.Registry
	reg.Register(quick{})
	p, err := plan.Expand(plan.Suite{
		Runtimes: []string{"runsc:kvm", "host"}, Workloads: []plan.WorkloadConfig{{Name: "quick"}},
		Profile: plan.ProfileQuick, Trials: 1, Seed: 1, Order: plan.OrderBlocks, Timeout: 8 * time.Second,
	}, &reg)
	if err != nil {
		t.Fatal(err)
	}
	sink := &sliceSink{}
	runID := fmt.Sprintf("test-hung-runtime-%d", os.Getpid())
	r := &Runner{RunID: runID, Image: img, Workloads: &reg, Sink: sink, Runtimes: map[string]Runtime{
		"host":      rt,
		"runsc:kvm": {Driver: kvm, Info: driver.Info{Name: "runsc:kvm"}},
	}}
	start := time.Now()
	if _, err := r.Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Logf("run took %.1fs", time.Since(start).Seconds())
	if len(sink.trials) != 2 {
		t.Fatalf("%d trials kept, want 2", len(sink.trials))
	}
	for _, tr := range sink.trials {
		t.Logf("%s: %s %s", tr.Cell.Runtime, tr.Status, firstLineOf(tr.Error))
		switch {
		case tr.Cell.Runtime == "host" && tr.Status != result.StatusOK:
			t.Errorf("the host trial after the hung one: %s (%s)", tr.Status, tr.Error)
		case tr.Cell.Runtime == "runsc:kvm" && tr.Status == result.StatusOK:
			t.Logf("runsc:kvm works on this host: nothing hung")
		case tr.Cell.Runtime == "runsc:kvm" && tr.Status != result.StatusTimeout:
			t.Errorf("runsc:kvm trial: %s (%s), want timed out", tr.Status, tr.Error)
		}
	}
	// Nothing of the hung sandbox is left.
	if ents, _ := os.ReadDir(env.RunDir); len(ents) > 0 {
		t.Errorf("left in the run directory: %v", ents)
	}
	if recs, _ := filepath.Glob(filepath.Join(env.StateDir, "oci", "*.json")); len(recs) > 0 {
		t.Errorf("state records left: %v", recs)
	}
	out, _ := exec.Command(oci.Binary("runsc"), "list", "--quiet").Output()
	if strings.Contains(string(out), runID) {
		t.Errorf("runsc still lists the sandbox: %s", out)
	}
	for _, pid := range procsMentioning(t, runID) {
		t.Errorf("process left: %s", pid)
	}
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 160 {
		l = l[:160] + "…"
	}
	return l
}

// procsMentioning lists processes whose command line holds s.
func procsMentioning(t *testing.T, s string) []string {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || e.Name() == "self" {
			continue
		}
		if cmd := string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})); strings.Contains(cmd, s) && e.Name() != "thread-self" {
			out = append(out, e.Name()+": "+cmd)
		}
	}
	return out
}

// TestHurryStillTidy interrupts a runc trial and asks to hurry at once:
// the sandbox is freed without its graceful stop, and still completely,
// and the trial is kept as interrupted with no cleanup error.
func TestHurryStillTidy(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "runc")
	img := testutil.MinimalImage(t)
	base := t.TempDir()
	env := driver.Env{StateDir: filepath.Join(base, "state"), RunDir: filepath.Join(base, "run")}
	d, err := oci.New(env, "runc", "")
	if err != nil {
		t.Fatal(err)
	}
	info, err := d.Probe(context.Background())
	if err != nil {
		t.Skipf("runc does not work here: %v", err)
	}
	var reg workload.Registry
	reg.Register(sleeper{})
	p, err := plan.Expand(plan.Suite{Runtimes: []string{"runc"}, Workloads: []plan.WorkloadConfig{{Name: "sleeper"}}, Profile: plan.ProfileQuick, Trials: 3, Seed: 2}, &reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hurry := make(chan struct{})
	sink := &sliceSink{}
	obs := &startObserver{started: make(chan struct{}, 10)}
	runID := fmt.Sprintf("test-hurry-%d", os.Getpid())
	r := &Runner{RunID: runID, Image: img, Workloads: &reg, Sink: sink, Observer: obs, Hurry: hurry,
		Runtimes: map[string]Runtime{"runc": {Driver: d, Info: info}}}
	go func() {
		<-obs.started
		// Interrupted once the sleep runs in the sandbox, then hurried.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if len(procsMentioning(t, "sleep 3600")) > 0 {
				break
			}
		}
		cancel()
		close(hurry)
	}()
	_, err = r.Run(ctx, p)
	if err == nil {
		t.Fatal("the run was not interrupted")
	}
	if len(sink.trials) != 1 {
		t.Fatalf("%d trials kept, want the 1 interrupted", len(sink.trials))
	}
	tr := sink.trials[0]
	if tr.Status != result.StatusInterrupted || strings.Contains(tr.Error, "cleanup") {
		t.Errorf("trial: %s (%s), want interrupted with a clean cleanup", tr.Status, tr.Error)
	}
	if ents, _ := os.ReadDir(env.RunDir); len(ents) > 0 {
		t.Errorf("left in the run directory: %v", ents)
	}
	if recs, _ := filepath.Glob(filepath.Join(env.StateDir, "oci", "*.json")); len(recs) > 0 {
		t.Errorf("state records left: %v", recs)
	}
	if out, _ := exec.Command("runc", "list", "--quiet").Output(); strings.Contains(string(out), runID) {
		t.Errorf("runc still lists the sandbox: %s", out)
	}
	if left := procsMentioning(t, "isobench-"+runID); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
}

type startObserver struct{ started chan struct{} }

func (o *startObserver) TrialStarted(plan.Step, result.Cell, int) { o.started <- struct{}{} }
func (o *startObserver) TrialEnded(result.Trial, int)             {}

// procsUnder lists the processes whose command line holds s and whose
// working directory is under dir.
func procsUnder(dir, s string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || e.Name() == "self" || e.Name() == "thread-self" {
			continue
		}
		cmd := string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if strings.Contains(cmd, s) && strings.HasPrefix(cwd, dir) {
			out = append(out, fmt.Sprintf("pid %s: %s (in %s)", e.Name(), cmd, cwd))
		}
	}
	return out
}
