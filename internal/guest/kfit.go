package guest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// VMMs whose needs CheckKernel knows.
const (
	VMMQemuMicrovm     = "qemu-microvm"
	VMMQemuVM          = "qemu-vm"
	VMMFirecracker     = "firecracker"
	VMMCloudHypervisor = "cloud-hypervisor"
)

// VMMs are the VMMs whose needs CheckKernel knows, in the order isobench
// lists them.
func VMMs() []string {
	return []string{VMMQemuMicrovm, VMMQemuVM, VMMFirecracker, VMMCloudHypervisor}
}

// Fit is whether a kernel fits one VMM.
type Fit struct {
	VMM string
	// Problems is what the kernel lacks for the VMM: empty when it fits.
	Problems []KernelProblem
	// Err is a check that failed, not a misfit (Problems is then empty).
	Err error
}

// Fits checks k against each of VMMs, with each VMM's version unknown.
func Fits(k *Kernel) []Fit {
	var out []Fit
	for _, vmm := range VMMs() {
		f := Fit{VMM: vmm}
		if err := CheckKernel(k, vmm); err != nil {
			var fit *KernelFitError
			if errors.As(err, &fit) {
				f.Problems = fit.Problems
			} else {
				f.Err = err
			}
		}
		out = append(out, f)
	}
	return out
}

// KernelProblem is one reason a kernel does not fit a VMM.
type KernelProblem struct {
	// Need says what the VMM needs, Have what the kernel has; Key names
	// it in a word or two (a module, a config option).
	Need string
	Have string
	Key  string
}

func (p KernelProblem) String() string { return p.Need + ": " + p.Have }

// KernelFitError lists every reason a kernel does not fit a VMM.
type KernelFitError struct {
	VMM      string
	Release  string
	Problems []KernelProblem
}

// Short says it in one short line: "guest kernel R lacks A, B".
func (e *KernelFitError) Short() string {
	var keys []string
	for _, p := range e.Problems {
		keys = append(keys, p.Key)
	}
	return fmt.Sprintf("guest kernel %s lacks %s", e.Release, strings.Join(keys, ", "))
}

func (e *KernelFitError) Error() string {
	var parts []string
	for _, p := range e.Problems {
		parts = append(parts, p.String())
	}
	return fmt.Sprintf("guest kernel %s does not fit %s: %s", e.Release, e.VMM, strings.Join(parts, "; "))
}

// CheckKernel is CheckKernelFor with the VMM's version unknown.
func CheckKernel(k *Kernel, vmm string) error { return CheckKernelFor(k, vmm, "") }

