package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/testutil"
)

// startedInstance makes and starts a sandbox of the named runtime, closed
// (and checked) when the test ends.
func startedInstance(t *testing.T, name string, img *image.Image, mod func(*driver.Spec)) *instance {
	t.Helper()
	requireRuntime(t, name)
	d, err := New(testEnv(t), name, "")
	if err != nil {
		t.Fatal(err)
	}
	spec := driver.Spec{ID: driver.IDPrefix + "rt-" + mustSuffix(t), Image: img}
	if mod != nil {
		mod(&spec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inst, err := d.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := inst.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := inst.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return inst.(*instance)
}

// TestExecSandboxGone: when the sandbox dies behind the driver's back, Exec
// says the sandbox is not running instead of blaming the command.
func TestExecSandboxGone(t *testing.T) {
	img := testutil.MinimalImage(t)
	for _, name := range Runtimes() {
		t.Run(name, func(t *testing.T) {
			in := startedInstance(t, name, img, nil)
			ctx := context.Background()
			if _, err := in.rt.run(ctx, "kill", in.spec.ID, "KILL"); err != nil {
				t.Fatal(err)
			}
			if !in.waitGone(ctx, 10*time.Second) {
				t.Fatal("sandbox still runs after SIGKILL")
			}
			var stderr bytes.Buffer
			err := in.Exec(ctx, []string{"/bin/sh", "-c", "exit 3"}, nil, &stderr)
			var ee *driver.ExitError
			if err == nil || errors.As(err, &ee) {
				t.Fatalf("Exec in a dead sandbox: %v, want a not-running error", err)
			}
			if !strings.Contains(err.Error(), "not running") {
				t.Errorf("error does not say the sandbox is not running: %v", err)
			}
			t.Logf("Exec says: %v", err)
		})
	}
}

// TestExecCancel: a command that outlives its context is stopped, and Exec
// returns soon with the context's error.
func TestExecCancel(t *testing.T) {
	img := testutil.MinimalImage(t)
	for _, name := range Runtimes() {
		t.Run(name, func(t *testing.T) {
			in := startedInstance(t, name, img, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := in.Exec(ctx, []string{"/bin/sleep", "60"}, nil, nil)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Exec error %v, want DeadlineExceeded", err)
			}
			if el := time.Since(start); el > waitDelay+5*time.Second {
				t.Errorf("Exec returned after %s", el)
			}
			// The runtime forwarded SIGTERM: no sleep runs in the sandbox.
			var out bytes.Buffer
			deadline := time.Now().Add(5 * time.Second)
			for {
				out.Reset()
				if err := in.Exec(context.Background(), []string{"/bin/sh", "-c", "ps -o args 2>/dev/null || ps"}, &out, nil); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(out.String(), "sleep 60") || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if strings.Contains(out.String(), "sleep 60") {
				t.Errorf("the command still runs after its context ended:\n%s", out.String())
			}
		})
	}
}

// TestResources: CPUs, memory and labels reach the runtime.
func TestResources(t *testing.T) {
	img := testutil.MinimalImage(t)
	for _, name := range Runtimes() {
		t.Run(name, func(t *testing.T) {
			in := startedInstance(t, name, img, func(s *driver.Spec) {
				s.CPUs = 1
				s.MemoryBytes = 96 << 20
				s.Labels = map[string]string{"isobench.test": "resources"}
			})
			b, err := os.ReadFile(filepath.Join(in.dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			var sp specs.Spec
			if err := json.Unmarshal(b, &sp); err != nil {
				t.Fatal(err)
			}
			if sp.Annotations["isobench.test"] != "resources" {
				t.Errorf("annotations %v", sp.Annotations)
			}
			got := map[string]string{}
			for _, dir := range cgroupDirs(in.cg.Mounts, in.spec.ID) {
				for _, f := range []string{"memory.limit_in_bytes", "memory.max", "cpu.cfs_quota_us", "cpu.max"} {
					if v, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
						got[f] = strings.TrimSpace(string(v))
					}
				}
			}
			mem := got["memory.limit_in_bytes"] + got["memory.max"]
			if mem != strconv.Itoa(96<<20) {
				t.Errorf("memory limit %q, want %d (cgroup files %v)", mem, 96<<20, got)
			}
			cpu := got["cpu.cfs_quota_us"]
			if v, ok := got["cpu.max"]; ok {
				cpu, _, _ = strings.Cut(v, " ")
			}
			if cpu != "100000" {
				t.Errorf("cpu quota %q, want 100000 (cgroup files %v)", cpu, got)
			}
		})
	}
}

// TestNetworkHost: with Spec.Network the sandbox sees the host's interfaces.
func TestNetworkHost(t *testing.T) {
	ents, err := os.ReadDir("/sys/class/net")
	if err != nil || len(ents) < 2 {
		t.Skip("the host has no interface but lo")
	}
	img := testutil.MinimalImage(t)
	for _, name := range Runtimes() {
		t.Run(name, func(t *testing.T) {
			in := startedInstance(t, name, img, func(s *driver.Spec) { s.Network = true })
			var out bytes.Buffer
			if err := in.Exec(context.Background(), []string{"/bin/sh", "-c", "cat /proc/net/dev"}, &out, nil); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, line := range strings.Split(out.String(), "\n") {
				if name, _, ok := strings.Cut(line, ":"); ok && !strings.Contains(name, "|") && strings.TrimSpace(name) != "lo" {
					n++
				}
			}
			if n == 0 {
				t.Errorf("with network, the sandbox sees only lo:\n%s", out.String())
			}
		})
	}
}

// TestCrunHybridWorkaround: on a hybrid cgroup host crun fails without the
// private mount namespace, with its own words as the reason, and works with
// it without touching the host's mounts.
func TestCrunHybridWorkaround(t *testing.T) {
	requireRuntime(t, "crun")
	table, err := readMountInfo()
	if err != nil {
		t.Fatal(err)
	}
	cg := cgroupLayout(table)
	if cg.Layout != cgroupHybrid {
		t.Skipf("cgroup layout is %s, not hybrid", cg.Layout)
	}
	env := testEnv(t)
	without, err := New(env, "crun", "")
	if err != nil {
		t.Fatal(err)
	}
	without.fl.hybridWorkaround = false
	_, err = without.Probe(context.Background())
	if !errors.Is(err, driver.ErrNotSupported) || !strings.Contains(err.Error(), "hybrid") {
		t.Errorf("crun without the workaround: %v, want ErrNotSupported naming hybrid mode", err)
	}
	with, err := New(env, "crun", "")
	if err != nil {
		t.Fatal(err)
	}
	info, err := with.Probe(context.Background())
	if err != nil {
		t.Fatalf("crun with the workaround: %v", err)
	}
	if info.Features["cgroup"] != cgroupHybrid || info.Features["cgroup_workaround"] == "" {
		t.Errorf("features %v", info.Features)
	}
	after, err := readMountInfo()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cg.Unified {
		if !contains(mountsAt(after, m), m) {
			t.Errorf("the host lost its mount %s", m)
		}
	}
}
