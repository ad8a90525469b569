package lxc

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

// requireLXC skips unless the test runs as root with the LXC tools and a
// static busybox. It does not skip on a failing Probe: where LXC is
// installed, the driver must work.
func requireLXC(t testing.TB) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "lxc-start")
	if _, err := driverkit.StaticBusybox("the test container"); err != nil {
		t.Skipf("the probe needs a static busybox: %v", err)
	}
}

// leakCheck is the LXC part of "nothing left behind": lxc-ls does not list
// the id, its definition, lock file and cgroups are gone.
func leakCheck(d *Driver) drivertest.LeakCheck {
	return func(ctx context.Context, id string) error {
		res, err := d.resolve(ctx)
		if err != nil {
			return err
		}
		var left []string
		names, err := res.tools.list(ctx)
		if err != nil {
			return err
		}
		for _, n := range names {
			if n == id {
				left = append(left, "lxc-ls lists "+id)
			}
		}
		for _, p := range []string{filepath.Join(res.tools.lxcpath, id), lockPath(res.tools.lxcpath, id)} {
			if _, err := os.Lstat(p); err == nil {
				left = append(left, p)
			}
		}
		left = append(left, cgroupDirs(res.cgMounts, id)...)
		if len(left) > 0 {
			return fmt.Errorf("left: %s", strings.Join(left, ", "))
		}
		return nil
	}
}

func newDriver(t *testing.T) (*Driver, driver.Env) {
	t.Helper()
	requireLXC(t)
	env := testEnv(t)
	d, err := New(env, "")
	if err != nil {
		t.Fatal(err)
	}
	return d, env
}

func TestSuite(t *testing.T) {
	d, env := newDriver(t)
	img := testutil.MinimalImage(t)
	drivertest.Run(t, d, img, drivertest.WithEnv(env), drivertest.WithLeakCheck("lxc", leakCheck(d)))
}

