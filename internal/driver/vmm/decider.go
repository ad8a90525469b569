package vmm

import (
	"context"
	"os/exec"
	"sync"
	"time"

	"github.com/isobench/isobench/internal/driver"
)

// Decider is the one KVM decision of a process (driver.KVMDecider): the
// probe guest of ProbeKVM runs once, on the first call, and every VM
// driver and doctor get the same answer. A guest that then fails to boot
// under KVM (KVMFailed) turns the decision to "no" for good: a nested
// hypervisor that lets a tiny probe through may still hang a real kernel.
//
// Make one with NewDecider and hand it to the drivers in driver.Env.KVM;
// its zero value is not usable.
type Decider struct {
	qemu    func() string // the QEMU binary for the probe guest, "" none
	tmpDir  string
	timeout time.Duration
	probe   func(ctx context.Context, qemu, tmpDir string, timeout time.Duration) KVMStatus

	mu      sync.Mutex
	decided bool
	st      KVMStatus

	// verify is held through the first guest kernel boot under KVM;
	// verified says it ended.
	verify   sync.Mutex
	verified bool
}

var _ driver.KVMDecider = (*Decider)(nil)

// NewDecider returns a decider whose probe guest runs under
// qemu-system-x86_64 from PATH, its kernel written (and unlinked at once)
// in tmpDir, within timeout (5s when 0).
func NewDecider(tmpDir string, timeout time.Duration) *Decider {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Decider{
		qemu: func() string {
			p, _ := exec.LookPath("qemu-system-x86_64")
			return p
		},
		tmpDir: tmpDir, timeout: timeout, probe: ProbeKVM,
	}
}

// KVM returns the decision, probing on the first call; callers that come
// meanwhile wait for it. A probe cut short by ctx is not remembered.
func (d *Decider) KVM(ctx context.Context) KVMStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.decided {
		return d.st
	}
	st := d.probe(ctx, d.qemu(), d.tmpDir, d.timeout)
	if ctx.Err() != nil {
		return st
	}
	d.st, d.decided = st, true
	return st
}

// KVMFailed records that a guest failed to boot under KVM: from then on
// the decision is that KVM is not used, with why as the reason. A decision
// already against KVM keeps its first reason.
func (d *Decider) KVMFailed(why string) KVMStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.decided && !d.st.Usable() {
		return d.st
	}
	d.st = KVMStatus{
		State:     KVMGuestFailed,
		Reason:    "KVM present but guests do not boot: a tiny probe guest ran, then a guest kernel failed under KVM (" + oneLine(why) + ")",
		Short:     "KVM present but a guest kernel failed under it",
		ProbeTime: d.st.ProbeTime,
	}
	d.decided = true
	return d.st
}

// VerifyKVM runs boot as the process's first guest kernel boot under KVM
// when KVM is usable and none has booted yet, callers meanwhile waiting
// for it; its failure (ctx not ended) is KVMFailed. It returns the
// decision then.
func (d *Decider) VerifyKVM(ctx context.Context, boot func(context.Context) error) KVMStatus {
	d.verify.Lock()
	defer d.verify.Unlock()
	st := d.KVM(ctx)
	if d.verified || !st.Usable() || ctx.Err() != nil {
		return st
	}
	err := boot(ctx)
	switch {
	case ctx.Err() != nil:
		return st // nothing learnt
	case err != nil:
		st = d.KVMFailed(err.Error())
	}
	d.verified = true
	return st
}

// Decided returns the decision without probing; ok is false when none is
// made yet.
func (d *Decider) Decided() (st KVMStatus, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st, d.decided
}
