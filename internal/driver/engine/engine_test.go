package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/drivertest"
	"github.com/isobench/isobench/internal/testutil"
)

// The tests run against private daemons they start through the drivers
// themselves (WithPrivateDaemon), each test in directories of its own, and
// stop them when they end (the driver's Close, registered as a cleanup).

// testEnv returns an Env in a fresh directory. It is not t.TempDir: the
// private daemon's sockets need a short path.
func testEnv(t testing.TB) driver.Env {
	t.Helper()
	dir, err := os.MkdirTemp("", "isobench-engine-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the test directory: %v", err)
		}
	})
	return driver.Env{StateDir: filepath.Join(dir, "state"), RunDir: filepath.Join(dir, "run")}
}

// requireEngine skips unless the test runs as root with the engine's
// daemon binary, and a static busybox for the probe, installed.
func requireEngine(t testing.TB, name string) {
	t.Helper()
	testutil.RequireRoot(t)
	switch name {
	case "docker":
		testutil.RequireBinary(t, "dockerd")
	case "podman":
		testutil.RequireBinary(t, "podman")
	}
	if err := checkStatic(probeBusybox); err != nil {
		t.Skipf("the probe needs a static busybox: %v", err)
	}
}

// newDriver returns a driver using a private daemon under env, closed (and
// its daemon released) when the test ends.
func newDriver(t testing.TB, env driver.Env, engineName, variant string, opts ...Option) *Driver {
	t.Helper()
	d, err := New(env, engineName, variant, append([]Option{WithPrivateDaemon()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		removeImages(t, d)
		if err := d.Close(); err != nil {
			t.Errorf("closing driver %s: %v", d.Name(), err)
		}
	})
	return d
}

// removeImages removes the workload images the driver imported: test
// images are not worth caching, and Podman's image store is the host's.
func removeImages(t testing.TB, d *Driver) {
	t.Helper()
	d.mu.Lock()
	c := d.conn
	var refs []string
	for k, ref := range d.images {
		if strings.HasPrefix(ref, workloadRepo+":") && k != ref {
			refs = append(refs, ref)
		}
	}
	d.mu.Unlock()
	if c == nil {
		return
	}
	for _, ref := range refs {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := c.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true})
		cancel()
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("removing test image %s: %v", ref, err)
		}
	}
}

// leakCheck is the engine's part of "nothing left behind": the engine
// knows no container and no volume of the sandbox.
func leakCheck(d *Driver) drivertest.LeakCheck {
	return func(ctx context.Context, id string) error {
		c, err := d.connect(ctx)
		if err != nil {
			return err
		}
		var left []string
		if _, err := c.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil {
			left = append(left, "container "+id)
		} else if !cerrdefs.IsNotFound(err) {
			return err
		}
		cs, err := c.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", labelID+"="+id)})
		if err != nil {
			return err
		}
		for _, x := range cs.Items {
			left = append(left, "container "+x.ID+" labelled "+id)
		}
		vs, err := c.cli.VolumeList(ctx, client.VolumeListOptions{Filters: client.Filters{}.Add("label", labelID+"="+id)})
		if err != nil {
			return err
		}
		for _, v := range vs.Items {
			left = append(left, "volume "+v.Name)
		}
		if len(left) > 0 {
			return fmt.Errorf("%s still has: %s", d.eng.title, strings.Join(left, ", "))
		}
		return nil
	}
}

func runSuite(t *testing.T, engineName, variant string) {
	requireEngine(t, engineName)
	if variant != "" && variant != HostNetVariant {
		testutil.RequireBinary(t, variant)
	}
	env := testEnv(t)
	d := newDriver(t, env, engineName, variant)
	img := testutil.MinimalImage(t)
	start := time.Now()
	drivertest.Run(t, d, img, drivertest.WithEnv(env), drivertest.WithLeakCheck(d.Name(), leakCheck(d)))
	t.Logf("suite of %s took %s", d.Name(), time.Since(start).Round(time.Millisecond))
}

func TestDockerSuite(t *testing.T)      { runSuite(t, "docker", "") }
func TestDockerRunscSuite(t *testing.T) { runSuite(t, "docker", "runsc") }
func TestPodmanSuite(t *testing.T)      { runSuite(t, "podman", "") }
func TestPodmanRunscSuite(t *testing.T) { runSuite(t, "podman", "runsc") }

// The hostnet variants: the suite's network test checks that the sandbox
// shares the host's namespace (kind host, on lo) and leaves nothing.
func TestDockerHostNetSuite(t *testing.T) { runSuite(t, "docker", HostNetVariant) }
func TestPodmanHostNetSuite(t *testing.T) { runSuite(t, "podman", HostNetVariant) }

// TestVariants probes the runtimes the suites above do not run, and checks
// what Info says of each: the OCI runtime that pairs the row with the
// direct runtime's, its binary, the workaround where one applies.
func TestVariants(t *testing.T) {
	mounts, err := driverkit.ReadMountInfo()
	if err != nil {
		t.Fatal(err)
	}
	hybrid := len(driverkit.Cgroups(mounts).HybridUnified()) > 0
	for _, tc := range []struct{ engine, variant, oci string }{
		{"docker", "runc", "runc"}, {"docker", "crun", "crun"}, {"podman", "runc", "runc"}, {"podman", "crun", "crun"},
	} {
		t.Run(tc.engine+":"+tc.variant, func(t *testing.T) {
			requireEngine(t, tc.engine)
			testutil.RequireBinary(t, tc.variant)
			d := newDriver(t, testEnv(t), tc.engine, tc.variant)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			info, err := d.Probe(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s %v", info.Name, info.Version, info.Features)
			f := info.Features
			if info.Name != tc.engine+":"+tc.variant || f["oci_runtime"] != tc.oci || f["engine"] != tc.engine || f["daemon"] != "private" {
				t.Errorf("Info %s, features %v", info.Name, f)
			}
			if !strings.HasPrefix(f["oci_runtime_version"], tc.oci+" version") {
				t.Errorf("oci_runtime_version %q", f["oci_runtime_version"])
			}
			if want := tc.oci == "crun" && hybrid; (f["cgroup_workaround"] != "") != want {
				t.Errorf("cgroup_workaround %q on a host hybrid=%v", f["cgroup_workaround"], hybrid)
			}
			if f["storage_driver"] == "" || f["api_version"] == "" {
				t.Errorf("storage driver %q, API version %q", f["storage_driver"], f["api_version"])
			}
		})
	}
}
