package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/drivertest"
	"github.com/isobench/isobench/internal/testutil"
)

// testEnv returns an Env in fresh directories of the test.
func testEnv(t testing.TB) driver.Env {
	t.Helper()
	dir := t.TempDir()
	return driver.Env{StateDir: filepath.Join(dir, "state"), RunDir: filepath.Join(dir, "run")}
}

// requireRuntime skips unless the test runs as root with the runtime in
// PATH. It does not skip on a failing Probe: where the binary is, the
// driver must work.
func requireRuntime(t testing.TB, name string) {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := exec.LookPath(name); err != nil {
		// Skip with the driver's own reason.
		d, nerr := New(testEnv(t), name, "")
		if nerr != nil {
			t.Fatal(nerr)
		}
		_, perr := d.Probe(context.Background())
		if !errors.Is(perr, driver.ErrNotSupported) {
			t.Fatalf("%s is not in PATH, but Probe says %v, not ErrNotSupported", name, perr)
		}
		t.Skip(perr)
	}
	if _, err := driverkit.StaticBusybox("the test sandbox"); err != nil {
		t.Skipf("probe needs a static busybox: %v", err)
	}
}

// leakCheck is the driver-specific part of "nothing left behind": the
// runtime does not list the id, no cgroup of it exists, no runsc lock file.
func leakCheck(d *Driver) drivertest.LeakCheck {
	return func(ctx context.Context, id string) error {
		res, err := d.resolve()
		if err != nil {
			return err
		}
		rt := d.runtimeFor(res, "", false)
		ids, err := rt.list(ctx)
		if err != nil {
			return err
		}
		var left []string
		for _, x := range ids {
			if x == id {
				left = append(left, d.fl.name+" list shows "+id)
			}
		}
		left = append(left, cgroupDirs(res.cg.Mounts, id)...)
		if d.fl.stateRoot != "" {
			m, _ := filepath.Glob(filepath.Join(d.fl.stateRoot, id+"*"))
			left = append(left, m...)
		}
		if len(left) > 0 {
			return fmt.Errorf("left: %s", strings.Join(left, ", "))
		}
		return nil
	}
}

func runSuite(t *testing.T, name, variant string) {
	requireRuntime(t, name)
	env := testEnv(t)
	d, err := New(env, name, variant)
	if err != nil {
		t.Fatal(err)
	}
	img := testutil.MinimalImage(t)
	drivertest.Run(t, d, img, drivertest.WithEnv(env), drivertest.WithLeakCheck(name, leakCheck(d)),
		drivertest.WithRuntimeState(runtimeState(d)))
}

// runtimeState is the runtime's own word on a sandbox (`<runtime> state`):
// whether it has the container and whether the container runs.
func runtimeState(d *Driver) drivertest.RuntimeState {
	return func(ctx context.Context, id string) (bool, bool, error) {
		res, err := d.resolve()
		if err != nil {
			return false, false, err
		}
		st, exists, err := d.runtimeFor(res, "", false).state(ctx, id)
		if err != nil || !exists {
			return exists, false, err
		}
		return true, st.Status != "stopped", nil
	}
}

func TestRuncSuite(t *testing.T)  { runSuite(t, "runc", "") }
func TestCrunSuite(t *testing.T)  { runSuite(t, "crun", "") }
func TestRunscSuite(t *testing.T) { runSuite(t, "runsc", "") }
func TestYoukiSuite(t *testing.T) { runSuite(t, "youki", "") }

func TestFactories(t *testing.T) {
	env := testEnv(t)
	tests := []struct {
		name     string
		f        driver.Factory
		variant  string
		wantName string
		wantErr  string
	}{
		{"runc", NewRunc, "", "runc", ""},
		{"crun", NewCrun, "", "crun", ""},
		{"youki", NewYouki, "", "youki", ""},
		{"runsc default", NewRunsc, "", "runsc", ""},
		{"runsc ptrace", NewRunsc, "ptrace", "runsc:ptrace", ""},
		{"runc variant", NewRunc, "fast", "", "runc has no variants"},
		{"runsc bad platform", NewRunsc, "ptr ace", "", "bad platform name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.f(env, tc.variant)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if d != nil {
					t.Errorf("driver %v with an error, want nil", d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Name() != tc.wantName {
				t.Errorf("Name() = %q, want %q", d.Name(), tc.wantName)
			}
		})
	}
	if _, err := New(env, "kata", ""); err == nil || !strings.Contains(err.Error(), "unknown OCI runtime") {
		t.Errorf("New(kata): %v", err)
	}
	if _, err := New(driver.Env{RunDir: "relative", StateDir: env.StateDir}, "runc", ""); err == nil {
		t.Error("New accepted a relative run directory")
	}
}

