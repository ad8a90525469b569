package incus

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	// An unprivileged container's root must be reachable (x) by its
	// mapped root user through every parent directory, as
	// /var/lib/isobench is.
	for _, p := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return driver.Env{StateDir: filepath.Join(dir, "state"), RunDir: filepath.Join(dir, "run")}
}

// requireIncus skips unless the test runs as root with incusd installed
// and a static busybox. Where Incus is installed, the driver must work:
// a failing Probe fails the test.
func requireIncus(t testing.TB) {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := findIncusd(""); err != nil {
		t.Skip(err)
	}
	if _, err := driverkit.StaticBusybox("the test container"); err != nil {
		t.Skipf("the probe needs a static busybox: %v", err)
	}
}

// recorder keeps every request the driver sends, for the contract check.
type recorder struct {
	mu   sync.Mutex
	reqs []Request
}

func (r *recorder) observe(req Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
}

func (r *recorder) all() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// newDriver returns a driver with a private daemon of its own, closed (and
// checked gone) when the test ends, and the requests it sent checked
// against the REST API description.
func newDriver(t *testing.T) (*Driver, driver.Env) {
	t.Helper()
	requireIncus(t)
	env := testEnv(t)
	rec := &recorder{}
	d, err := New(env, "", WithPrivateDaemon(), WithRequestObserver(rec.observe))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("closing the driver: %v", err)
		}
		if _, err := os.Lstat(d.opt.daemonDir); err == nil {
			t.Errorf("the private daemon's directory %s is still there", d.opt.daemonDir)
		}
		if p := procsWithArg(d.opt.daemonDir); len(p) > 0 {
			t.Errorf("processes of the private daemon still run: %v", p)
		}
		for _, p := range procsMentioning("", d.opt.daemonDir) {
			t.Errorf("process %d still works in the private daemon's directory", p.PID)
		}
		if _, err := os.Lstat(daemonRecordPath(env.StateDir, d.opt.daemonDir)); err == nil {
			t.Error("the private daemon's state record is still there")
		}
		checkContract(t, rec.all())
	})
	return d, env
}

// leakCheck is the Incus part of "nothing left behind": Incus lists no
// instance or volume of the id, and its directory holds nothing naming it.
func leakCheck(d *Driver) drivertest.LeakCheck {
	return func(ctx context.Context, id string) error {
		cn, err := d.connect(ctx)
		if err != nil {
			return err
		}
		var left []string
		var names []string
		if err := cn.c.get(ctx, apiPath("instances"), nil, &names); err != nil {
			return err
		}
		for _, n := range names {
			if strings.HasSuffix(n, "/"+id) {
				left = append(left, "instance "+id)
			}
		}
		var vols []string
		if err := cn.c.get(ctx, apiPath("storage-pools", cn.pool.Name, "volumes", "custom"), nil, &vols); err != nil {
			return err
		}
		for _, v := range vols {
			if strings.HasSuffix(v, "/"+id) {
				left = append(left, "volume "+id)
			}
		}
		_ = filepath.WalkDir(cn.d.dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && strings.Contains(e.Name(), id) {
				left = append(left, p)
			}
			return nil
		})
		if len(left) > 0 {
			return fmt.Errorf("left: %s", strings.Join(left, ", "))
		}
		return nil
	}
}

func TestSuite(t *testing.T) {
	d, env := newDriver(t)
	img := testutil.MinimalImage(t)
	drivertest.Run(t, d, img, drivertest.WithEnv(env), drivertest.WithLeakCheck("incus", leakCheck(d)))
}

