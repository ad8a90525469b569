package vmm

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestProbeKVM runs the real probe: whatever the host, it must answer
// within its bound, and say "works", or why not in one of the two ways.
func TestProbeKVM(t *testing.T) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 not installed (Debian package qemu-system-x86)")
	}
	tmp := t.TempDir()
	start := time.Now()
	st := ProbeKVM(context.Background(), qemu, tmp, 5*time.Second)
	took := time.Since(start)
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("the probe left %d files in its directory", len(ents))
	}
	t.Logf("KVM: %s (%s) in %s", st.State, st.Reason, took.Round(time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("the probe took %s, beyond its 5s bound", took)
	}
	switch st.State {
	case KVMWorks:
		if st.Reason != "" {
			t.Errorf("works, with a reason %q", st.Reason)
		}
	case KVMAbsent, KVMGuestsHang:
		if st.Reason == "" {
			t.Error("no reason given")
		}
	default:
		t.Errorf("state %q", st.State)
	}
}

// TestProbeGuestTCG checks the probe guest itself: under TCG it must run
// and exit with its status, or a KVM "hang" verdict would mean nothing.
func TestProbeGuestTCG(t *testing.T) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 not installed (Debian package qemu-system-x86)")
	}
	out, err := runProbeGuest(context.Background(), qemu, t.TempDir(), "tcg", 30*time.Second)
	if err != nil {
		t.Fatalf("the probe guest did not run under TCG: %v: %s", err, out)
	}
}

func TestTSCKHz(t *testing.T) {
	k := TSCKHz()
	t.Logf("TSC: %d kHz", k)
	if k != 0 && (k < 100_000 || k > 10_000_000) {
		t.Errorf("TSC of %d kHz is not plausible", k)
	}
}
