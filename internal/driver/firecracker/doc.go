// Package firecracker is the Firecracker driver: each guest is a
// firecracker process configured through its REST API on a unix socket in
// the instance directory (machine config, boot source, drives, for a
// guest with a network its interface on the tap isobench made, then
// InstanceStart), booting the cached guest kernel's uncompressed vmlinux
// and initramfs with a private copy (a reflink where the file system
// allows) of the workload image's ext4 disk, and for the volume scratch a
// second drive. The guest's serial console is firecracker's stdio, over
// which the agent talks as in every VM (package vmm). The jailer is not
// used.
//
// Firecracker needs KVM, and a guest kernel that finds its virtio-mmio
// devices: from Firecracker 1.8 on x86_64 through ACPI (CONFIG_ACPI,
// CONFIG_PCI and virtio_mmio), before it only through the kernel command
// line (CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES); see guest.CheckKernelFor.
// Probe and doctor say which of these, and the binary, are missing.
//
// Where Firecracker cannot run, the requests the driver sends are checked
// by a contract test against Firecracker's published API description
// (testdata/firecracker.yaml); the integration test runs wherever the
// binary, working KVM and a fitting kernel exist.
package firecracker
