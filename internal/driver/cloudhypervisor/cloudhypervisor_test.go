package cloudhypervisor

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/vmm"
	"github.com/isobench/isobench/internal/driver/vmm/vmmtest"
)

const spec = "testdata/cloud-hypervisor.yaml"

// TestContractAPI is a contract test: Cloud Hypervisor does not run on
// every host (it needs KVM, and no distribution packages it), so the
// requests the driver sends to boot and stop a guest go to a stand-in
// server that checks each against Cloud Hypervisor's published API
// description.
func TestContractAPI(t *testing.T) {
	tests := []struct {
		name  string
		m     vmm.Machine
		disks []string
	}{
		{"root disk only", vmm.Machine{CPUs: 1, MemoryBytes: 1 << 30, KernelPath: "/k/vmlinux", Initramfs: "/k/initramfs.cpio", Cmdline: "console=ttyS0 quiet", RootDisk: "/d/root.ext4"}, []string{"/d/root.ext4"}},
		{"with a volume", vmm.Machine{CPUs: 2, MemoryBytes: 512 << 20, KernelPath: "/k/vmlinux", Initramfs: "/k/initramfs.cpio", Cmdline: "console=ttyS0", RootDisk: "/d/root.ext4", VolumeDisk: "/d/volume.ext4"}, []string{"/d/root.ext4", "/d/volume.ext4"}},
		{"probe boot, no disk", vmm.Machine{CPUs: 1, MemoryBytes: 256 << 20, KernelPath: "/k/vmlinux", Initramfs: "/k/initramfs.cpio", Cmdline: "isobench.probe=1"}, nil},
		{"with a network", vmm.Machine{CPUs: 1, MemoryBytes: 1 << 30, KernelPath: "/k/vmlinux", Initramfs: "/k/initramfs.cpio", Cmdline: "console=ttyS0", RootDisk: "/d/root.ext4",
			Net: &vmm.NetDevice{Tap: "isb7", MAC: "02:69:62:80:00:1e", HostAddr: netip.MustParsePrefix("169.254.128.29/30"), GuestAddr: netip.MustParsePrefix("169.254.128.30/30")}}, []string{"/d/root.ext4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reqs, ops := vmmtest.BootAndQuit(t, spec, func(api *vmm.APIClient) vmm.Controller {
				return &controller{api: api, m: &tc.m}
			})
			want := []string{"createVM", "bootVM", "shutdownVM", "shutdownVMM"}
			if len(ops) != len(want) {
				t.Fatalf("operations %q, want %q", ops, want)
			}
			for i := range want {
				if ops[i] != want[i] {
					t.Fatalf("operations %q, want %q", ops, want)
				}
			}
			var cfg vmConfig
			if err := json.Unmarshal(reqs[0].Body, &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Cpus.BootVcpus != tc.m.CPUs || cfg.Memory.Size != tc.m.MemoryBytes {
				t.Errorf("vm.create %s: want %d vCPUs and %d bytes", reqs[0].Body, tc.m.CPUs, tc.m.MemoryBytes)
			}
			if cfg.Payload.Kernel != tc.m.KernelPath || cfg.Payload.Initramfs != tc.m.Initramfs || cfg.Payload.Cmdline != tc.m.Cmdline {
				t.Errorf("payload %+v", cfg.Payload)
			}
			if cfg.Serial.Mode != "Tty" || cfg.Console.Mode != "Off" {
				t.Errorf("serial %q console %q: the agent talks on the serial console, on the VMM's stdio", cfg.Serial.Mode, cfg.Console.Mode)
			}
			var disks []string
			for _, d := range cfg.Disks {
				disks = append(disks, d.Path)
			}
			if len(disks) != len(tc.disks) {
				t.Fatalf("disks %q, want %q", disks, tc.disks)
			}
			for i := range disks {
				if disks[i] != tc.disks[i] {
					t.Errorf("disks %q, want %q in that order", disks, tc.disks)
				}
			}
			switch {
			case tc.m.Net == nil && len(cfg.Net) != 0:
				t.Errorf("net %+v without a network", cfg.Net)
			case tc.m.Net != nil:
				// The tap's own address and mask: Cloud Hypervisor sets
				// them on a tap where it sets them at all, and must not
				// change what isobench set.
				want := netConfig{Tap: "isb7", MAC: "02:69:62:80:00:1e", IP: "169.254.128.29", Mask: "255.255.255.252", ID: "net0"}
				if len(cfg.Net) != 1 || cfg.Net[0] != want {
					t.Errorf("net %+v, want [%+v]", cfg.Net, want)
				}
			}
		})
	}
}

// TestContractRejectsNonConforming checks the stand-in itself.
func TestContractRejectsNonConforming(t *testing.T) {
	vmmtest.RejectsNonConforming(t, spec, []vmmtest.Put{
		{Path: apiPrefix + "/vm.create", Body: map[string]any{"cpus": map[string]any{"boot_vcpus": 1, "max_vcpus": 1}}},
		{Path: apiPrefix + "/vm.create", Body: map[string]any{"payload": map[string]any{"kernel": "/k"}, "serial": map[string]any{"mode": "Serial"}}},
		{Path: apiPrefix + "/vm.create", Body: map[string]any{"payload": map[string]any{"kernel": "/k"}, "disks": []any{map[string]any{"file": "/d"}}}},
		{Path: apiPrefix + "/vm.start", Body: nil},
		{Path: apiPrefix + "/vm.create", Body: map[string]any{"payload": map[string]any{"kernel": "/k"}, "net": []any{map[string]any{"tap": "isb7", "num_queues": "two"}}}},
		{Path: apiPrefix + "/vm.create", Body: map[string]any{"payload": map[string]any{"kernel": "/k"}, "net": map[string]any{"tap": "isb7"}}},
		{Path: "/vm.create", Body: map[string]any{"payload": map[string]any{"kernel": "/k"}}},
	})
}

// TestCloudHypervisor runs the shared driver suite on the real Cloud
// Hypervisor wherever it works; elsewhere it skips with what is missing.
func TestCloudHypervisor(t *testing.T) {
	vmmtest.RunSuite(t, vmmtest.Real{
		Binary: Binary, Project: "the Cloud Hypervisor project", TempPrefix: "isobench-ch-",
		New: func(env driver.Env) (*vmm.Driver, error) { return New(env, "", vmm.Options{}) },
	})
}
