package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/drivertest"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
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

// TestNetworkLink: with Spec.Network the sandbox has one device besides
// lo, with the address isobench assigned, and a host process reaches it
// over the link (the sandbox connects to a listener on the host end); the
// link, its namespace and its record are gone after Close.
func TestNetworkLink(t *testing.T) {
	img := testutil.MinimalImage(t)
	for _, name := range Runtimes() {
		t.Run(name, func(t *testing.T) {
			in := startedInstance(t, name, img, func(s *driver.Spec) { s.Network = true })
			n, ok := in.Network()
			if !ok {
				t.Fatal("Network() says the sandbox has no network")
			}
			if !sandboxnet.Range.Contains(n.SandboxAddr) || !n.HostAddr.Contains(n.SandboxAddr) || n.Kind != sandboxnet.KindVeth {
				t.Fatalf("link %+v: addresses not on one /30 of %s", n, sandboxnet.Range)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var out bytes.Buffer
			if err := in.Exec(ctx, []string{"/bin/sh", "-c", "cat /proc/net/dev"}, &out, nil); err != nil {
				t.Fatal(err)
			}
			var ifaces []string
			for _, line := range strings.Split(out.String(), "\n") {
				if dev, _, ok := strings.Cut(line, ":"); ok && !strings.Contains(dev, "|") {
					ifaces = append(ifaces, strings.TrimSpace(dev))
				}
			}
			sort.Strings(ifaces)
			if strings.Join(ifaces, ",") != "eth0,lo" {
				t.Errorf("devices in the sandbox %v, want eth0 and lo", ifaces)
			}
			from, line, err := drivertest.SandboxSends(in, n.HostAddr.Addr(), "hello-from-sandbox", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if from != n.SandboxAddr || line != "hello-from-sandbox" {
				t.Errorf("host end received %q from %s, want the sandbox's line from %s", line, from, n.SandboxAddr)
			}
			if err := in.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join("/run/netns", in.spec.ID)); err == nil {
				t.Errorf("network namespace %s left after Close", in.spec.ID)
			}
			if _, err := net.InterfaceByName(n.HostDevice); err == nil {
				t.Errorf("host device %s left after Close", n.HostDevice)
			}
		})
	}
}

// TestCrunHybridWorkaround: on a hybrid cgroup host crun fails without the
// private mount namespace, with its own words as the reason, and works with
// it without touching the host's mounts.
func TestCrunHybridWorkaround(t *testing.T) {
	requireRuntime(t, "crun")
	table, err := driverkit.ReadMountInfo()
	if err != nil {
		t.Fatal(err)
	}
	cg := driverkit.Cgroups(table)
	if cg.Layout != driverkit.CgroupHybrid {
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
	if info.Features["cgroup"] != driverkit.CgroupHybrid || info.Features["cgroup_workaround"] == "" {
		t.Errorf("features %v", info.Features)
	}
	after, err := driverkit.ReadMountInfo()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cg.Unified {
		if !slices.Contains(driverkit.MountsAt(after, m), m) {
			t.Errorf("the host lost its mount %s", m)
		}
	}
}

// TestPrefixIDs: runsc looks ids up by prefix. Once sandbox "…-1" is
// gone and "…-10" runs, asking about "…-1" must not answer with "…-10",
// and tearing "…-1" down again must leave "…-10" running.
func TestPrefixIDs(t *testing.T) {
	img := testutil.MinimalImage(t)
	for _, name := range []string{"runc", "runsc"} {
		t.Run(name, func(t *testing.T) {
			requireRuntime(t, name)
			d, err := New(testEnv(t), name, "")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			base := driver.IDPrefix + "pfx-" + mustSuffix(t)
			start := func(id string) *instance {
				inst, err := d.Create(ctx, driver.Spec{ID: id, Image: img})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { inst.Close() })
				if err := inst.Start(ctx); err != nil {
					t.Fatal(err)
				}
				return inst.(*instance)
			}
			first := start(base + "-1")
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			other := start(base + "-10")
			if st, exists, err := first.rt.state(ctx, first.spec.ID); err != nil || exists {
				t.Errorf("state of the closed %s: exists %v (%+v), %v", first.spec.ID, exists, st, err)
			}
			if _, err := teardown(ctx, first.rt, first.cg, first.spec.ID, first.dir); err != nil {
				t.Errorf("tearing the closed sandbox down again: %v", err)
			}
			if err := other.Exec(ctx, []string{"/bin/true"}, nil, nil); err != nil {
				t.Errorf("%s after %s was torn down again: %v", other.spec.ID, first.spec.ID, err)
			}
		})
	}
}
