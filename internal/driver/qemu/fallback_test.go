package qemu

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/vmm"
	"github.com/isobench/isobench/internal/guest/guesttest"
	"github.com/isobench/isobench/internal/testutil"
)

// tinyProbePassed is a process's KVM decision after the tiny probe guest
// ran under KVM, as it sometimes does on a host whose nested KVM then
// hangs real kernels; from there on it behaves as vmm.Decider does.
type tinyProbePassed struct {
	mu       sync.Mutex
	st       driver.KVMStatus
	verified bool
	boots    int
}

func (k *tinyProbePassed) KVM(context.Context) driver.KVMStatus {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.st
}

func (k *tinyProbePassed) KVMFailed(why string) driver.KVMStatus {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.st.Usable() {
		k.st = driver.KVMStatus{State: driver.KVMGuestFailed, Reason: "KVM present but guests do not boot: " + why, Short: "a guest failed under KVM"}
	}
	return k.st
}

func (k *tinyProbePassed) VerifyKVM(ctx context.Context, boot func(context.Context) error) driver.KVMStatus {
	k.mu.Lock()
	if k.verified || !k.st.Usable() {
		defer k.mu.Unlock()
		return k.st
	}
	k.verified = true
	k.boots++
	k.mu.Unlock() // (the real one holds callers back; here they boot on their own)
	if err := boot(ctx); err != nil {
		return k.KVMFailed(err.Error())
	}
	return k.KVM(ctx)
}

// TestKVMFallback probes two QEMU runtimes at once with one KVM decision
// that says KVM works. Where a guest kernel does not boot under KVM (here:
// nested KVM that hangs), both fall back to TCG, marked emulated with the
// reason, and neither is skipped; where it boots, both use KVM. Either way
// they agree with each other and with the decision.
func TestKVMFallback(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, Binary)
	guesttest.Kernel(t)
	env := testEnv(t)
	kvm := &tinyProbePassed{st: driver.KVMStatus{State: driver.KVMWorks, ProbeTime: time.Second}}
	env.KVM = kvm
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	type res struct {
		info driver.Info
		err  error
		took time.Duration
	}
	out := make([]res, 2)
	var wg sync.WaitGroup
	for i := range out {
		d, err := New(env, MicrovmName, "", vmm.Options{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			info, err := d.Probe(ctx)
			out[i] = res{info, err, time.Since(t0)}
		}()
	}
	wg.Wait()
	final := kvm.KVM(ctx)
	t.Logf("decision: %s (%s)", final.State, final.Reason)
	for i, r := range out {
		t.Logf("driver %d in %s: %v %v", i, r.took.Round(time.Millisecond), r.info.Features, r.err)
		if r.err != nil {
			t.Fatalf("driver %d skipped: %v", i, r.err)
		}
		want := vmm.AccelKVM
		if !final.Usable() {
			want = vmm.AccelTCG
		}
		if got := r.info.Features["accel"]; got != want {
			t.Errorf("driver %d: accel %s, the decision says %s", i, got, want)
		}
		if want == vmm.AccelTCG {
			if !slices.Contains(r.info.Warnings, vmm.TCGWarning) {
				t.Errorf("driver %d: emulated without the warning: %q", i, r.info.Warnings)
			}
			if !strings.Contains(r.info.Features["kvm_reason"], "KVM present but guests do not boot") {
				t.Errorf("driver %d: kvm_reason %q", i, r.info.Features["kvm_reason"])
			}
			if r.info.Features["kvm"] != driver.KVMGuestFailed {
				t.Errorf("driver %d: kvm %q", i, r.info.Features["kvm"])
			}
		}
	}
	if kvm.boots != 1 {
		t.Errorf("%d verifying boots under KVM, want 1", kvm.boots)
	}
}