// fakeRuntime writes a shell script that answers --version and state like a
// runtime and does what body says for every other command.
func fakeRuntime(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fakert")
	script := `#!/bin/sh
for a in "$@"; do
  case "$a" in
  --version) echo "fakert version 9.9"; exit 0;;
  state|delete|kill) echo "container does not exist" >&2; exit 1;;
  list) exit 0;;
  run|create|exec) break;;
  esac
done
` + body + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProbeReasons(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		binary   string
		needRoot bool
		want     []string
	}{
		{"missing path", "/nonexistent-isobench-dir/runc", false, []string{"/nonexistent-isobench-dir/runc", "isobench setup installs"}},
		{"missing in PATH", "isobench-no-such-runtime", false, []string{"binary isobench-no-such-runtime not found in PATH"}},
		{"not executable", notExec, false, []string{notExec, "not an executable"}},
		{"sandbox fails", "", true, []string{"fake failure: no cgroups for you"}},
		{"sandbox hangs", "", true, []string{"did not finish within 1s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needRoot {
				testutil.RequireRoot(t)
				if _, err := driverkit.StaticBusybox("the test sandbox"); err != nil {
					t.Skip(err)
				}
			}
			bin := tc.binary
			switch tc.name {
			case "sandbox fails":
				bin = fakeRuntime(t, `echo "fake failure: no cgroups for you" >&2; exit 1`)
			case "sandbox hangs":
				bin = fakeRuntime(t, `while :; do sleep 1; done`)
			}
			env := testEnv(t)
			d, err := New(env, "runc", "", WithBinary(bin), WithProbeTimeout(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = d.Probe(context.Background())
			if !errors.Is(err, driver.ErrNotSupported) {
				t.Fatalf("Probe error %v, want ErrNotSupported", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Probe error %q does not say %q", err, w)
				}
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("Probe took %s", el)
			}
			// Create says the same, and nothing is left.
			inst, cerr := d.Create(context.Background(), driver.Spec{ID: driver.IDPrefix + "never", Image: testutil.MinimalImage(t)})
			if tc.needRoot {
				if cerr != nil {
					t.Errorf("Create with a runtime that exists: %v", cerr)
				} else if err := inst.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			} else if !errors.Is(cerr, driver.ErrNotSupported) {
				t.Errorf("Create error %v, want ErrNotSupported", cerr)
			}
			if tc.needRoot {
				assertEmptyDir(t, env.RunDir)
				assertEmptyDir(t, recordDir(env.StateDir))
				if p := procsMentioning(bin, ""); len(p) > 0 {
					t.Errorf("processes of the fake runtime left: %v", p)
				}
			}
		})
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left in %s: %s", dir, e.Name())
	}
}

// TestRunscPlatforms checks the platform choice of runsc: the default
// variant ends on a platform that works, within seconds of each failing
// one; an explicit platform that hangs (kvm without working nesting) is
// given up and leaves nothing.
func TestRunscPlatforms(t *testing.T) {
	requireRuntime(t, "runsc")
	env := testEnv(t)
	d, err := New(env, "runsc", "", WithProbeTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	info, err := d.Probe(context.Background())
	if err != nil {
		t.Fatalf("Probe of runsc: %v", err)
	}
	el := time.Since(start)
	t.Logf("runsc chose %q in %s; failed: %s", info.Features["platform"], el, info.Features["platforms_failed"])
	if info.Name != "runsc" || info.Isolation != driver.IsolationUserKernel {
		t.Errorf("Info name %q isolation %q", info.Name, info.Isolation)
	}
	p := info.Features["platform"]
	if p == "" {
		t.Fatal("no platform in Info.Features")
	}
	idx := -1
	for i, x := range d.fl.platforms {
		if x == p {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("platform %q not in the known list %v", p, d.fl.platforms)
	}
	if n := strings.Count(info.Features["platforms_failed"], ": "); idx > 0 && n < idx {
		t.Errorf("platform %q chosen but only %d failures recorded: %q", p, n, info.Features["platforms_failed"])
	}
	if limit := time.Duration(idx)*(defaultPlatformTimeout+10*time.Second) + 20*time.Second; el > limit {
		t.Errorf("choosing took %s, more than %s", el, limit)
	}

	kvm, err := New(env, "runsc", "kvm", WithProbeTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = kvm.Probe(context.Background())
	t.Logf("runsc:kvm probe after %s: %v", time.Since(start), err)
	if err != nil && !errors.Is(err, driver.ErrNotSupported) {
		t.Errorf("runsc:kvm probe: %v, want nil or ErrNotSupported", err)
	}
	if time.Since(start) > 40*time.Second {
		t.Errorf("runsc:kvm probe took %s", time.Since(start))
	}
	assertEmptyDir(t, env.RunDir)
	assertEmptyDir(t, recordDir(env.StateDir))
	if p := procsMentioning(driver.IDPrefix+"probe-", env.RunDir); len(p) > 0 {
		t.Errorf("probe processes left: %v", p)
	}
	// A hung start leaves cgroups and a runtime lock file unless removed.
	res, err := kvm.resolve()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.cg.Mounts {
		if left, _ := filepath.Glob(filepath.Join(m, cgroupParent, driver.IDPrefix+"probe-*")); len(left) > 0 {
			t.Errorf("probe cgroups left: %v", left)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(kvm.fl.stateRoot, driver.IDPrefix+"probe-*")); len(left) > 0 {
		t.Errorf("probe runtime state left: %v", left)
	}
}

// TestCollectAfterCrash drops a started sandbox without Close (what a
// SIGKILLed isobench does) and checks that Collect, from a new driver value,
// removes its container, mount, cgroups, directory and record, and leaves a
// runc container that is not isobench's alone.
func TestCollectAfterCrash(t *testing.T) {
	requireRuntime(t, "runc")
	env := testEnv(t)
	img := testutil.MinimalImage(t)
	ctx := context.Background()

	foreign := startForeignContainer(t, img.Rootfs)

	crashed, err := New(env, "runc", "")
	if err != nil {
		t.Fatal(err)
	}
	id := driver.IDPrefix + "crash-" + mustSuffix(t)
	inst, err := crashed.Create(ctx, driver.Spec{ID: id, Image: img, Scratch: driver.ScratchVolume})
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(ctx); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(env.RunDir, id)
	res, _ := crashed.resolve()
	if len(cgroupDirs(res.cg.Mounts, id)) == 0 {
		t.Fatal("the started sandbox has no cgroups to collect")
	}

	// The live sandbox of this driver value is left alone.
	if lines, err := crashed.Collect(ctx); err != nil || len(lines) != 0 {
		t.Fatalf("Collect with the sandbox open: lines %q, err %v; want nothing touched", lines, err)
	}

	gc, err := New(env, "runc", "")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := gc.Collect(ctx)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	t.Logf("Collect:\n%s", strings.Join(lines, "\n"))
	for _, want := range []string{"deleted container " + id, "unmounted " + filepath.Join(dir, "rootfs"), "removed directory " + dir, "removed state record of " + id} {
		if !containsLine(lines, want) {
			t.Errorf("Collect did not report %q", want)
		}
	}
	rt := gc.runtimeFor(res, "", false)
	if _, exists, err := rt.state(ctx, id); err != nil || exists {
		t.Errorf("after Collect runc state %s: exists=%v err=%v", id, exists, err)
	}
	table, _ := driverkit.ReadMountInfo()
	if m := driverkit.MountsAt(table, dir); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
	if _, err := os.Lstat(dir); err == nil {
		t.Errorf("directory %s left", dir)
	}
	if c := cgroupDirs(res.cg.Mounts, id); len(c) > 0 {
		t.Errorf("cgroups left: %v", c)
	}
	if p := procsMentioning(id, dir); len(p) > 0 {
		t.Errorf("processes left: %v", p)
	}
	assertEmptyDir(t, recordDir(env.StateDir))

	// The foreign container runs on, untouched.
	st, exists, err := rt.state(ctx, foreign)
	if err != nil || !exists || st.Status != "running" {
		t.Errorf("foreign container %s after Collect: %+v exists=%v err=%v", foreign, st, exists, err)
	}

	// Collect again finds nothing; Close of the dropped instance is safe.
	if lines, err := gc.Collect(ctx); err != nil || len(lines) != 0 {
		t.Errorf("second Collect: lines %q, err %v", lines, err)
	}
	if err := inst.Close(); err != nil {
		t.Errorf("Close after Collect took the sandbox: %v", err)
	}
}

// TestCollectLeavesLiveOwners checks that a record of a running isobench
// process (here: PID 1) is not touched.
func TestCollectLeavesLiveOwners(t *testing.T) {
	requireRuntime(t, "runc")
	env := testEnv(t)
	start, ok := driverkit.ProcStartTime(1)
	if !ok {
		t.Skip("cannot read PID 1's start time")
	}
	id := driver.IDPrefix + "live-" + mustSuffix(t)
	dir := filepath.Join(env.RunDir, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	r := record{Version: recordVersion, Runtime: "runc", ID: id, Dir: dir, Bundle: dir, OwnerPID: 1, OwnerStart: start}
	if err := stateRecords(env.StateDir).Create(r); err != nil {
		t.Fatal(err)
	}
	// A record of another runtime, owner gone, is not runc's to collect.
	other := record{Version: recordVersion, Runtime: "crun", ID: driver.IDPrefix + "other-" + mustSuffix(t), OwnerPID: 1, OwnerStart: start + 1}
	other.Dir = filepath.Join(env.RunDir, other.ID)
	if err := stateRecords(env.StateDir).Create(other); err != nil {
		t.Fatal(err)
	}
	d, err := New(env, "runc", "")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := d.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if strings.Contains(l, id) || strings.Contains(l, other.ID) {
			t.Errorf("Collect touched a sandbox it must leave: %s", l)
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("directory of a live owner's sandbox: %v", err)
	}
	for _, x := range []string{id, other.ID} {
		if _, err := os.Stat(stateRecords(env.StateDir).Path(x)); err != nil {
			t.Errorf("record %s: %v", x, err)
		}
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

func mustSuffix(t testing.TB) string {
	s, err := driverkit.RandomSuffix()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startForeignContainer runs a runc container that is not isobench's (its
// id lacks the prefix; its bundle is outside any RunDir) and removes it when
// the test ends.
func startForeignContainer(t *testing.T, rootfs string) string {
	t.Helper()
	id := "collecttest-" + mustSuffix(t)
	bundle := t.TempDir()
	spec, err := bundleSpec(bundleParams{ID: id, Args: []string{"/bin/sleep", "600"}})
	if err != nil {
		t.Fatal(err)
	}
	spec.Root = &specs.Root{Path: rootfs, Readonly: true}
	spec.Linux.CgroupsPath = ""
	if err := writeSpec(bundle, spec); err != nil {
		t.Fatal(err)
	}
	// The container inherits runc's stdio: a file, not a pipe that would
	// stay open as long as it runs.
	logPath := filepath.Join(bundle, "log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("runc", "run", "--detach", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Run()
	logf.Close()
	if err != nil {
		out, _ := os.ReadFile(logPath)
		t.Fatalf("runc run %s: %v: %s", id, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("runc", "delete", "--force", id).CombinedOutput(); err != nil {
			t.Errorf("removing the foreign container: %v: %s", err, out)
		}
	})
	return id
}

// BenchmarkLatency measures Start (after Create) and Exec of `true` per
// runtime: go test -run '^$' -bench Latency ./internal/driver/oci/
func BenchmarkLatency(b *testing.B) {
	for _, name := range []string{"runc", "crun", "runsc"} {
		b.Run(name, func(b *testing.B) {
			requireRuntime(b, name)
			env := testEnv(b)
			d, err := New(env, name, "")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := d.Probe(context.Background()); err != nil {
				b.Fatal(err)
			}
			drivertest.BenchLatency(b, d, testutil.MinimalImage(b), func() string {
				return driver.IDPrefix + "bench-" + mustSuffix(b)
			})
		})
	}
}

// TestCollectOrphanCgroups: a record whose owner is gone and whose
// container never existed (a start killed mid-way) still gets its cgroups,
// directory and record removed.
func TestCollectOrphanCgroups(t *testing.T) {
	requireRuntime(t, "runc")
	env := testEnv(t)
	d, err := New(env, "runc", "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.cg.Mounts) == 0 {
		t.Skip("no cgroup file systems mounted")
	}
	id := driver.IDPrefix + "orphan-" + mustSuffix(t)
	dir := filepath.Join(env.RunDir, id)
	if err := os.MkdirAll(filepath.Join(dir, "upper"), 0o700); err != nil {
		t.Fatal(err)
	}
	var made []string
	for _, m := range res.cg.Mounts {
		p := filepath.Join(m, cgroupParent, id)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatalf("making cgroup %s: %v", p, err)
		}
		made = append(made, p)
	}
	t.Cleanup(func() {
		for _, p := range made {
			_ = driverkit.RemoveCgroupTree(p)
		}
	})
	start, _ := driverkit.ProcStartTime(os.Getpid())
	r := record{Version: recordVersion, Runtime: "runc", ID: id, Dir: dir, Bundle: dir,
		Mounts: []string{filepath.Join(dir, "rootfs")}, OwnerPID: os.Getpid(), OwnerStart: start + 1}
	if err := stateRecords(env.StateDir).Create(r); err != nil {
		t.Fatal(err)
	}
	lines, err := d.Collect(context.Background())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	t.Logf("Collect:\n%s", strings.Join(lines, "\n"))
	for _, p := range made {
		if !containsLine(lines, "removed cgroup "+p) {
			t.Errorf("Collect did not report removing %s", p)
		}
		if _, err := os.Stat(p); err == nil {
			t.Errorf("cgroup %s left", p)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("directory %s left", dir)
	}
	assertEmptyDir(t, recordDir(env.StateDir))
}
