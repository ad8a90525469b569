package oci

import (
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
)

// staticBusybox finds a statically linked busybox in PATH: the one program
// the test sandbox runs, since it needs no libraries in the bundle.
func staticBusybox() (string, error) {
	p, err := exec.LookPath("busybox")
	if err != nil {
		return "", errors.New("no busybox in PATH (the test sandbox runs a static busybox; Debian package busybox-static)")
	}
	f, err := elf.Open(p)
	if err != nil {
		return "", fmt.Errorf("%s: not a readable ELF file: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked; the test sandbox needs a static busybox (Debian package busybox-static)", p)
		}
	}
	return p, nil
}

func randomSuffix() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// trySandbox runs a tiny real sandbox, `busybox true` in a bundle of its
// own, bounded by timeout, and removes everything of it afterwards. A
// sandbox that fails or hangs gives a NotSupported error whose reason is
// what the runtime said; a failure to prepare it is a plain error.
func (d *Driver) trySandbox(ctx context.Context, res *resolved, platform string, timeout time.Duration) (err error) {
	return d.trySandboxNet(ctx, res, platform, "", timeout)
}

// trySandboxNet is trySandbox with a network: with netMode "" the test
// sandbox has none; otherwise it gets a link (package sandboxnet) and runs
// in that gVisor network mode.
func (d *Driver) trySandboxNet(ctx context.Context, res *resolved, platform, netMode string, timeout time.Duration) (err error) {
	what := d.Name()
	if platform != "" {
		what = d.fl.name + ": platform " + platform
	}
	if netMode != "" {
		what += ": network " + netMode
	}
	bb, err := staticBusybox()
	if err != nil {
		return driver.NotSupported(what, "%v", err)
	}
	suffix, err := randomSuffix()
	if err != nil {
		return err
	}
	id := driver.IDPrefix + "probe-" + suffix
	dir := filepath.Join(d.env.RunDir, id)
	rt := d.runtimeWith(res, platform, netNone)
	if netMode != "" {
		rt = d.runtimeWith(res, platform, netMode)
	}
	rec, err := d.newRecord(rt, id, dir, nil)
	if err != nil {
		return fmt.Errorf("%s: probe: %w", what, err)
	}
	var undo cleanups
	defer func() {
		if cerr := undo.run(); cerr != nil {
			// Not a NotSupported error: what is left must be seen.
			result := "it worked"
			if err != nil {
				result = err.Error()
			}
			err = fmt.Errorf("%s: cleaning up the test sandbox %s: %w (the test itself: %s)", what, id, cerr, result)
		}
	}()
	if err := writeRecord(d.env.StateDir, rec); err != nil {
		return fmt.Errorf("%s: probe: %w", what, err)
	}
	undo.pushLast("state record", func() error { return removeRecord(d.env.StateDir, id) })
	if err := os.MkdirAll(d.env.RunDir, 0o711); err != nil {
		return fmt.Errorf("%s: probe: making the run directory: %w", what, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("%s: probe: %w", what, err)
	}
	undo.push("test bundle", func() error { return removeInstanceDir(dir) })
	rootfs := filepath.Join(dir, "rootfs")
	for _, sub := range []string{"bin", "proc", "sys", "dev", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, sub), 0o755); err != nil {
			return fmt.Errorf("%s: probe: %w", what, err)
		}
	}
	if err := copyFile(bb, filepath.Join(rootfs, "bin", "busybox"), 0o755); err != nil {
		return fmt.Errorf("%s: probe: %w", what, err)
	}
	var netns string
	if netMode != "" {
		link, err := sandboxnet.NewVeth(ctx, d.env.StateDir, id)
		if err != nil {
			return fmt.Errorf("%s: probe: %w", what, err)
		}
		undo.push("test sandbox network", link.Remove)
		netns = link.NetNSPath()
	}
	spec, err := bundleSpec(bundleParams{ID: id, Args: []string{"/bin/busybox", "true"}, NetNS: netns})
	if err != nil {
		return fmt.Errorf("%s: probe: %w", what, err)
	}
	if err := writeSpec(dir, spec); err != nil {
		return fmt.Errorf("%s: probe: %w", what, err)
	}
	// The runtime's teardown goes before the bundle's removal.
	undo.push("test sandbox", func() error {
		tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := teardown(tctx, rt, res.cg, id, dir)
		return err
	})

	logPath := filepath.Join(dir, "probe.log")
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("%s: probe: %w", what, err)
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := rt.command(rctx, "run", "--bundle", dir, id)
	cmd.Stdout, cmd.Stderr = logf, logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Its own process group, so that a hung start is killed whole.
	cmd.SysProcAttr.Setpgid = true
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	runErr := cmd.Run()
	logf.Close()
	if runErr == nil {
		return nil
	}
	said := readTail(logPath, 1500)
	if said == "" {
		said = "(it wrote nothing)"
	}
	switch {
	case errors.Is(rctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		return driver.NotSupported(what, "test sandbox (busybox true) did not finish within %s; killed it: %s", timeout, said)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: probe: %w", what, ctx.Err())
	}
	return driver.NotSupported(what, "test sandbox (busybox true) failed: %v: %s", runErr, said)
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", from, err)
	}
	return out.Close()
}

// readTail returns the last n bytes of a file, trimmed; "" if unreadable.
func readTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := fi.Size() - int64(n)
	if off < 0 {
		off = 0
	}
	b := make([]byte, fi.Size()-off)
	k, _ := f.ReadAt(b, off)
	return tail(string(b[:k]), n)
}