// CheckKernelFor says whether k can boot guests on the VMM at version
// vmmVersion (as the VMM's --version says it, "Firecracker v1.8.0",
// "v1.8.0" or "1.8.0"; "" when unknown), and returns a *KernelFitError
// naming everything missing when not:
//
//   - every VMM needs the virtio block device and ext4, built in or as
//     modules the initramfs loads, and a serial console (8250);
//   - QEMU microvm and Firecracker need virtio-mmio, QEMU q35 and Cloud
//     Hypervisor virtio-pci;
//   - Firecracker boots an uncompressed ELF vmlinux, and the guest must
//     find its virtio-mmio devices, which depends on the version (see
//     FirecrackerACPI): from 1.8 on x86_64 ACPI tables describe them,
//     which needs CONFIG_ACPI=y and CONFIG_PCI=y (and virtio_mmio, a
//     module the initramfs loads being enough); before 1.8 only the
//     kernel command line names them, which needs
//     CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y. A version that is unknown is
//     taken as a current release (1.8 or later);
//   - Cloud Hypervisor boots an ELF vmlinux through its PVH entry point
//     (CONFIG_PVH=y).
//
// A kernel without a known configuration is judged on its modules and
// files alone, except where only the configuration can tell (the way
// Firecracker's devices are found).
func CheckKernelFor(k *Kernel, vmm, vmmVersion string) error {
	var probs []KernelProblem
	need := func(module, why string) {
		if !k.ModuleSet().Has(module) && !k.configBuiltin(module) {
			have := "neither built in nor a module in the cache"
			if k.config != nil {
				if opt := configOption(module); opt != "" {
					have = opt + " is not set"
					if k.config.State(opt) == "m" {
						have = opt + "=m, but the module is not in the cache (give the kernel's modules: --modules)"
					}
				}
			}
			probs = append(probs, KernelProblem{Need: why + " (" + module + ")", Have: have, Key: module})
		}
	}
	need("virtio_blk", "virtio block device")
	need("ext4", "ext4 root file system")
	if k.config != nil && k.config.State("CONFIG_SERIAL_8250_CONSOLE") != "y" {
		probs = append(probs, KernelProblem{Need: "serial console (CONFIG_SERIAL_8250_CONSOLE=y)", Have: "not set", Key: "CONFIG_SERIAL_8250_CONSOLE=y"})
	}
	switch vmm {
	case VMMQemuMicrovm:
		need("virtio_mmio", "virtio-mmio transport")
	case VMMQemuVM:
		need("virtio_pci", "virtio-pci transport")
	case VMMFirecracker:
		need("virtio_mmio", "virtio-mmio transport")
		if !k.HasVmlinux {
			probs = append(probs, KernelProblem{Need: "an uncompressed ELF vmlinux", Have: "only a " + k.Format + vmlinuxWhy(k), Key: "an ELF vmlinux"})
		}
		probs = append(probs, firecrackerDiscovery(k.config, vmmVersion)...)
	case VMMCloudHypervisor:
		need("virtio_pci", "virtio-pci transport")
		switch {
		case !k.HasVmlinux:
			probs = append(probs, KernelProblem{Need: "an uncompressed ELF vmlinux with a PVH entry point", Have: "only a " + k.Format + vmlinuxWhy(k), Key: "an ELF vmlinux"})
		case !k.PVH:
			probs = append(probs, KernelProblem{Need: "a PVH entry point (CONFIG_PVH=y)", Have: "the vmlinux has no PVH note", Key: "CONFIG_PVH=y"})
		}
	default:
		return fmt.Errorf("check kernel: unknown VMM %q", vmm)
	}
	if len(probs) > 0 {
		return &KernelFitError{VMM: vmm, Release: k.Release, Problems: probs}
	}
	return nil
}

func vmlinuxWhy(k *Kernel) string {
	if k.VmlinuxError != "" {
		return " (extracting one failed: " + clipText(k.VmlinuxError, 200) + ")"
	}
	return ""
}

func configOption(module string) string {
	return map[string]string{
		"virtio_mmio": "CONFIG_VIRTIO_MMIO", "virtio_pci": "CONFIG_VIRTIO_PCI",
		"virtio_blk": "CONFIG_VIRTIO_BLK", "ext4": "CONFIG_EXT4_FS", "crc32c": "CONFIG_CRYPTO_CRC32C",
		"virtio_net": "CONFIG_VIRTIO_NET", "vmw_vsock_virtio_transport": "CONFIG_VIRTIO_VSOCKETS",
	}[module]
}

// firecrackerACPIMajor and firecrackerACPIMinor name the first Firecracker
// release whose x86_64 guests find the virtio-mmio devices in ACPI tables:
// Firecracker's CHANGELOG lists ACPI support for x86_64 microVMs (vCPUs,
// interrupt controllers, VirtIO and legacy devices in the tables) under
// 1.8.0, and its device manager gives each virtio-mmio device a DSDT
// entry with the _HID LNRO0005, the ACPI id Linux's virtio_mmio driver
// matches.
const (
	firecrackerACPIMajor = 1
	firecrackerACPIMinor = 8
)

