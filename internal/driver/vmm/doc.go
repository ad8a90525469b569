// Package vmm is what the VM drivers (QEMU microvm and q35, Firecracker,
// Cloud Hypervisor) share; each brings a Family (how to find its VMM, lay
// out a root disk, launch it and drive its API) and gets a Driver.
//
// A guest boots the cached guest kernel (guest.DefaultKernel) with the
// initramfs that loads its modules and hands over to the agent as PID 1
// (agent mode "vm"), on a private copy-on-write root disk over the image's
// shared ext4 disk (guest.GuestDisk); the volume scratch is a second
// virtio-blk disk, the tmpfs scratch guest memory. The guest's serial
// console is the VMM's stdin and stdout: the host talks to the agent over
// it through agent.Guest, whose frames survive the guest kernel's log
// lines. Start returns when the agent says hello; Exec runs a command
// through it; Stop asks the agent to sync and power off, then the VMM's
// API to quit, then kills the VMM's process group.
//
// # Acceleration
//
// ProbeKVM tells apart "no KVM" (no usable /dev/kvm, or QEMU cannot use
// it) from "KVM present but guests do not run" (a probe guest of five
// instructions does not finish within seconds: broken nested
// virtualisation). A Decider makes that decision once per process and is
// shared, through driver.Env.KVM, by every VM driver and doctor, so that
// they agree; the process's first guest kernel boot under KVM verifies it
// (Decider.VerifyKVM), and any guest kernel that fails under KVM turns it
// to "no" (Decider.KVMFailed: a nested hypervisor sometimes lets the tiny
// probe through and hangs a real kernel). QEMU then boots its probe guest
// again under software emulation (TCG), recorded in Info.Features["accel"]
// with "kvm_reason" and TCGWarning: emulated, never skipped while TCG
// works. Firecracker and Cloud Hypervisor need KVM. Probe also checks the kernel against the VMM (guest.CheckKernel)
// and boots a probe guest, and names everything missing in one
// NotSupported error.
//
// # Host resources
//
// Each guest has a state record (StateDir/vm/ID.json: the isobench process,
// and the VMM's pid and start time once it runs) written before anything
// is made, and an instance directory (RunDir/ID: disks, sockets, logs).
// The VMM runs in its own process group and dies with isobench
// (parent-death signal). Close removes everything; Collect (isobench gc)
// removes what dead isobench processes left, killing a VMM only when its
// pid still has the recorded start time.
//
// # Network
//
// A guest made with Spec.Network gets one virtio-net device on a tap of
// its own (package sandboxnet: "isbN", a link-local /30 reserved by the
// tap's own state record, the host's address on it, IPv4 only, up), made
// at Create and named in the guest's record. The guest's address and the
// device's MAC (02:69:62 and the address's last three bytes) go on the
// kernel command line (agent.ParamNet, agent.ParamNetMAC); the initramfs
// loads virtio_net and the agent, before it says hello, finds the device
// by its MAC, turns IPv6 off on it, addresses it and brings it up. No
// route, bridge or NAT: the guest reaches the tap's address and nothing
// else. The tap goes at Close once the VMM is gone, and gc removes the
// taps of dead owners (sandboxnet.Collect). Instance implements
// driver.Networker: the link, its path (the tap's MTU and offloads, the
// VMM's device and what moves its packets) and, under TCG, a note that
// the guest is emulated. Info.Features["network"] is "tap" wherever the
// guest kernel has virtio_net.
//
// # Host cost
//
// Instance implements driver.HostProcesses: HostPIDs names the VMM
// process, whose resident and proportional memory driver.ReadProcessMemory
// reads (the density workload's per-guest cost).
package vmm
