package qemu

import (
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/drivertest"
	"github.com/isobench/isobench/internal/driver/vmm"
	"github.com/isobench/isobench/internal/guest/guesttest"
	"github.com/isobench/isobench/internal/testutil"
)

// fullVM runs the whole shared suite on qemu-vm too under TCG, where each
// of its boots takes tens of seconds; qemu-microvm's suite always runs.
var fullVM = flag.Bool("qemu.full", false, "run the shared driver suite on qemu-vm under TCG too (slow)")

func testEnv(t *testing.T) driver.Env {
	t.Helper()
	// A short base: the instance directories hold unix sockets.
	dir, err := os.MkdirTemp("", "isobench-qemu-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return driver.Env{StateDir: filepath.Join(dir, "state"), RunDir: filepath.Join(dir, "run"), CacheDir: guesttest.CacheDir(t)}
}

// probed returns a working driver of the named runtime, or skips with the
// reason it does not work here.
func probed(t *testing.T, name string) (*vmm.Driver, driver.Env, driver.Info) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, Binary)
	testutil.RequireBinary(t, "mkfs.ext4")
	guesttest.Kernel(t)
	env := testEnv(t)
	d, err := New(env, name, "", vmm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	info, err := d.Probe(ctx)
	if errors.Is(err, driver.ErrNotSupported) {
		t.Skipf("%s does not work here: %v", name, err)
	}
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	t.Logf("%s %s: %v (probe %s)", info.Name, info.Version, info.Features, time.Since(start).Round(time.Millisecond))
	return d, env, info
}

func suiteOptions(env driver.Env, info driver.Info) []drivertest.Option {
	opts := []drivertest.Option{drivertest.WithEnv(env)}
	if info.Features["accel"] == vmm.AccelTCG {
		opts = append(opts, drivertest.WithTimeouts(4*time.Minute, 3*time.Minute))
	}
	return opts
}

// TestMicrovm boots one guest (reporting how long each phase took and
// what the VMM costs in memory), then runs the shared driver suite.
func TestMicrovm(t *testing.T) {
	d, env, info := probed(t, MicrovmName)
	if info.Features["accel"] == vmm.AccelTCG {
		found := false
		for _, w := range info.Warnings {
			found = found || w == vmm.TCGWarning
		}
		if !found {
			t.Errorf("TCG without the warning: %q", info.Warnings)
		}
	}
	t.Run("Boot", func(t *testing.T) { bootOnce(t, d, info) })
	t.Run("DuplicateID", func(t *testing.T) { duplicateID(t, d, env) })
	t.Run("Suite", func(t *testing.T) {
		drivertest.Run(t, d, testutil.MinimalImage(t), suiteOptions(env, info)...)
	})
}

// duplicateID: a second Create with an id in use fails, and leaves the
// first guest's record and directory alone.
func duplicateID(t *testing.T, d *vmm.Driver, env driver.Env) {
	img := testutil.MinimalImage(t)
	ctx := context.Background()
	spec := driver.Spec{ID: driver.IDPrefix + "qemu-dup", Image: img}
	first, err := d.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if second, err := d.Create(ctx, spec); err == nil {
		second.Close()
		t.Fatal("a second Create with the same id succeeded")
	} else {
		t.Logf("second Create says: %v", err)
	}
	for _, p := range []string{filepath.Join(env.StateDir, "vm", spec.ID+".json"), filepath.Join(env.RunDir, spec.ID, "root.qcow2")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("the failed second Create removed the first's %s: %v", p, err)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(env.RunDir, spec.ID)); !os.IsNotExist(err) {
		t.Errorf("after Close, the instance directory: %v", err)
	}
}

// TestVM boots one full-VM guest; under KVM (or with -qemu.full) it runs
// the shared driver suite too.
func TestVM(t *testing.T) {
	d, env, info := probed(t, VMName)
	t.Run("Boot", func(t *testing.T) { bootOnce(t, d, info) })
	t.Run("Suite", func(t *testing.T) {
		if info.Features["accel"] == vmm.AccelTCG && !*fullVM {
			t.Skip("qemu-vm under TCG: each boot takes tens of seconds; Boot tested one (run with -qemu.full for the whole suite)")
		}
		drivertest.Run(t, d, testutil.MinimalImage(t), suiteOptions(env, info)...)
	})
}

