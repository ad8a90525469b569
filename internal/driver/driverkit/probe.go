package driverkit

import (
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/filecopy"
)

// StaticBusybox finds a statically linked busybox in PATH: the one program
// a probe's test sandbox runs, since it needs no libraries. test names that
// sandbox in the errors ("the test sandbox", "the test container").
func StaticBusybox(test string) (string, error) {
	p, err := exec.LookPath("busybox")
	if err != nil {
		return "", fmt.Errorf("no busybox in PATH (%s runs a static busybox; Debian package busybox-static)", test)
	}
	f, err := elf.Open(p)
	if err != nil {
		return "", fmt.Errorf("%s: not a readable ELF file: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked; %s needs a static busybox (Debian package busybox-static)", p, test)
		}
	}
	return p, nil
}

// BusyboxRootfs makes the root filesystem of a probe's test sandbox at
// rootfs: the directories a runtime mounts over (proc, sys, dev, tmp) and
// the static busybox (see StaticBusybox) at /bin/busybox, hard-linked where
// it can be, else copied.
//
// A link is not only cheaper: a copy is written through a file descriptor,
// and a process another goroutine forks at that moment holds that
// descriptor until it execs, so that running the copy fails with "text
// file busy" (ETXTBSY) while probes run side by side. A link writes nothing.
func BusyboxRootfs(rootfs, busybox string) error {
	for _, sub := range []string{"bin", "proc", "sys", "dev", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, sub), 0o755); err != nil {
			return err
		}
	}
	dst := filepath.Join(rootfs, "bin", "busybox")
	// link(2) does not follow a symbolic link: link its target. (The test
	// sandbox only runs `busybox true`; nothing in it writes the file.)
	if real, err := filepath.EvalSymlinks(busybox); err == nil {
		if err := os.Link(real, dst); err == nil {
			return nil
		}
	}
	return filecopy.Copy(busybox, dst, 0o755)
}

// TextFileBusy reports whether a runtime's message says an exec failed
// with ETXTBSY (see BusyboxRootfs): a race worth one more try, not a
// verdict on the runtime.
func TextFileBusy(said string) bool {
	return strings.Contains(said, "text file busy")
}

// RandomSuffix returns 12 random hex digits, for the names of probe
// sandboxes and private directories.
func RandomSuffix() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// ProbeRunFailure says why the run of a probe's test sandbox (test, e.g.
// "test sandbox (busybox true)") failed, given the probe's context ctx, the
// run's context rctx (ctx bounded by timeout), the run's error and what the
// sandbox said: a run killed at its timeout or one that failed is a
// driver.NotSupported error of name with what it said; a probe whose own
// context ended is a plain error. It returns nil when none of these
// happened, for the caller to judge what the run did.
func ProbeRunFailure(ctx, rctx context.Context, name, test string, timeout time.Duration, runErr error, said string) error {
	switch {
	case errors.Is(rctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		return driver.NotSupported(name, "%s did not finish within %s; killed it: %s", test, timeout, said)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: probe: %w", name, ctx.Err())
	case runErr != nil:
		return driver.NotSupported(name, "%s failed: %v: %s", test, runErr, said)
	}
	return nil
}
