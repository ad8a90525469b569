package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/drivertest"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/testutil"
)

func testEnv(t *testing.T) driver.Env {
	dir := t.TempDir()
	return driver.Env{StateDir: filepath.Join(dir, "state"), RunDir: filepath.Join(dir, "run")}
}

// TestDriverSuite runs the suite every driver passes. The host baseline
// has no network isolation; its Spec.Network is a veth link into a
// namespace of its own (needs root).
func TestDriverSuite(t *testing.T) {
	testutil.RequireRoot(t)
	env := testEnv(t)
	d, err := New(env, "")
	if err != nil {
		t.Fatal(err)
	}
	drivertest.Run(t, d, testutil.MinimalImage(t), drivertest.WithEnv(env),
		drivertest.WithoutNetworkIsolation("the host baseline runs on the host's network unless asked for a link"),
		drivertest.WithoutScratch(driver.ScratchVolume, "the host baseline's scratch is a host directory, not a mount, whatever the kind"))
}

// TestStartTiming: Start reports launch and ready in order within the
// call, and HostPIDs names the agent while the instance runs and nothing
// after Stop.
func TestStartTiming(t *testing.T) {
	env := testEnv(t)
	d, err := New(env, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inst, err := d.Create(ctx, driver.Spec{ID: driver.IDPrefix + "host-timing-" + filepath.Base(t.TempDir()), Image: testutil.MinimalImage(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	st := inst.(driver.StartTimer)
	if _, ok := st.StartTiming(); ok {
		t.Error("StartTiming says ok before Start")
	}
	before := time.Now()
	if err := inst.Start(ctx); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	tm, ok := st.StartTiming()
	if !ok {
		t.Fatal("no StartTiming after a successful Start")
	}
	if err := tm.Check(); err != nil {
		t.Fatal(err)
	}
	if tm.Begin.Before(before) || tm.Ready.After(after) {
		t.Errorf("timing %+v outside the Start call [%v, %v]", tm, before, after)
	}
	pids := inst.(driver.HostProcesses).HostPIDs()
	if len(pids) != 1 {
		t.Fatalf("HostPIDs %v, want the agent", pids)
	}
	m, err := driver.ReadProcessMemory(pids[0])
	if err != nil || m.PSS <= 0 || m.RSS < m.PSS {
		t.Errorf("memory of the agent: %+v, %v", m, err)
	}
	if err := inst.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if pids := inst.(driver.HostProcesses).HostPIDs(); len(pids) != 0 {
		t.Errorf("HostPIDs after Stop: %v", pids)
	}
}

// TestImportedImage: the baseline runs an image's programs as root on the
// host, so an imported image is refused, leaving nothing behind, unless
// the environment says to trust it; then it runs as any image does.
func TestImportedImage(t *testing.T) {
	testutil.RequireRoot(t)
	built := testutil.MinimalImage(t)
	imported := *built
	imported.ID = "test-imported"
	imported.Manifest.Source = "/tmp/layout (image sha256:0123)"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		name    string
		trust   bool
		img     *image.Image
		refused bool
	}{
		{"built from host tools", false, built, false},
		{"imported, not trusted", false, &imported, true},
		{"imported, trusted", true, &imported, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t)
			env.TrustImage = tc.trust
			d, err := New(env, "")
			if err != nil {
				t.Fatal(err)
			}
			inst, err := d.Create(ctx, driver.Spec{ID: driver.IDPrefix + "host-trust-" + filepath.Base(t.TempDir()), Image: tc.img})
			if tc.refused {
				if !errors.Is(err, ErrUntrustedImage) {
					t.Fatalf("Create = %v, want ErrUntrustedImage", err)
				}
				for _, dir := range []string{env.StateDir, env.RunDir} {
					if ents, _ := os.ReadDir(dir); len(ents) > 0 {
						t.Errorf("a refused Create left %d entries in %s", len(ents), dir)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close()
			if err := inst.Start(ctx); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			if err := inst.Exec(ctx, []string{"/bin/echo", "ran"}, &out, nil); err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(out.String()) != "ran" {
				t.Errorf("echo printed %q", out.String())
			}
		})
	}
}

// TestBoundsRefused: the baseline applies no CPU or memory bound, so a
// spec that asks for one is refused rather than recorded as applied.
func TestBoundsRefused(t *testing.T) {
	testutil.RequireRoot(t)
	img := testutil.MinimalImage(t)
	for _, spec := range []driver.Spec{{CPUs: 1}, {MemoryBytes: 256 << 20}} {
		env := testEnv(t)
		d, err := New(env, "")
		if err != nil {
			t.Fatal(err)
		}
		spec.ID, spec.Image = driver.IDPrefix+"host-bounds-"+filepath.Base(t.TempDir()), img
		inst, err := d.Create(t.Context(), spec)
		if err == nil {
			inst.Close()
			t.Errorf("Create with CPUs %v, memory %d: no error", spec.CPUs, spec.MemoryBytes)
			continue
		}
		if !errors.Is(err, driver.ErrNotSupported) || !strings.Contains(err.Error(), "unbounded") {
			t.Errorf("Create with CPUs %v, memory %d: %v, want ErrNotSupported saying the baseline is unbounded", spec.CPUs, spec.MemoryBytes, err)
		}
	}
}
