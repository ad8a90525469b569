package driver

import (
	"context"
	"time"
)

// KVM states, as KVMStatus.State.
const (
	KVMWorks      = "works"
	KVMAbsent     = "absent"      // no usable /dev/kvm
	KVMGuestsHang = "guests-hang" // /dev/kvm works but a guest never runs
	KVMUnknown    = "unknown"     // could not be probed (no QEMU to boot the probe guest)
	// KVMGuestFailed: a tiny probe guest ran under KVM, but a guest
	// booting a kernel did not (seen with broken nested virtualisation).
	KVMGuestFailed = "guest-failed"
)

// KVMStatus says whether KVM guests run on this host.
type KVMStatus struct {
	State string
	// Reason says why KVM cannot be used, in words for doctor: "no KVM:
	// ..." or "KVM present but guests do not run: ..."; Short says it in
	// a few words.
	Reason string
	Short  string
	// ProbeTime is how long the probe guest took (when it ran).
	ProbeTime time.Duration
}

// Usable reports whether KVM guests run here.
func (s KVMStatus) Usable() bool { return s.State == KVMWorks }

// KVMDecider is the one decision of a process whether VM guests run under
// KVM or in software emulation. Every VM driver and doctor share it
// (Env.KVM), so that they never disagree; a KVM guest that fails to boot
// anywhere turns it to "no" for everything that asks afterwards.
type KVMDecider interface {
	// KVM returns the decision, probing on the first call (a call whose
	// ctx ends during the probe decides nothing).
	KVM(ctx context.Context) KVMStatus
	// KVMFailed records that a guest failed to boot under KVM (why says
	// how) and returns the decision from then on: KVM is not used.
	KVMFailed(why string) KVMStatus
	// VerifyKVM makes the process's first guest kernel boot under KVM a
	// test of KVM: boot, the caller's guest that powers off at once, runs
	// when KVM is usable and no guest has booted under it yet (callers
	// meanwhile wait for its end), and its failure is KVMFailed. It
	// returns the decision then; boot does not run when KVM is not used
	// or was verified already.
	VerifyKVM(ctx context.Context, boot func(context.Context) error) KVMStatus
}
