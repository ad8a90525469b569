package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/testutil"
)

// hostLeftovers lists what of a container and of a directory is still on
// the host: processes whose command line names either, mounts naming
// either.
func hostLeftovers(t testing.TB, names ...string) []string {
	t.Helper()
	var left []string
	mounts, err := driverkit.ReadMountInfo()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n == "" {
			continue
		}
		for _, p := range procsMentioning(n) {
			left = append(left, fmt.Sprintf("process %d: %s", p.id.PID, driverkit.Clip(p.cmd, 200)))
		}
		for _, m := range driverkit.MountsMentioning(mounts, n) {
			left = append(left, "mount "+m)
		}
	}
	return left
}

// waitNoLeftovers waits a moment for processes to finish exiting.
func waitNoLeftovers(t testing.TB, names ...string) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := hostLeftovers(t, names...)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestFailedStartLeavesNothing starts a sandbox whose image lacks the agent
// and checks that the failed Start left nothing of the container on the
// host: no process (a runtime's shim, gofer or sandbox) and no mount naming
// the container, no state of it under the daemon's exec root, and that the
// error says why. Under docker:runsc the containerd shim outlives the
// removed container; Start must end it.
func TestFailedStartLeavesNothing(t *testing.T) {
	for _, tc := range []struct{ engine, variant string }{
		{"docker", "runsc"}, {"docker", ""}, {"podman", "runsc"},
	} {
		name := tc.engine
		if tc.variant != "" {
			name += ":" + tc.variant
		}
		t.Run(name, func(t *testing.T) {
			requireEngine(t, tc.engine)
			if tc.variant != "" {
				testutil.RequireBinary(t, tc.variant)
			}
			env := testEnv(t)
			d := newDriver(t, env, tc.engine, tc.variant)
			img := testutil.MinimalImage(t)
			if err := os.Remove(filepath.Join(img.Rootfs, image.AgentPath)); err != nil {
				t.Fatal(err)
			}
			img.ID = "test-noagent"
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			id := driver.IDPrefix + "failed-" + d.token
			inst, err := d.Create(ctx, driver.Spec{ID: id, Image: img, Scratch: driver.ScratchVolume})
			if err != nil {
				t.Fatal(err)
			}
			in := inst.(*instance)
			cid := in.cid
			err = inst.Start(ctx)
			if err == nil {
				t.Fatal("Start of an image without the agent returned nil")
			}
			if !strings.Contains(err.Error(), image.AgentPath) {
				t.Errorf("Start error does not name the missing agent: %v", err)
			}
			t.Logf("Start says: %v", err)
			t.Logf("the failed Start cleaned up: %q", in.cleaned)
			if left := waitNoLeftovers(t, cid, id); len(left) > 0 {
				t.Errorf("after the failed start, left on the host:\n%s", strings.Join(left, "\n"))
			}
			c, _ := d.connect(ctx)
			if _, err := c.cli.ContainerInspect(ctx, cid, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
				t.Errorf("the engine still knows the container: %v", err)
			}
			if _, err := c.cli.VolumeInspect(ctx, id+volumeSuffix, client.VolumeInspectOptions{}); !cerrdefs.IsNotFound(err) {
				t.Errorf("the engine still knows the volume: %v", err)
			}
			if c.daemon != nil && c.daemon.rec.ExecRoot != "" {
				deadline := time.Now().Add(5 * time.Second)
				for {
					named := pathsNaming(c.daemon.rec.ExecRoot, cid)
					if len(named) == 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Errorf("the exec root still holds state of the container: %q", named)
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			if err := inst.Close(); err != nil {
				t.Errorf("Close after the failed start: %v", err)
			}
		})
	}
}

// pathsNaming lists the paths under root whose name contains s.
func pathsNaming(root, s string) []string {
	var out []string
	_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && strings.Contains(e.Name(), s) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestPrivateDaemonShared checks the life of a private dockerd: two
// drivers (two runtimes) share one daemon; a Collect by one leaves the
// other's running sandbox alone; the daemon runs until the last driver
// closes, and then nothing of it is left on the host: no process, no
// mount, no socket, no record. A driver used again starts a new one.
func TestPrivateDaemonShared(t *testing.T) {
	requireEngine(t, "docker")
	testutil.RequireBinary(t, "runsc")
	env := testEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a := newDriver(t, env, "docker", "")
	b := newDriver(t, env, "docker", "runsc")
	ia, err := a.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	if a.conn.daemon == nil || b.conn.daemon == nil {
		t.Fatal("WithPrivateDaemon drivers use no private daemon")
	}
	rec := a.conn.daemon.rec
	if b.conn.daemon.rec.Daemon != rec.Daemon {
		t.Fatalf("two drivers of one Env run two daemons: %v and %v", rec.Daemon, b.conn.daemon.rec.Daemon)
	}
	if ia.Features["daemon"] != "private" || ia.Features["oci_runtime"] != "runc" || ia.Features["storage_driver"] == "" {
		t.Errorf("Info.Features = %v", ia.Features)
	}

	img := testutil.MinimalImage(t)
	id := driver.IDPrefix + "shared-" + a.token
	inst, err := a.Create(ctx, driver.Spec{ID: id, Image: img})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	if err := inst.Start(ctx); err != nil {
		t.Fatal(err)
	}
	lines, err := b.Collect(ctx)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	for _, l := range lines {
		if strings.Contains(l, id) || strings.Contains(l, "stopped") {
			t.Errorf("Collect touched what a live driver uses: %s", l)
		}
	}
	var out strings.Builder
	if err := inst.Exec(ctx, []string{"/bin/sh", "-c", "echo alive"}, &out, nil); err != nil || out.String() != "alive\n" {
		t.Fatalf("after another driver's Collect: %q, %v", out.String(), err)
	}
	if err := inst.Close(); err != nil {
		t.Fatal(err)
	}

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if !rec.Daemon.Alive() {
		t.Fatal("the daemon stopped while another driver used it")
	}
	if _, err := b.Probe(ctx); err != nil {
		t.Fatalf("Probe of the remaining driver: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	checkDaemonGone(t, rec)

	// Used again, a driver starts a daemon anew.
	if _, err := a.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	again := a.conn.daemon.rec
	if again.Daemon == rec.Daemon {
		t.Error("the stopped daemon answered again")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	checkDaemonGone(t, again)
}

// checkDaemonGone checks that nothing of a private daemon is left.
func checkDaemonGone(t *testing.T, rec daemonRecord) {
	t.Helper()
	if rec.Daemon.Alive() {
		t.Errorf("daemon pid %d still runs", rec.Daemon.PID)
	}
	for _, p := range []string{rec.Socket, rec.PIDFile, rec.ExecRoot} {
		if p == "" {
			continue
		}
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left (%v)", p, err)
		}
	}
	if left := waitNoLeftovers(t, rec.ExecRoot, rec.Socket); len(left) > 0 {
		t.Errorf("left of the daemon:\n%s", strings.Join(left, "\n"))
	}
	if rec.DataRoot != "" {
		mounts, _ := driverkit.ReadMountInfo()
		if m := driverkit.MountsUnder(mounts, rec.DataRoot); len(m) > 0 {
			t.Errorf("mounts under the data root: %q", m)
		}
	}
}

// TestCrashHelper is the isobench process that crashes for
// TestCollectAfterCrash: it starts a sandbox with a volume in a private
// dockerd and exits without closing anything.
func TestCrashHelper(t *testing.T) {
	state := os.Getenv("ISOBENCH_ENGINE_CRASH_STATE")
	if state == "" {
		t.Skip("run by TestCollectAfterCrash")
	}
	env := driver.Env{StateDir: state, RunDir: os.Getenv("ISOBENCH_ENGINE_CRASH_RUN")}
	d, err := New(env, os.Getenv("ISOBENCH_ENGINE_CRASH_ENGINE"), "", WithPrivateDaemon())
	if err != nil {
		t.Fatal(err)
	}
	img := &image.Image{ID: "test-crash", Rootfs: os.Getenv("ISOBENCH_ENGINE_CRASH_ROOTFS")}
	ctx := context.Background()
	inst, err := d.Create(ctx, driver.Spec{ID: os.Getenv("ISOBENCH_ENGINE_CRASH_ID"), Image: img, Scratch: driver.ScratchVolume})
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(ctx); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("started %s\n", inst.(*instance).cid)
	os.Exit(0) // as a crash: no Close, no cleanup
}

// TestCollectAfterCrash lets a child isobench process start a private
// daemon and a sandbox and die, then checks that Collect from this process
// removes the sandbox's container and volume and stops the daemon,
// leaving nothing on the host, and that a second Collect finds nothing.
// For Podman, whose containers outlive the service, the service is killed
// too: Collect then asks a transient service of its own.
func TestCollectAfterCrash(t *testing.T) {
	for _, eng := range []engine{dockerEngine(), podmanEngine()} {
		t.Run(eng.name, func(t *testing.T) { testCollectAfterCrash(t, eng) })
	}
}

func testCollectAfterCrash(t *testing.T, eng engine) {
	requireEngine(t, eng.name)
	env := testEnv(t)
	img := testutil.MinimalImage(t)
	id := driver.IDPrefix + "crash-" + fmt.Sprint(time.Now().UnixNano()%1e9)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
	cmd.Env = append(os.Environ(), "ISOBENCH_ENGINE_CRASH_ENGINE="+eng.name,
		"ISOBENCH_ENGINE_CRASH_STATE="+env.StateDir, "ISOBENCH_ENGINE_CRASH_RUN="+env.RunDir,
		"ISOBENCH_ENGINE_CRASH_ROOTFS="+img.Rootfs, "ISOBENCH_ENGINE_CRASH_ID="+id)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "started ") {
		t.Fatalf("the crashing process: %v\n%s", err, out)
	}
	cid := strings.TrimSpace(strings.SplitN(strings.SplitN(string(out), "started ", 2)[1], "\n", 2)[0])
	l := newLayout(env, eng, eng.name)
	rec, err := readDaemonRecord(l.record)
	if err != nil || rec == nil {
		t.Fatalf("no daemon record after the crash: %v", err)
	}
	if !rec.Daemon.Alive() {
		t.Fatal("the crashed process's daemon does not run")
	}
	if len(procsMentioning(cid)) == 0 {
		t.Fatal("the crashed process's sandbox does not run")
	}
	if eng.servicePerRuntime {
		if err := syscall.Kill(rec.Daemon.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitGone([]hostProc{{id: rec.Daemon}}, 5*time.Second)
	}

	// The image leaves isobench's cache too: its copy in the engine goes.
	if err := os.RemoveAll(img.Dir); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, env, eng.name, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Before gc, the next run is told what the crash left, and nothing
	// is removed by asking.
	left, err := d.Leftovers(ctx)
	if err != nil {
		t.Fatalf("Leftovers: %v", err)
	}
	t.Logf("Leftovers:\n%v", left)
	wantLeft := id // docker: its daemon still runs, and holds the container
	if eng.servicePerRuntime {
		wantLeft = "died" // podman: its service was killed
	}
	if !strings.Contains(fmt.Sprint(left), wantLeft) {
		t.Errorf("Leftovers does not mention %q: %v", wantLeft, left)
	}
	lines, err := d.Collect(ctx)
	t.Logf("Collect:\n%s", strings.Join(lines, "\n"))
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if left, err := d.Leftovers(ctx); err != nil || len(left) > 0 {
		t.Errorf("Leftovers after Collect: %v, %v", left, err)
	}
	want := []string{"removed container " + short(cid), "removed volume " + id + volumeSuffix, "removed image"}
	if !eng.servicePerRuntime {
		want = append(want, "stopped private docker daemon")
	}
	for _, w := range want {
		if !containsLine(lines, w) {
			t.Errorf("Collect did not report %q", w)
		}
	}
	checkDaemonGone(t, *rec)
	if left := waitNoLeftovers(t, cid, id); len(left) > 0 {
		t.Errorf("left of the sandbox:\n%s", strings.Join(left, "\n"))
	}
	if _, err := os.Stat(l.record); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("daemon record: %v", err)
	}
	if lines, err := d.Collect(ctx); err != nil || len(lines) != 0 {
		t.Errorf("second Collect: %q, %v", lines, err)
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

// TestProbeReasons checks that Probe says exactly why an engine does not
// work, as an ErrNotSupported error.
func TestProbeReasons(t *testing.T) {
	dir := t.TempDir()
	refused := filepath.Join(dir, "refused.sock")
	ln, err := net.Listen("unix", refused)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	tests := []struct {
		name    string
		engine  string
		variant string
		opts    []Option
		root    bool
		want    []string
	}{
		{"no socket", "docker", "", []Option{WithSocket(filepath.Join(dir, "missing.sock"))}, false, []string{"no Docker daemon", "no socket at " + filepath.Join(dir, "missing.sock")}},
		{"not running", "podman", "", []Option{WithSocket(refused)}, false, []string{"not running", "nothing listens on " + refused}},
		{"docker runtime not registered", "docker", "isobench-nosuch", []Option{WithPrivateDaemon()}, true, []string{"runtime isobench-nosuch is not registered", "daemon.json"}},
		{"podman runtime unknown", "podman", "isobench-nosuch", []Option{WithPrivateDaemon()}, true, []string{`"isobench-nosuch" not found`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root {
				requireEngine(t, tc.engine)
			}
			env := testEnv(t)
			d, err := New(env, tc.engine, tc.variant, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			_, err = d.Probe(ctx)
			if !errors.Is(err, driver.ErrNotSupported) {
				t.Fatalf("Probe: %v, want ErrNotSupported", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Probe error %q does not say %q", err, w)
				}
			}
			if _, cerr := d.Create(ctx, driver.Spec{ID: driver.IDPrefix + "never", Image: testutil.MinimalImage(t)}); !errors.Is(cerr, driver.ErrNotSupported) {
				t.Errorf("Create: %v, want ErrNotSupported", cerr)
			}
			if err := d.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			// A daemon that failed its probe is not left running.
			l := newLayout(env, d.eng, d.l.state[len(filepath.Dir(d.l.state))+1:])
			if rec, _ := readDaemonRecord(l.record); rec != nil && rec.Daemon.Alive() {
				t.Errorf("a private daemon (pid %d) is left running", rec.Daemon.PID)
			}
		})
	}
}

// TestImageReuse checks that an image is imported once, reused by later
// sandboxes and later drivers, and imported anew when its files change.
func TestImageReuse(t *testing.T) {
	requireEngine(t, "docker")
	env := testEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	img := testutil.MinimalImage(t)
	count := func(d *Driver) int {
		c, err := d.connect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("label", labelKind+"="+kindWorkload)})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Items)
	}
	d1 := newDriver(t, env, "docker", "")
	ref1, err := d1.ensureImage(ctx, mustConnect(t, d1), img)
	if err != nil {
		t.Fatal(err)
	}
	d2 := newDriver(t, env, "docker", "runsc")
	ref2, err := d2.ensureImage(ctx, mustConnect(t, d2), img)
	if err != nil {
		t.Fatal(err)
	}
	if ref1 != ref2 || count(d1) != 1 {
		t.Errorf("the same image gave %s and %s, %d images", ref1, ref2, count(d1))
	}
	if err := os.WriteFile(filepath.Join(img.Rootfs, "new-file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	d3 := newDriver(t, env, "docker", "")
	ref3, err := d3.ensureImage(ctx, mustConnect(t, d3), img)
	if err != nil {
		t.Fatal(err)
	}
	if ref3 == ref1 || count(d3) != 2 {
		t.Errorf("a changed image kept its reference %s (%d images)", ref3, count(d3))
	}
	// Collect removes images whose source left the cache.
	if err := os.RemoveAll(img.Dir); err != nil {
		t.Fatal(err)
	}
	lines, err := d3.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(d3); n != 0 {
		t.Errorf("after the image left the cache, Collect left %d images: %q", n, lines)
	}
}

func mustConnect(t *testing.T, d *Driver) *conn {
	t.Helper()
	c, err := d.connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