func bootOnce(t *testing.T, d *vmm.Driver, info driver.Info) {
	img := testutil.MinimalImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// With a network: the one boot also checks the guest's virtio-net
	// device on this machine's transport (the shared suite's Network
	// check runs on qemu-microvm only, under TCG).
	spec := driver.Spec{ID: driver.IDPrefix + "qemu-boot-" + strings.ReplaceAll(info.Name, ":", "-"), Image: img, Scratch: driver.ScratchTmpfs, Network: true}
	t0 := time.Now()
	inst, err := d.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	t1 := time.Now()
	if err := inst.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t2 := time.Now()
	var out strings.Builder
	if err := inst.Exec(ctx, []string{"/bin/sh", "-c", "cat /proc/cmdline; grep -c processor /proc/cpuinfo"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	t3 := time.Now()
	if !strings.Contains(out.String(), "isobench.scratch=tmpfs") {
		t.Errorf("guest command line %q lacks the scratch kind", out.String())
	}
	vi := inst.(*vmm.Instance)
	tap := checkGuestLink(t, ctx, vi)
	tm := vi.Timings()
	st, ok := vi.StartTiming()
	if !ok {
		t.Error("StartTiming after a successful Start: none")
	} else if err := st.Check(); err != nil {
		t.Error(err)
	}
	pids := vi.HostPIDs()
	if len(pids) != 1 {
		t.Fatalf("HostPIDs = %v, want the VMM", pids)
	}
	mem, err := driver.ReadProcessMemory(pids[0])
	if err != nil {
		t.Fatal(err)
	}
	if mem.RSS <= 0 || mem.PSS <= 0 || mem.PSS > mem.RSS {
		t.Errorf("VMM memory %+v", mem)
	}
	if err := inst.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t4 := time.Now()
	if err := inst.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.InterfaceByName(tap); err == nil {
		t.Errorf("after Close, the tap %s is still there", tap)
	}
	t.Logf("%s (accel %s): create %s, start %s (launch %s, boot %s, agent ready %s; guest uptime %s), exec %s, stop %s; VMM RSS %.0f MiB, PSS %.0f MiB",
		info.Name, info.Features["accel"], t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond),
		tm.Launch.Round(time.Millisecond), tm.Boot.Round(time.Millisecond), tm.Ready.Round(time.Millisecond), tm.GuestUptime.Round(time.Millisecond),
		t3.Sub(t2).Round(time.Millisecond), t4.Sub(t3).Round(time.Millisecond), float64(mem.RSS)/(1<<20), float64(mem.PSS)/(1<<20))
}

// checkGuestLink checks a started guest's link: the tap on the host with
// the host's address, the guest's address on its device, and a TCP
// connection from the guest to a listener on the tap's address. It
// returns the tap's name.
func checkGuestLink(t *testing.T, ctx context.Context, vi *vmm.Instance) string {
	t.Helper()
	n, ok := vi.Network()
	if !ok {
		t.Fatal("Network() of a guest made with Spec.Network: none")
	}
	t.Logf("link: %s %s (host %s) <-> %s; path: %s; note: %s", n.Kind, n.HostDevice, n.HostAddr, n.SandboxAddr, n.Path, n.Note)
	if n.Kind != "tap" || n.HostAddr.Bits() != 30 || !n.HostAddr.Contains(n.SandboxAddr) || n.Path == "" {
		t.Errorf("link %+v", n)
	}
	if _, err := net.InterfaceByName(n.HostDevice); err != nil {
		t.Fatalf("the tap: %v", err)
	}
	var out strings.Builder
	if err := vi.Exec(ctx, []string{"/bin/sh", "-c", "cat /proc/net/fib_trie"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), n.SandboxAddr.String()) {
		t.Errorf("the guest's addresses %q lack %s", out.String(), n.SandboxAddr)
	}
	from, line, err := drivertest.SandboxSends(vi, n.HostAddr.Addr(), "from-guest", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := from.String()+" "+line, n.SandboxAddr.String()+" from-guest"; got != want {
		t.Errorf("the host end got %q, want %q", got, want)
	}
	return n.HostDevice
}

// TestNetArgs: a machine with a network has a virtio-net device of its
// machine's transport on its tap, which QEMU configures nothing on.
func TestNetArgs(t *testing.T) {
	m := &vmm.Machine{ID: "isobench-x", Dir: "/r/isobench-x", Accel: vmm.AccelTCG, CPUs: 1, MemoryBytes: 1 << 30,
		KernelPath: "/k/vmlinux", Initramfs: "/k/initramfs.cpio", Cmdline: "console=ttyS0",
		Net: &vmm.NetDevice{Tap: "isb7", MAC: "02:69:62:80:00:1e"}}
	for machine, dev := range map[string]string{"microvm": "virtio-net-device", "q35": "virtio-net-pci"} {
		f := &family{name: "x", machine: machine}
		args := strings.Join(f.Args(m), " ")
		for _, want := range []string{"-netdev tap,id=net0,ifname=isb7,script=no,downscript=no,vhost=off", "-device " + dev + ",netdev=net0,mac=02:69:62:80:00:1e"} {
			if !strings.Contains(args, want) {
				t.Errorf("%s: %q lacks %q", machine, args, want)
			}
		}
		if b := f.NetBackend(m); !strings.Contains(b, dev) || !strings.Contains(b, "no vhost-net") {
			t.Errorf("%s: net backend %q", machine, b)
		}
	}
	m.Net = nil
	if args := strings.Join((&family{name: "x", machine: "microvm"}).Args(m), " "); strings.Contains(args, "netdev") {
		t.Errorf("a machine without a network has a network device: %q", args)
	}
}
