// Package cloudhypervisor is the Cloud Hypervisor driver: each guest is a
// cloud-hypervisor process created and booted through its REST API on a
// unix socket in the instance directory (vm.create with the whole VM
// configuration, then vm.boot), booting the cached guest kernel's ELF
// vmlinux through its PVH entry point with the initramfs, a private copy
// (a reflink where the file system allows) of the workload image's ext4
// disk, for the volume scratch a second disk, and for a guest with a
// network a net device on the tap isobench made (tap, mac, and the tap's
// own ip and mask, which isobench set already); devices are virtio-pci.
// The guest's serial console is cloud-hypervisor's stdio, over which the
// agent talks as in every VM (package vmm).
//
// Cloud Hypervisor needs KVM and a kernel with a PVH entry point
// (CONFIG_PVH): Probe and doctor say which of these, and the binary, are
// missing. Where it cannot run, the requests the driver sends are checked
// by a contract test against Cloud Hypervisor's published API description
// (testdata/cloud-hypervisor.yaml); the integration test runs wherever the
// binary, working KVM and a fitting kernel exist.
package cloudhypervisor