// TestSystemContainer checks that an Incus sandbox is a booted system:
// busybox init as PID 1 with the agent as its service, the id as host
// name, its own cgroups mounted with the limits applied, only lo, and a
// clean shutdown on Stop.
func TestSystemContainer(t *testing.T) {
	d, _ := newDriver(t)
	img := testutil.MinimalImage(t)
	id := fmt.Sprintf("%sincus-sys-%d", driver.IDPrefix, os.Getpid())
	ctx := context.Background()
	inst := drivertest.StartTimed(t, d, driver.Spec{ID: id, Image: img, CPUs: 1, MemoryBytes: 256 << 20})
	drivertest.RunShellCases(t, inst, drivertest.ShellCases{
		{"busybox init is PID 1", "cat /proc/1/comm; basename $(readlink /proc/1/exe)", "init\nbusybox\n"},
		{"the agent is init's service", "ps -o ppid,args | grep '[a]gent init' | awk '{print $1}'", "1\n"},
		{"hostname", "hostname", id + "\n"},
		{"cgroups mounted", "grep -c ' /sys/fs/cgroup/memory cgroup ' /proc/mounts", "1\n"},
		{"memory limit", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max", fmt.Sprintln(256 << 20)},
		{"cpu limit", "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max", "100000\n"},
		{"only lo", "ls /sys/class/net", "lo\n"},
		{"unprivileged", "awk '{print $2}' /proc/self/uid_map", "1000000\n"},
	})
	start := time.Now()
	if err := inst.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("clean shutdown took %s", time.Since(start).Round(time.Millisecond))
	cn, err := d.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The console log reaches the daemon a moment after the container
	// stopped (seen empty right after Stop on a loaded host).
	var console []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		console, err = cn.c.getRaw(ctx, apiPath("instances", id, "console"), nil, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(console), "The system is going down NOW!") || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(string(console), "The system is going down NOW!") {
		t.Errorf("no shutdown by busybox init on the console:\n%s", console)
	}
}

// TestExecCancel checks that a command whose context ends is killed.
func TestExecCancel(t *testing.T) {
	d, _ := newDriver(t)
	img := testutil.MinimalImage(t)
	ctx := context.Background()
	inst, err := d.Create(ctx, driver.Spec{ID: fmt.Sprintf("%sincus-cancel-%d", driver.IDPrefix, os.Getpid()), Image: img})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	if err := inst.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err = inst.Exec(cctx, []string{"/bin/sh", "-c", "exec sleep 1000"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("Exec past its deadline: %v", err)
	}
	var out strings.Builder
	if err := inst.Exec(ctx, []string{"/bin/sh", "-c", "ps -o args | grep -c '^sleep 1000' || true"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != "0" {
		t.Errorf("the cancelled command still runs (%s of it)", strings.TrimSpace(out.String()))
	}
}

// TestCollect simulates a crashed isobench: its private daemon (alive, or
// killed too) still holds a running instance, and its record names an
// owner that is gone. Collect of another driver removes all of it.
func TestCollect(t *testing.T) {
	for _, killDaemon := range []bool{false, true} {
		t.Run(fmt.Sprintf("daemon killed %v", killDaemon), func(t *testing.T) {
			requireIncus(t)
			env := testEnv(t)
			crashed, err := New(env, "", WithPrivateDaemon())
			if err != nil {
				t.Fatal(err)
			}
			img := testutil.MinimalImage(t)
			ctx := context.Background()
			id := fmt.Sprintf("%sincus-crashed-%d", driver.IDPrefix, os.Getpid())
			inst, err := crashed.Create(ctx, driver.Spec{ID: id, Image: img, Scratch: driver.ScratchVolume})
			if err != nil {
				t.Fatal(err)
			}
			if err := inst.Start(ctx); err != nil {
				crashed.Close()
				t.Fatal(err)
			}
			cn, _ := crashed.connect(ctx)
			dm := cn.d
			// The crash: the driver forgets everything; a process that has
			// exited owns the record.
			crashed.mu.Lock()
			crashed.conn = nil
			crashed.mu.Unlock()
			recs, err := readDaemonRecords(env.StateDir)
			if err != nil || len(recs) != 1 {
				t.Fatalf("records %v, %v", recs, err)
			}
			r := recs[0]
			r.OwnerPID, r.OwnerStart = deadPID(t), 1
			if err := os.Remove(daemonRecordPath(env.StateDir, r.Dir)); err != nil {
				t.Fatal(err)
			}
			if err := writeDaemonRecord(env.StateDir, r); err != nil {
				t.Fatal(err)
			}
			if killDaemon {
				if err := killAndWait(dm.pid, dm.start, 0); err != nil {
					t.Fatal(err)
				}
			}
			gc, err := New(env, "", WithPrivateDaemon())
			if err != nil {
				t.Fatal(err)
			}
			left, err := gc.Leftovers(ctx)
			if err != nil || len(left) != 1 || left[0].ID != filepath.Base(dm.dir) {
				t.Errorf("Leftovers = %v, %v; want the crashed daemon", left, err)
			}
			lines, err := gc.Collect(ctx)
			t.Logf("Collect did:\n%s", strings.Join(lines, "\n"))
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			joined := strings.Join(lines, "\n")
			for _, want := range []string{"deleted Incus instance " + id, "removed directory " + dm.dir, "removed the state record"} {
				if !strings.Contains(joined, want) {
					t.Errorf("Collect did not say %q", want)
				}
			}
			if _, err := os.Lstat(dm.dir); err == nil {
				t.Errorf("%s is still there", dm.dir)
			}
			if p := procsWithArg(dm.dir); len(p) > 0 {
				t.Errorf("processes of the crashed daemon still run: %v", p)
			}
			if t, ok := driverkit.ProcStartTime(dm.pid); ok && t == dm.start {
				_ = killAndWait(dm.pid, dm.start, time.Second)
			}
			if lines, err := gc.Collect(ctx); err != nil || len(lines) > 0 {
				t.Errorf("second Collect: %q, %v", lines, err)
			}
		})
	}
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestSharedDaemon uses a daemon isobench did not start (given by its
// socket, as the system's would be): sandboxes go to the pool of its
// default profile's root disk, Close leaves the daemon running, and Collect
// removes only instances marked as left by a dead isobench process of this
// RunDir.
func TestSharedDaemon(t *testing.T) {
	owner, _ := newDriver(t)
	ctx := context.Background()
	ocn, err := owner.connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The "system" daemon: its default profile has a root disk on a pool.
	admin := newClient(ocn.d.socket, nil)
	defer admin.close()
	prof := map[string]any{"description": "default", "config": map[string]string{},
		"devices": map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": ocn.pool.Name}}}
	if _, err := admin.do(ctx, http.MethodPut, apiPath("profiles", "default"), nil, prof); err != nil {
		t.Fatal(err)
	}
	env := testEnv(t)
	rec := &recorder{}
	d, err := New(env, "", WithSocket(ocn.d.socket), WithRequestObserver(rec.observe))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { checkContract(t, rec.all()) }()
	start := time.Now()
	info, err := d.Probe(ctx)
	t.Logf("probe took %s", time.Since(start))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info.Features["daemon"], ocn.d.socket) || info.Features["storage"] != "dir pool "+ocn.pool.Name {
		t.Errorf("features %v", info.Features)
	}
	img := testutil.MinimalImage(t)
	mk := func(id string) driver.Instance {
		inst, err := d.Create(ctx, driver.Spec{ID: id, Image: img, Scratch: driver.ScratchVolume})
		if err != nil {
			t.Fatal(err)
		}
		if err := inst.Start(ctx); err != nil {
			inst.Close()
			t.Fatal(err)
		}
		return inst
	}
	left := fmt.Sprintf("%sshared-left-%d", driver.IDPrefix, os.Getpid())
	kept := fmt.Sprintf("%sshared-kept-%d", driver.IDPrefix, os.Getpid())
	start = time.Now()
	leftInst, keptInst := mk(left), mk(kept)
	t.Logf("two sandboxes took %s", time.Since(start))
	defer keptInst.Close()
	var out strings.Builder
	if err := keptInst.Exec(ctx, []string{"/bin/sh", "-c", "echo shared"}, &out, nil); err != nil || out.String() != "shared\n" {
		t.Fatalf("exec: %q, %v", out.String(), err)
	}
	// The crash: the instance's owner mark names a process that is gone,
	// and this driver forgets it.
	patch := map[string]any{"config": map[string]string{keyOwner: fmt.Sprintf("%d:1", deadPID(t))}}
	if _, err := admin.do(ctx, http.MethodPatch, apiPath("instances", left), nil, patch); err != nil {
		t.Fatal(err)
	}
	d.open.Remove(left)
	// Another environment's instance, marked the same way, is not touched.
	other, err := New(driver.Env{StateDir: env.StateDir, RunDir: env.RunDir + "-other"}, "", WithSocket(ocn.d.socket))
	if err != nil {
		t.Fatal(err)
	}
	if lines, err := other.Collect(ctx); err != nil || len(lines) > 0 {
		t.Errorf("Collect of another RunDir: %q, %v", lines, err)
	}
	start = time.Now()
	lines, err := d.Collect(ctx)
	t.Logf("Collect took %s and did:\n%s", time.Since(start), strings.Join(lines, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(lines, "\n")
	for _, want := range []string{"deleted Incus instance " + left, "deleted Incus storage volume " + ocn.pool.Name + "/" + left} {
		if !strings.Contains(joined, want) {
			t.Errorf("Collect did not say %q", want)
		}
	}
	if strings.Contains(joined, kept) {
		t.Errorf("Collect touched the live sandbox %s", kept)
	}
	if err := leftInst.Close(); err != nil {
		t.Errorf("Close after Collect: %v", err)
	}
	if err := keptInst.Close(); err != nil {
		t.Error(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if !answers(ctx, ocn.d.socket) {
		t.Error("closing a driver stopped a daemon it did not start")
	}
	var names []string
	if err := admin.get(ctx, apiPath("instances"), nil, &names); err != nil || len(names) > 0 {
		t.Errorf("instances left in the shared daemon: %v, %v", names, err)
	}
}
