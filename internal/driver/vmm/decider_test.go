package vmm

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func fakeDecider(st KVMStatus, probes *atomic.Int32) *Decider {
	d := NewDecider("/nonexistent", time.Second)
	d.qemu = func() string { return "qemu" }
	d.probe = func(ctx context.Context, _, _ string, _ time.Duration) KVMStatus {
		probes.Add(1)
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
		}
		return st
	}
	return d
}

// TestDeciderOnce: many callers at once get one decision from one probe;
// a probe cut short decides nothing.
func TestDeciderOnce(t *testing.T) {
	var probes atomic.Int32
	d := fakeDecider(KVMStatus{State: KVMWorks}, &probes)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	d.KVM(cancelled)
	if _, ok := d.Decided(); ok {
		t.Fatal("a cancelled probe was remembered")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st := d.KVM(context.Background()); !st.Usable() {
				t.Errorf("decision %+v", st)
			}
		}()
	}
	wg.Wait()
	if n := probes.Load(); n != 2 {
		t.Errorf("%d probes, want 2 (the cancelled one and one for all)", n)
	}
}

// TestDeciderVerify: the first guest boot under KVM verifies it, once;
// its failure turns the decision to no for every later caller, with the
// reason; a later failure keeps the first reason.
func TestDeciderVerify(t *testing.T) {
	var probes atomic.Int32
	d := fakeDecider(KVMStatus{State: KVMWorks}, &probes)
	boots := 0
	st := d.VerifyKVM(context.Background(), func(context.Context) error {
		boots++
		return errors.New("a probe guest did not finish within 10s (accel kvm)")
	})
	if st.Usable() || st.State != KVMGuestFailed {
		t.Fatalf("after a failed boot: %+v", st)
	}
	if got := d.KVM(context.Background()); got != st {
		t.Errorf("KVM says %+v after the failure, VerifyKVM said %+v", got, st)
	}
	d.VerifyKVM(context.Background(), func(context.Context) error { boots++; return nil })
	if boots != 1 {
		t.Errorf("%d verifying boots, want 1", boots)
	}
	if again := d.KVMFailed("another"); again.Reason != st.Reason {
		t.Errorf("a second failure changed the reason to %q", again.Reason)
	}

	ok := fakeDecider(KVMStatus{State: KVMWorks}, &probes)
	boots = 0
	for range 3 {
		if st := ok.VerifyKVM(context.Background(), func(context.Context) error { boots++; return nil }); !st.Usable() {
			t.Fatalf("after a good boot: %+v", st)
		}
	}
	if boots != 1 {
		t.Errorf("%d verifying boots, want 1", boots)
	}
	// A cancelled verification learns nothing.
	c := fakeDecider(KVMStatus{State: KVMWorks}, &probes)
	ctx, cancel := context.WithCancel(context.Background())
	st = c.VerifyKVM(ctx, func(context.Context) error { cancel(); return context.Canceled })
	if !st.Usable() || c.verified {
		t.Errorf("a cancelled verification decided: %+v verified=%v", st, c.verified)
	}
	// No KVM: nothing boots under it.
	no := fakeDecider(KVMStatus{State: KVMAbsent, Reason: "no KVM: test"}, &probes)
	no.VerifyKVM(context.Background(), func(context.Context) error { t.Error("booted without KVM"); return nil })
}
