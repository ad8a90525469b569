package firecracker

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/vmm"
	"github.com/isobench/isobench/internal/driver/vmm/vmmtest"
	"github.com/isobench/isobench/internal/guest"
	"github.com/isobench/isobench/internal/guest/guesttest"
)

const spec = "testdata/firecracker.yaml"

// TestContractAPI is a contract test: Firecracker does not run on every
// host (it needs KVM, and no distribution packages it), so the requests
// the driver sends to boot and stop a guest go to a stand-in server that
// checks each against Firecracker's published API description.
func TestContractAPI(t *testing.T) {
	tests := []struct {
		name       string
		m          vmm.Machine
		wantDrives []string
	}{
		{"root disk only", vmm.Machine{CPUs: 1, MemoryBytes: 1 << 30, KernelPath: "/k/vmlinux", Initramfs: "/k/initramfs.cpio", Cmdline: "console=ttyS0 quiet", RootDisk: "/d/root.ext4"}, []string{"root"}},
		{"with a volume", vmm.Machine{CPUs: 2, MemoryBytes: 512 << 20, KernelPath: "/k/vmlinux", Initramfs: "/k/initramfs.cpio", Cmdline: "console=ttyS0", RootDisk: "/d/root.ext4", VolumeDisk: "/d/volume.ext4"}, []string{"root", "volume"}},
		{"probe boot, no disk", vmm.Machine{CPUs: 1, MemoryBytes: 256 << 20, KernelPath: "/k/vmlinux", Initramfs: "/k/initramfs.cpio", Cmdline: "isobench.probe=1"}, nil},
		{"with a network", vmm.Machine{CPUs: 1, MemoryBytes: 1 << 30, KernelPath: "/k/vmlinux", Initramfs: "/k/initramfs.cpio", Cmdline: "console=ttyS0", RootDisk: "/d/root.ext4",
			Net: &vmm.NetDevice{Tap: "isb7", MAC: "02:69:62:80:00:1e", HostAddr: netip.MustParsePrefix("169.254.128.29/30"), GuestAddr: netip.MustParsePrefix("169.254.128.30/30")}}, []string{"root"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reqs, ops := vmmtest.BootAndQuit(t, spec, func(api *vmm.APIClient) vmm.Controller {
				return &controller{api: api, m: &tc.m}
			})
			var drives, ifaces []string
			for i, r := range reqs {
				var body map[string]any
				json.Unmarshal(r.Body, &body)
				switch r.Operation {
				case "putMachineConfiguration":
					if int(body["vcpu_count"].(float64)) != tc.m.CPUs || int64(body["mem_size_mib"].(float64)) != tc.m.MemoryBytes>>20 {
						t.Errorf("machine config %s, want %d vCPUs and %d MiB", r.Body, tc.m.CPUs, tc.m.MemoryBytes>>20)
					}
				case "putGuestBootSource":
					if body["kernel_image_path"] != tc.m.KernelPath || body["initrd_path"] != tc.m.Initramfs || body["boot_args"] != tc.m.Cmdline {
						t.Errorf("boot source %s", r.Body)
					}
				case "putGuestDriveByID":
					drives = append(drives, body["drive_id"].(string))
					if "/drives/"+body["drive_id"].(string) != r.Path {
						t.Errorf("drive %s put at %s", body["drive_id"], r.Path)
					}
					if body["is_root_device"] != false {
						t.Errorf("drive %s is a root device: the initramfs mounts it", r.Body)
					}
				case "putGuestNetworkInterfaceByID":
					ifaces = append(ifaces, r.Path)
					if tc.m.Net == nil || body["host_dev_name"] != tc.m.Net.Tap || body["guest_mac"] != tc.m.Net.MAC || "/network-interfaces/"+body["iface_id"].(string) != r.Path {
						t.Errorf("network interface %s at %s, want the tap and MAC of %+v", r.Body, r.Path, tc.m.Net)
					}
					if i >= len(reqs)-2 {
						t.Errorf("network interface put after InstanceStart")
					}
				}
			}
			if want := tc.m.Net != nil; (len(ifaces) == 1) != want || len(ifaces) > 1 {
				t.Errorf("network interfaces %q, want one: %v", ifaces, want)
			}
			if strings.Join(drives, ",") != strings.Join(tc.wantDrives, ",") {
				t.Errorf("drives %q, want %q in that order", drives, tc.wantDrives)
			}
			// InstanceStart comes last of the boot; Ctrl-Alt-Del stops.
			if len(reqs) < 2 || !strings.Contains(string(reqs[len(reqs)-2].Body), "InstanceStart") || !strings.Contains(string(reqs[len(reqs)-1].Body), "SendCtrlAltDel") {
				t.Errorf("requests %q: want InstanceStart, then SendCtrlAltDel last", ops)
			}
			for _, want := range []string{"putMachineConfiguration", "putGuestBootSource", "createSyncAction"} {
				if !slices.Contains(ops, want) {
					t.Errorf("requests %q lack %s", ops, want)
				}
			}
		})
	}
}

