// Package guest makes what a VM runtime boots besides the workload image:
// the guest kernel, the modules it needs, an initramfs that mounts the root
// disk and starts the agent, and that root disk itself. The VM drivers
// (qemu, firecracker, cloud-hypervisor, through vmm) use it; the image
// package below it keeps the root file system, and knows nothing of VMs.
//
// # Kernels
//
// Kernels are kept in CACHE/kernels/ID (ImportKernel, FetchKernel,
// DefaultKernel, OpenKernel): the kernel as given, an ELF vmlinux (given,
// or extracted from the bzImage: ParseBzImage, ExtractVmlinux), its
// recorded release and configuration (ParseKernelConfig), the modules
// guests need (the closure of GuestModules, in load order, read from each
// module's .modinfo: ParseModinfo, ModuleSet) and an initramfs (a newc cpio
// written with cavaliergopher/cpio) whose /init loads the modules the host
// names on the kernel command line (InitArgs), mounts the root disk and
// hands over to the agent as PID 1. The ID is a digest of every input, so
// the same kernel is imported once. FetchKernel gets the distribution's
// kernel package with the Debian package tools.
//
// # Fit
//
// CheckKernel and CheckKernelFor say whether a kernel fits a VMM (VMM*
// names them; Firecracker's needs depend on its version) and, in a
// KernelFitError, name everything it lacks.
//
// # The root disk
//
// GuestDisk makes, on first use and without mounting anything (mkfs.ext4
// -d, MakeExt4), an ext4 disk of an image's root file system, kept beside
// the rootfs and shared read-only by every guest.
//
// Kernels and disks are written as images are (package cachedir): under a
// temporary name while holding the cache directory's lock, then renamed
// into place, so concurrent isobench processes never see half of one.
package guest