// TestSystemContainer checks what makes it a system container rather than
// a process in namespaces: busybox init is PID 1 with the agent as its
// service, the hostname is the id, /proc, /sys, /dev and the cgroups are
// the container's own, and the limits reach its cgroup.
func TestSystemContainer(t *testing.T) {
	d, _ := newDriver(t)
	img := testutil.MinimalImage(t)
	id := driver.IDPrefix + "lxc-sys-" + fmt.Sprint(os.Getpid())
	ctx := context.Background()
	inst := drivertest.StartTimed(t, d, driver.Spec{ID: id, Image: img, CPUs: 1, MemoryBytes: 256 << 20})
	if cg := inst.(driver.HostCgroups).HostCgroups(); len(cg) == 0 {
		t.Error("no host cgroups for a running container")
	} else if mem, ok, err := driver.CgroupMemory(cg); err != nil || !ok || mem <= 0 {
		t.Errorf("memory charged to %v: %d, %v, %v", cg, mem, ok, err)
	}
	drivertest.RunShellCases(t, inst, drivertest.ShellCases{
		{"busybox init is PID 1", "cat /proc/1/comm; basename $(readlink /proc/1/exe)", "init\nbusybox\n"},
		{"the agent is init's service", "ps -o ppid,args | grep '[a]gent init' | awk '{print $1}'", "1\n"},
		{"hostname", "hostname", id + "\n"},
		{"own cgroup namespace", "grep -c ':/$' /proc/self/cgroup >/dev/null && sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup", "/\n"},
		{"cgroups mounted", "grep -c ' /sys/fs/cgroup/memory cgroup ' /proc/mounts", "1\n"},
		{"memory limit", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max", fmt.Sprintln(256 << 20)},
		{"own /dev", "grep -c ' /dev tmpfs ' /proc/mounts", "1\n"},
		{"proc", "grep -c '^proc /proc proc ' /proc/mounts", "1\n"},
		{"only lo", "ls /sys/class/net", "lo\n"},
		{"init layer not in the image", "cat /etc/inittab | grep -c 'agent init'", "1\n"},
	})
	// The image itself was never written.
	if _, err := os.Lstat(filepath.Join(img.Rootfs, "etc", "inittab")); err == nil {
		t.Error("the init layer was written into the image")
	}
	// Stop is a clean shutdown by busybox init.
	start := time.Now()
	if err := inst.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("clean shutdown took %s", time.Since(start).Round(time.Millisecond))
	console, err := os.ReadFile(filepath.Join(d.env.RunDir, id, "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(console), "The system is going down NOW!") {
		t.Errorf("no shutdown by busybox init on the console:\n%s", console)
	}
}

// TestExecCancel checks that a command whose context ends is killed inside
// the container, not left running.
func TestExecCancel(t *testing.T) {
	d, _ := newDriver(t)
	img := testutil.MinimalImage(t)
	id := driver.IDPrefix + "lxc-cancel-" + fmt.Sprint(os.Getpid())
	ctx := context.Background()
	inst, err := d.Create(ctx, driver.Spec{ID: id, Image: img})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	if err := inst.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = inst.Exec(cctx, []string{"/bin/sh", "-c", "exec sleep 1000"}, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Exec past its deadline: %v, want a deadline error", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Exec returned %s after its deadline", el)
	}
	var out strings.Builder
	if err := inst.Exec(ctx, []string{"/bin/sh", "-c", "ps -o args | grep -c '^sleep 1000' || true"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != "0" {
		t.Errorf("the cancelled command still runs in the container (%s of it)", strings.TrimSpace(out.String()))
	}
}

// TestCollect simulates a crash: a sandbox whose record names an owner that
// is gone, left running, is removed by Collect; one of a live owner is not.
func TestCollect(t *testing.T) {
	d, env := newDriver(t)
	img := testutil.MinimalImage(t)
	ctx := context.Background()
	crashed := driver.IDPrefix + "lxc-crashed-" + fmt.Sprint(os.Getpid())
	kept := driver.IDPrefix + "lxc-kept-" + fmt.Sprint(os.Getpid())
	inst, err := d.Create(ctx, driver.Spec{ID: crashed, Image: img, Scratch: driver.ScratchVolume})
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(ctx); err != nil {
		inst.Close()
		t.Fatal(err)
	}
	keptInst, err := d.Create(ctx, driver.Spec{ID: kept, Image: img})
	if err != nil {
		inst.Close()
		t.Fatal(err)
	}
	defer keptInst.Close()
	// The crash: a process that has exited owns the record, and this
	// Driver forgets the instance.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	recs, err := stateRecords(env.StateDir).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.ID != crashed {
			continue
		}
		if err := stateRecords(env.StateDir).Remove(r.ID); err != nil {
			t.Fatal(err)
		}
		r.OwnerPID, r.OwnerStart = dead.Process.Pid, 1
		if err := stateRecords(env.StateDir).Create(r); err != nil {
			t.Fatal(err)
		}
	}
	d.open.Remove(crashed)

	left, err := d.Leftovers(ctx)
	if err != nil || len(left) != 1 || left[0].ID != crashed {
		t.Errorf("Leftovers = %v, %v; want only %s", left, err, crashed)
	}
	lines, err := d.Collect(ctx)
	if err != nil {
		t.Fatalf("Collect: %v (did: %q)", err, lines)
	}
	t.Logf("Collect did:\n%s", strings.Join(lines, "\n"))
	joined := strings.Join(lines, "\n")
	for _, want := range []string{"killed container " + crashed, "removed LXC container definition", "unmounted", "removed state record of " + crashed} {
		if !strings.Contains(joined, want) {
			t.Errorf("Collect did not say %q", want)
		}
	}
	if strings.Contains(joined, kept) {
		t.Errorf("Collect touched the live sandbox %s", kept)
	}
	if err := leakCheck(d)(ctx, crashed); err != nil {
		t.Error(err)
	}
	if _, err := os.Lstat(filepath.Join(env.RunDir, crashed)); err == nil {
		t.Error("the crashed sandbox's directory is still there")
	}
	if _, err := os.Lstat(filepath.Join(env.RunDir, kept)); err != nil {
		t.Errorf("the live sandbox's directory is gone: %v", err)
	}
	// Closing the collected instance now finds nothing to do but reports
	// nothing left.
	if err := inst.Close(); err != nil {
		t.Errorf("Close after Collect: %v", err)
	}
	// A second Collect has nothing to do.
	if lines, err := d.Collect(ctx); err != nil || len(lines) > 0 {
		t.Errorf("second Collect: %q, %v", lines, err)
	}
}

func TestProbeReasons(t *testing.T) {
	t.Run("missing tools", func(t *testing.T) {
		env := testEnv(t)
		d, err := New(env, "", WithBinDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Probe(context.Background())
		if !errors.Is(err, driver.ErrNotSupported) || !strings.Contains(err.Error(), "lxc-start is not an executable file") {
			t.Fatalf("Probe: %v", err)
		}
	})
	t.Run("works", func(t *testing.T) {
		d, _ := newDriver(t)
		start := time.Now()
		info, err := d.Probe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("probe took %s: %+v", time.Since(start).Round(time.Millisecond), info)
		if info.Isolation != driver.IsolationSystem || info.Version == "" {
			t.Errorf("info %+v", info)
		}
	})
}

func TestNew(t *testing.T) {
	env := testEnv(t)
	tests := []struct {
		name    string
		env     driver.Env
		variant string
		opts    []Option
		wantErr string
	}{
		{"ok", env, "", nil, ""},
		{"variant", env, "fast", nil, "no variants"},
		{"relative run dir", driver.Env{RunDir: "run", StateDir: env.StateDir}, "", nil, "run directory"},
		{"run dir with a space", driver.Env{RunDir: "/tmp/a b", StateDir: env.StateDir}, "", nil, "without whitespace"},
		{"relative state dir", driver.Env{RunDir: env.RunDir, StateDir: "state"}, "", nil, "state directory"},
		{"bad lxcpath", env, "", []Option{WithLXCPath("lxc")}, "LXC path"},
		{"bad probe timeout", env, "", []Option{WithProbeTimeout(0)}, "probe timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.env, tc.variant, tc.opts...)
			if tc.wantErr == "" {
				if err != nil || d.Name() != Name {
					t.Fatalf("New: %v, %v", d, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