// TestContractRejectsNonConforming checks the stand-in itself: a request
// outside the description must be caught, or the contract test proves
// nothing.
func TestContractRejectsNonConforming(t *testing.T) {
	vmmtest.RejectsNonConforming(t, spec, []vmmtest.Put{
		{Path: "/machine-config", Body: map[string]any{"vcpu_count": "two", "mem_size_mib": 128}},
		{Path: "/machine-config", Body: map[string]any{"vcpu_count": 1}},
		{Path: "/actions", Body: map[string]any{"action_type": "Reboot"}},
		{Path: "/drives/root", Body: map[string]any{"drive_id": "root", "is_root_device": false, "path": "/x"}},
		{Path: "/network-interfaces/eth0", Body: map[string]any{"iface_id": "eth0", "guest_mac": "02:69:62:80:00:1e"}},
		{Path: "/network-interfaces/eth0", Body: map[string]any{"iface_id": "eth0", "host_dev_name": 7}},
		{Path: "/no-such-thing", Body: map[string]any{}},
	})
}

// TestFirecracker runs the shared driver suite on the real Firecracker
// wherever it works (the binary, working KVM and a guest kernel that
// fits); elsewhere it skips with what is missing.
func TestFirecracker(t *testing.T) {
	vmmtest.RunSuite(t, vmmtest.Real{
		Binary: Binary, Project: "the Firecracker project", TempPrefix: "isobench-fc-",
		New: func(env driver.Env) (*vmm.Driver, error) { return New(env, "", vmm.Options{}) },
	})
}

// TestProbeSaysWhatIsMissing: where Firecracker cannot run, Probe (and so
// doctor) names everything missing at once: the binary, working KVM, a
// kernel that fits.
func TestProbeSaysWhatIsMissing(t *testing.T) {
	k := guesttest.Kernel(t)
	base := t.TempDir()
	env := driver.Env{StateDir: filepath.Join(base, "state"), RunDir: filepath.Join(base, "run"), CacheDir: guesttest.CacheDir(t)}
	d, err := New(env, "/nonexistent-isobench/firecracker", vmm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Probe(context.Background())
	if !errors.Is(err, driver.ErrNotSupported) {
		t.Fatalf("Probe with no binary: %v, want ErrNotSupported", err)
	}
	msg := err.Error()
	t.Logf("%s", msg)
	want := []string{"no firecracker binary at /nonexistent-isobench/firecracker"}
	// With no binary the version is unknown and taken as a current
	// release, whose guests find the devices through ACPI: the kernel's
	// fit is judged so (guest.CheckKernelFor), and a misfit is named.
	var fit *guest.KernelFitError
	if err := guest.CheckKernel(k, guest.VMMFirecracker); errors.As(err, &fit) {
		want = append(want, fit.Short())
	} else if err == nil && strings.Contains(msg, "guest kernel") {
		t.Errorf("Probe says the guest kernel does not fit, but it fits a current Firecracker: %s", msg)
	}
	qemu, _ := exec.LookPath("qemu-system-x86_64")
	if st := vmm.ProbeKVM(context.Background(), qemu, t.TempDir(), 5*time.Second); !st.Usable() {
		want = append(want, st.Short)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("Probe's reason lacks %q", w)
		}
	}
}
