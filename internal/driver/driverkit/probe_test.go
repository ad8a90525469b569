package driverkit

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/filecopy"
)

func TestProbeRunFailure(t *testing.T) {
	live := context.Background()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	timedOut, cancel2 := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel2()
	<-timedOut.Done()
	runErr := errors.New("exit status 1")
	tests := []struct {
		name         string
		ctx, rctx    context.Context
		runErr       error
		want         string
		notSupported bool
		wantNil      bool
	}{
		{"timed out", live, timedOut, runErr, "test sandbox (busybox true) did not finish within 2s; killed it: it said", true, false},
		{"probe cancelled", ended, ended, runErr, "rt: probe: context canceled", false, false},
		{"failed", live, live, runErr, "test sandbox (busybox true) failed: exit status 1: it said", true, false},
		{"worked", live, live, nil, "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ProbeRunFailure(tc.ctx, tc.rctx, "rt", "test sandbox (busybox true)", 2*time.Second, tc.runErr, "it said")
			if tc.wantNil {
				if err != nil {
					t.Fatalf("error %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if got := errors.Is(err, driver.ErrNotSupported); got != tc.notSupported {
				t.Errorf("NotSupported = %v, want %v", got, tc.notSupported)
			}
		})
	}
}

func TestBusyboxRootfs(t *testing.T) {
	bb, err := StaticBusybox("the test sandbox")
	if err != nil {
		if _, lerr := exec.LookPath("busybox"); lerr != nil {
			t.Skipf("no busybox installed: %v", err)
		}
		if !strings.Contains(err.Error(), "the test sandbox needs a static busybox") {
			t.Fatalf("dynamic busybox: %v", err)
		}
		t.Skip(err)
	}
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := BusyboxRootfs(rootfs, bb); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp"} {
		if fi, err := os.Stat(filepath.Join(rootfs, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	out, err := exec.Command(filepath.Join(rootfs, "bin", "busybox"), "echo", "ran").Output()
	if err != nil || strings.TrimSpace(string(out)) != "ran" {
		t.Errorf("the copied busybox: %q, %v", out, err)
	}
	// The copy never overwrites.
	if err := filecopy.Copy(bb, filepath.Join(rootfs, "bin", "busybox"), 0o755); err == nil {
		t.Error("filecopy.Copy overwrote a file")
	}
}

func TestRandomSuffix(t *testing.T) {
	a, err := RandomSuffix()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := RandomSuffix()
	if len(a) != 12 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("suffixes %q, %q: want two different 12-digit hex strings", a, b)
	}
}
