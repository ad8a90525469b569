package image

import (
	"fmt"
	"strings"
)

// VMMs whose needs CheckKernel knows.
const (
	VMMQemuMicrovm     = "qemu-microvm"
	VMMQemuVM          = "qemu-vm"
	VMMFirecracker     = "firecracker"
	VMMCloudHypervisor = "cloud-hypervisor"
)

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

// CheckKernel says whether k can boot guests on the VMM, and returns a
// *KernelFitError naming everything missing when not:
//
//   - every VMM needs the virtio block device and ext4, built in or as
//     modules the initramfs loads, and a serial console (8250);
//   - QEMU microvm and Firecracker need virtio-mmio, QEMU q35 and Cloud
//     Hypervisor virtio-pci;
//   - Firecracker boots an uncompressed ELF vmlinux and announces its
//     virtio-mmio devices on the kernel command line, which needs
//     CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y;
//   - Cloud Hypervisor boots an ELF vmlinux through its PVH entry point
//     (CONFIG_PVH=y).
//
// A kernel without a known configuration is judged on its modules and
// files alone.
func CheckKernel(k *Kernel, vmm string) error {
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
		switch {
		case k.config == nil:
			probs = append(probs, KernelProblem{Need: "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y (virtio-mmio devices named on the command line)", Have: "the kernel's configuration is unknown (give --config)", Key: "a known CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES"})
		case k.config["CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES"] != "y":
			probs = append(probs, KernelProblem{Need: "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y (Firecracker names its virtio-mmio devices on the command line)", Have: "not set, so the kernel cannot find Firecracker's disks", Key: "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y"})
		}
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