// FirecrackerACPI says how guests of a Firecracker version find its
// virtio-mmio devices: acpi is true from 1.8 on (ACPI tables, and the
// command line too during the deprecation of the older way), false
// before (the command line only). known is false when version holds no
// MAJOR.MINOR; acpi is then true, a current release being assumed.
func FirecrackerACPI(version string) (acpi, known bool) {
	major, minor, ok := parseMajorMinor(version)
	if !ok {
		return true, false
	}
	return major > firecrackerACPIMajor || major == firecrackerACPIMajor && minor >= firecrackerACPIMinor, true
}

// parseMajorMinor finds the first MAJOR.MINOR in a version string,
// after an optional "v": "Firecracker v1.8.0" gives 1, 8.
func parseMajorMinor(s string) (major, minor int, ok bool) {
	for _, f := range strings.Fields(s) {
		f = strings.TrimPrefix(strings.TrimPrefix(f, "v"), "V")
		a, rest, found := strings.Cut(f, ".")
		if !found {
			continue
		}
		b := rest
		if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			b = rest[:i]
		}
		x, err1 := strconv.Atoi(a)
		y, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || x < 0 || y < 0 || len(a) > 6 || len(b) > 6 {
			continue
		}
		return x, y, true
	}
	return 0, 0, false
}

// firecrackerDiscovery returns what keeps a guest kernel of configuration
// cfg (nil when unknown) from finding the virtio-mmio devices of
// Firecracker at version. Firecracker's kernel policy (docs/kernel-policy.md)
// says:
//
//   - booting with ACPI (x86_64) wants CONFIG_ACPI=y and CONFIG_PCI=y, the
//     latter for the guest's ACPI initialisation although Firecracker has
//     no PCI devices unless asked (it adds pci=off to its command line
//     then);
//   - ACPI supersedes the MPTable and the virtio-mmio devices named on the
//     command line (CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES), which are
//     deprecated but still given: a kernel with ACPI only, the older way
//     only, or both boots.
//
// So from 1.8 either way fits, and what is reported missing is the ACPI
// way's; before 1.8 only the command line way does.
func firecrackerDiscovery(cfg KernelConfig, version string) []KernelProblem {
	acpi, known := FirecrackerACPI(version)
	which := "Firecracker " + strings.TrimPrefix(strings.TrimSpace(version), "Firecracker ")
	if !known {
		which = "Firecracker (version unknown: taken as 1.8 or later)"
	}
	if cfg == nil {
		need := "CONFIG_ACPI=y and CONFIG_PCI=y, or CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y (the ways " + which + " describes its virtio-mmio devices)"
		key := "a known CONFIG_ACPI or CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES"
		if !acpi {
			need = "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y (" + which + " names its virtio-mmio devices on the command line only)"
			key = "a known CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES"
		}
		return []KernelProblem{{Need: need, Have: "the kernel's configuration is unknown (give --config)", Key: key}}
	}
	cmdline := cfg.State("CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES") == "y"
	if !acpi {
		if cmdline {
			return nil
		}
		return []KernelProblem{{
			Need: "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y (" + which + " predates ACPI device discovery, 1.8, and names its virtio-mmio devices on the command line only)",
			Have: "not set, so the kernel cannot find the disks of this Firecracker (1.8 or later would find them through ACPI)",
			Key:  "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y",
		}}
	}
	var probs []KernelProblem
	for _, opt := range []string{"CONFIG_ACPI", "CONFIG_PCI"} {
		if cfg.State(opt) != "y" {
			why := "ACPI tables describe " + which + "'s virtio-mmio devices"
			if opt == "CONFIG_PCI" {
				why = "the guest's ACPI initialisation needs it, though Firecracker has no PCI devices"
			}
			probs = append(probs, KernelProblem{Need: opt + "=y (" + why + ")", Have: "not set", Key: opt + "=y"})
		}
	}
	if len(probs) == 0 || cmdline {
		return nil
	}
	probs[len(probs)-1].Have += ", nor CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y (the older way, devices named on the command line)"
	return probs
}
