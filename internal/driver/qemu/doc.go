// Package qemu is the QEMU driver family: qemu-microvm (-M microvm, the
// minimal machine: virtio-mmio devices, no PCI, no firmware beyond qboot)
// and qemu-vm (-M q35, the full-VM reference: PCI, ACPI, SeaBIOS).
//
// Each guest boots the cached guest kernel and initramfs (package image)
// with the workload image's ext4 disk under a qcow2 copy-on-write overlay
// of its own, and, for the volume scratch, a second virtio-blk disk. QEMU
// starts paused (-S) and is driven through QMP (a small client in qmp.go,
// each call bounded by its context): query-status, cont, quit.
// The guest's serial console is QEMU's stdio, over which the agent (PID 1
// in the guest) talks to the host through agent.Link frames that survive
// the guest kernel's log lines.
//
// Acceleration is KVM when the process's KVM decision (driver.Env.KVM: a
// probe guest really runs under it within seconds, and no guest kernel
// failed under it) says so, otherwise TCG (software emulation); a probe
// guest that fails under KVM falls back to TCG. Either way it is recorded in
// Info.Features["accel"] with a warning that the numbers are not
// comparable with hardware ones. The variant forces one: qemu-microvm:tcg.
//
// A guest with a network (Spec.Network) has a virtio-net device on its
// tap (-netdev tap with script=no: QEMU configures nothing on the host):
// virtio-net-device on microvm's virtio-mmio, virtio-net-pci on q35; with
// KVM and /dev/vhost-net the host kernel's vhost-net moves its packets,
// otherwise QEMU's own process (always under TCG).
//
// The shared machinery (state records, Collect, the agent link, the
// guest's network link, the VMM's memory) is package vmm's.
package qemu
