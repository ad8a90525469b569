package guest

import (
	"errors"
	"strings"
	"testing"
)

// The Firecracker facts these tests hold the fit to, from Firecracker's
// own documents:
//   - CHANGELOG.md, 1.8.0: ACPI support for x86_64 microVMs, the tables
//     carrying the VirtIO devices (and the MPTable way deprecated);
//   - docs/kernel-policy.md: booting with ACPI needs CONFIG_ACPI=y and
//     CONFIG_PCI=y (the latter for the guest's ACPI initialisation); the
//     devices named on the command line (CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES)
//     are the deprecated older way, still given, so a kernel with ACPI
//     only, the older way only, or both boots.

func TestFirecrackerACPI(t *testing.T) {
	tests := []struct {
		version     string
		acpi, known bool
	}{
		{"Firecracker v1.8.0", true, true},
		{"v1.8.0", true, true},
		{"1.8.0", true, true},
		{"v1.16.1", true, true},
		{"1.17.0-dev", true, true},
		{"v2.0.0", true, true},
		{"Firecracker v1.7.0", false, true},
		{"v1.4.1", false, true},
		{"0.25.2", false, true},
		{"v1.10", true, true},
		{"", true, false},
		{"Firecracker", true, false},
		{"vX.Y", true, false},
		{"1.", true, false},
	}
	for _, tc := range tests {
		acpi, known := FirecrackerACPI(tc.version)
		if acpi != tc.acpi || known != tc.known {
			t.Errorf("FirecrackerACPI(%q) = %v, %v; want %v, %v", tc.version, acpi, known, tc.acpi, tc.known)
		}
	}
}

// fitKernel is a kernel as the cache records one: a vmlinux, virtio_blk
// and ext4 as modules the initramfs loads, and a configuration parsed
// from config (nil config: unknown). virtio_mmio is a module unless
// mmioBuiltin, or absent when noMMIO.
func fitKernel(t *testing.T, config string, mmio string) *Kernel {
	t.Helper()
	k := &Kernel{Release: "6.1.0-test", Format: "bzImage", HasVmlinux: true,
		Modules: []ModuleInfo{{Name: "virtio_blk"}, {Name: "ext4"}}}
	switch mmio {
	case "module":
		k.Modules = append(k.Modules, ModuleInfo{Name: "virtio_mmio"})
	case "builtin", "none":
	default:
		t.Fatalf("mmio %q", mmio)
	}
	if config != "" {
		cfg, err := ParseKernelConfig(strings.NewReader(config))
		if err != nil {
			t.Fatal(err)
		}
		if mmio == "builtin" {
			cfg["CONFIG_VIRTIO_MMIO"] = "y"
		}
		k.config = cfg
		k.HasConfig = true
	}
	return k
}

// A kernel configured as the Debian one is: ACPI and PCI built in,
// virtio-mmio a module, no command-line devices.
const debianLike = `# CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES is not set
CONFIG_ACPI=y
CONFIG_PCI=y
CONFIG_VIRTIO_MMIO=m
CONFIG_VIRTIO_BLK=m
CONFIG_EXT4_FS=m
CONFIG_SERIAL_8250_CONSOLE=y
`

// A kernel built for the older Firecracker: command-line devices, no ACPI.
const slugsOnly = `CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y
# CONFIG_ACPI is not set
CONFIG_PCI=y
CONFIG_VIRTIO_MMIO=y
CONFIG_SERIAL_8250_CONSOLE=y
`

const both = `CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y
CONFIG_ACPI=y
CONFIG_PCI=y
CONFIG_SERIAL_8250_CONSOLE=y
`

const acpiNoPCI = `# CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES is not set
CONFIG_ACPI=y
# CONFIG_PCI is not set
CONFIG_SERIAL_8250_CONSOLE=y
`

const neither = `# CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES is not set
# CONFIG_ACPI is not set
CONFIG_PCI=y
CONFIG_SERIAL_8250_CONSOLE=y
`

