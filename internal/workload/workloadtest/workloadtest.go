package workloadtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/host"
	"github.com/isobench/isobench/internal/driver/oci"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/runner"
	"github.com/isobench/isobench/internal/testutil"
	"github.com/isobench/isobench/internal/workload"
)

// Runtimes are the runtimes RequireRuntime knows: the host baseline and the
// OCI runtimes installed by isobench setup --tests.
func Runtimes() []string { return []string{"host", "runc", "crun", "runsc"} }

type imageBuild struct {
	once sync.Once
	img  *image.Image
	err  error
}

// built is the workload image of this test process: built once, like the
// agent binary (testutil.Agent).
var built imageBuild

// runs numbers the trials of this test process, for unique sandbox names.
var runs atomic.Int64

// Image returns the real workload image (the agent, sysbench, fio,
// busybox), built once per test process into bin/test/image-cache of the
// checkout; the cache is content-addressed and safe for concurrent test
// processes. It skips the test when the image's tools are not installed.
func Image(t testing.TB) *image.Image {
	t.Helper()
	for _, tool := range image.DefaultTools() {
		testutil.RequireBinary(t, tool)
	}
	if _, err := os.Stat(image.DefaultBusybox); err != nil {
		t.Skipf("no static busybox at %s (Debian package busybox-static)", image.DefaultBusybox)
	}
	agentBin := testutil.Agent(t)
	built.once.Do(func() {
		cache := filepath.Join(testutil.ModuleRoot(t), "bin", "test", "image-cache")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		built.img, built.err = image.Build(ctx, image.BuildOptions{CacheDir: cache, Agent: agentBin})
	})
	if built.err != nil {
		t.Fatalf("building the workload image: %v", built.err)
	}
	return built.img
}

// Driver makes and probes the named runtime's driver in directories of the
// test. It skips unless the test runs as root with the runtime installed;
// where it is installed, a failing probe fails the test.
func Driver(t testing.TB, name string) (driver.Driver, driver.Info, driver.Env) {
	t.Helper()
	testutil.RequireRoot(t)
	dir := t.TempDir()
	env := driver.Env{StateDir: filepath.Join(dir, "state"), RunDir: filepath.Join(dir, "run")}
	var (
		d   driver.Driver
		err error
	)
	switch name {
	case host.Name:
		d, err = host.New(env, "")
	case "runc", "crun", "runsc":
		testutil.RequireBinary(t, name)
		d, err = oci.New(env, name, "")
	default:
		t.Fatalf("workloadtest: unknown runtime %q", name)
	}
	if err != nil {
		t.Fatalf("driver %s: %v", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	info, err := d.Probe(ctx)
	if err != nil {
		t.Fatalf("probing %s (installed, so it must work): %v", name, err)
	}
	if info.Name == "" {
		info.Name = name
	}
	return d, info, env
}

type sink struct{ trials []result.Trial }

func (s *sink) Trial(_ context.Context, tr result.Trial) error {
	s.trials = append(s.trials, tr)
	return nil
}

// Trial runs one measured trial of w on the runtime with the quick profile
// and the parameters of set, through the real runner (a fresh sandbox, the
// host operations of runner.HostOps), and returns it. set may name a
// parameter list that w sweeps; it must make exactly one cell. Every file
// the trial made on the host must be gone when it returns.
func Trial(t testing.TB, w workload.Workload, runtime string, set map[string]string) result.Trial {
	t.Helper()
	img := Image(t)
	d, info, env := Driver(t, runtime)
	reg, p := expand(t, w, runtime, set)
	if err := w.Check(info, p.Cells[0].Params); err != nil {
		if errors.Is(err, driver.ErrNotSupported) {
			t.Skipf("%s on %s: %v", w.Name(), runtime, err)
		}
		t.Fatalf("check: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tr := run(ctx, t, fmt.Sprintf("wt%d-%d", os.Getpid(), runs.Add(1)), img, runtime, d, info, reg, p)
	checkEmpty(t, env.RunDir)
	return tr
}

// TrialOn runs one measured trial of w with the quick profile and the
// parameters of set on a driver the caller made (one Trial does not know,
// such as a system container's), which it probes first, through the real
// runner, and returns it. Unlike Trial, a workload the driver says it
// cannot run fails the test, and so does a trial that did not succeed:
// the driver's tests promise the workload runs there.
func TrialOn(t testing.TB, d driver.Driver, w workload.Workload, set map[string]string) result.Trial {
	t.Helper()
	img := Image(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	info, err := d.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reg, p := expand(t, w, d.Name(), set)
	if err := w.Check(info, p.Cells[0].Params); err != nil {
		t.Fatalf("check: %v", err)
	}
	tr := run(ctx, t, fmt.Sprintf("%swl%d", d.Name(), os.Getpid()), img, d.Name(), d, info, reg, p)
	if tr.Status != result.StatusOK {
		t.Fatalf("trial %s: %s", tr.Status, tr.Error)
	}
	return tr
}

// Positive fails the test unless each of the trial's metrics is present
// and above zero.
func Positive(t testing.TB, tr result.Trial, metrics ...string) {
	t.Helper()
	for _, m := range metrics {
		if v, ok := tr.Value(m); !ok || !(v > 0) {
			t.Errorf("%s = %v (present %v), want > 0", m, v, ok)
		}
	}
}

// expand makes the plan of one trial of w on the runtime: exactly one cell.
func expand(t testing.TB, w workload.Workload, runtime string, set map[string]string) (*workload.Registry, *plan.Plan) {
	t.Helper()
	reg := &workload.Registry{}
	reg.Register(w)
	p, err := plan.Expand(plan.Suite{
		Runtimes:  []string{runtime},
		Workloads: []plan.WorkloadConfig{{Name: w.Name(), Set: set}},
		Profile:   plan.ProfileQuick,
		Trials:    1,
		Seed:      1,
	}, reg)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if len(p.Cells) != 1 {
		t.Fatalf("parameters %v make %d cells, want 1", set, len(p.Cells))
	}
	return reg, p
}

// run runs the plan through the real runner and returns its one trial.
func run(ctx context.Context, t testing.TB, runID string, img *image.Image, runtime string, d driver.Driver, info driver.Info, reg *workload.Registry, p *plan.Plan) result.Trial {
	t.Helper()
	s := &sink{}
	r := &runner.Runner{
		RunID:     runID,
		Image:     img,
		Runtimes:  map[string]runner.Runtime{runtime: {Driver: d, Info: info}},
		Workloads: reg,
		Sink:      s,
		Host:      runner.HostOps{},
	}
	trials, err := r.Run(ctx, p)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(trials) != 1 {
		t.Fatalf("%d trials, want 1", len(trials))
	}
	return trials[0]
}

// checkEmpty fails the test if dir holds anything (what a closed sandbox
// left behind).
func checkEmpty(t testing.TB, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return
		}
		t.Fatalf("reading %s: %v", dir, err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) > 0 {
		t.Errorf("the trial left %v in the run directory", names)
	}
}