func TestCheckKernelFirecrackerByVersion(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		mmio    string
		version string
		fits    bool
		keys    []string // KernelProblem.Key of each problem, in order
		mention string   // a word the error must carry
	}{
		{"debian-like, ACPI release", debianLike, "module", "Firecracker v1.8.0", true, nil, ""},
		{"debian-like, later release", debianLike, "module", "v1.16.1", true, nil, ""},
		{"debian-like, version unknown", debianLike, "module", "", true, nil, ""},
		{"debian-like, release before ACPI", debianLike, "module", "Firecracker v1.7.0", false,
			[]string{"CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y"}, "predates ACPI"},
		{"debian-like without virtio_mmio", debianLike, "none", "v1.8.0", false,
			[]string{"virtio_mmio"}, "CONFIG_VIRTIO_MMIO=m, but the module is not in the cache"},
		{"virtio_mmio built in, ACPI", both, "builtin", "v1.9.0", true, nil, ""},
		{"slugs only, old release", slugsOnly, "builtin", "v1.4.1", true, nil, ""},
		{"slugs only, ACPI release (the older way is still given)", slugsOnly, "builtin", "v1.8.0", true, nil, ""},
		{"both ways, old release", both, "module", "v1.5.0", true, nil, ""},
		{"ACPI without PCI, ACPI release", acpiNoPCI, "module", "v1.8.0", false,
			[]string{"CONFIG_PCI=y"}, "nor CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES"},
		{"neither way, ACPI release", neither, "module", "v1.10.0", false,
			[]string{"CONFIG_ACPI=y"}, "ACPI tables"},
		{"neither way, old release", neither, "module", "v1.7.0", false,
			[]string{"CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y"}, "command line only"},
		{"configuration unknown, ACPI release", "", "module", "v1.8.0", false,
			[]string{"a known CONFIG_ACPI or CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES"}, "give --config"},
		{"configuration unknown, old release", "", "module", "v1.7.0", false,
			[]string{"a known CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES"}, "give --config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := fitKernel(t, tc.config, tc.mmio)
			err := CheckKernelFor(k, VMMFirecracker, tc.version)
			if tc.fits {
				if err != nil {
					t.Fatalf("CheckKernelFor(%q) = %v, want a fit", tc.version, err)
				}
				return
			}
			var fit *KernelFitError
			if !errors.As(err, &fit) {
				t.Fatalf("CheckKernelFor(%q) = %v, want a *KernelFitError", tc.version, err)
			}
			var keys []string
			for _, p := range fit.Problems {
				keys = append(keys, p.Key)
			}
			if strings.Join(keys, "|") != strings.Join(tc.keys, "|") {
				t.Errorf("problems %q, want %q (%v)", keys, tc.keys, err)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error does not say %q: %v", tc.mention, err)
			}
		})
	}
}

// The version matters to Firecracker alone: the other VMMs judge the same
// kernel alike whatever version is given.
func TestCheckKernelVersionOnlyForFirecracker(t *testing.T) {
	k := fitKernel(t, debianLike, "module")
	k.Modules = append(k.Modules, ModuleInfo{Name: "virtio_pci"})
	for _, v := range []string{VMMQemuMicrovm, VMMQemuVM} {
		for _, ver := range []string{"", "v1.7.0", "QEMU emulator version 7.2.0"} {
			if err := CheckKernelFor(k, v, ver); err != nil {
				t.Errorf("CheckKernelFor(%s, %q) = %v", v, ver, err)
			}
		}
	}
	if err := CheckKernel(k, VMMFirecracker); err != nil {
		t.Errorf("CheckKernel(firecracker) with the version unknown, on an ACPI kernel: %v", err)
	}
}

// Fits judges a kernel against every VMM, in the order of VMMs, with the
// problems CheckKernel names.
func TestFits(t *testing.T) {
	pci := fitKernel(t, debianLike, "module")
	pci.Modules = append(pci.Modules, ModuleInfo{Name: "virtio_pci"})
	tests := []struct {
		name string
		k    *Kernel
		keys map[string]string // VMM -> its problems' keys, "" when it fits
	}{
		{"debian-like with virtio_pci", pci, map[string]string{
			VMMQemuMicrovm: "", VMMQemuVM: "", VMMFirecracker: "", VMMCloudHypervisor: "CONFIG_PVH=y"}},
		{"no virtio_mmio, no virtio_pci", fitKernel(t, debianLike, "none"), map[string]string{
			VMMQemuMicrovm: "virtio_mmio", VMMQemuVM: "virtio_pci", VMMFirecracker: "virtio_mmio",
			VMMCloudHypervisor: "virtio_pci|CONFIG_PVH=y"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fits := Fits(tc.k)
			if len(fits) != len(VMMs()) {
				t.Fatalf("%d fits, want one for each of %q", len(fits), VMMs())
			}
			for i, f := range fits {
				if f.VMM != VMMs()[i] {
					t.Errorf("fit %d is for %s, want %s", i, f.VMM, VMMs()[i])
				}
				if f.Err != nil {
					t.Errorf("%s: %v", f.VMM, f.Err)
				}
				var keys []string
				for _, p := range f.Problems {
					keys = append(keys, p.Key)
				}
				if got := strings.Join(keys, "|"); got != tc.keys[f.VMM] {
					t.Errorf("%s: problems %q, want %q", f.VMM, got, tc.keys[f.VMM])
				}
				err := CheckKernel(tc.k, f.VMM)
				if (err == nil) != (len(f.Problems) == 0) {
					t.Errorf("%s: Fits says %d problems, CheckKernel %v", f.VMM, len(f.Problems), err)
				}
			}
		})
	}
}
