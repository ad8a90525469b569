package oci

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
)

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
	bb, err := driverkit.StaticBusybox("the test sandbox")
	if err != nil {
		return driver.NotSupported(what, "%v", err)
	}
	suffix, err := driverkit.RandomSuffix()
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
	var undo driverkit.Undo
	defer func() {
		if cerr := undo.Run(); cerr != nil {
			// Not a NotSupported error: what is left must be seen.
			result := "it worked"
			if err != nil {
				result = err.Error()
			}
			err = fmt.Errorf("%s: cleaning up the test sandbox %s: %w (the test itself: %s)", what, id, cerr, result)
		}
	}()
	if err := stateRecords(d.env.StateDir).Create(rec); err != nil {
		return fmt.Errorf("%s: probe: %w", what, err)
	}
	undo.PushLast("state record", func() error { return stateRecords(d.env.StateDir).Remove(id) })
	if err := driverkit.MakeRunDir(d.env.RunDir); err != nil {
		return fmt.Errorf("%s: probe: %w", what, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("%s: probe: %w", what, err)
	}
	undo.Push("test bundle", func() error { return driverkit.RemoveDirUnmounted(dir) })
	if err := driverkit.BusyboxRootfs(filepath.Join(dir, "rootfs"), bb); err != nil {
		return fmt.Errorf("%s: probe: %w", what, err)
	}
	var netns string
	if netMode != "" {
		link, err := sandboxnet.NewVeth(ctx, d.env.StateDir, id)
		if err != nil {
			return fmt.Errorf("%s: probe: %w", what, err)
		}
		undo.Push("test sandbox network", link.Remove)
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
	undo.Push("test sandbox", func() error {
		tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := teardown(tctx, rt, res.cg, id, dir)
		return err
	})

	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var runErr error
	var said string
	// A copied busybox can be "text file busy" for a moment (see
	// driverkit.BusyboxRootfs): the sandbox is removed and run again.
	for try := 1; ; try++ {
		logPath := filepath.Join(dir, fmt.Sprintf("probe-%d.log", try))
		runErr = runProbeSandbox(rctx, rt, dir, id, logPath)
		if runErr == nil {
			return nil
		}
		said = driverkit.ReadTail(logPath, 1500)
		if try == 3 || !driverkit.TextFileBusy(said) || rctx.Err() != nil {
			break
		}
		if _, err := teardown(rctx, rt, res.cg, id, dir); err != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if said == "" {
		said = "(it wrote nothing)"
	}
	return driverkit.ProbeRunFailure(ctx, rctx, what, "test sandbox (busybox true)", timeout, runErr, said)
}

// runProbeSandbox runs the test sandbox of bundle dir to completion, its
// output in logPath.
func runProbeSandbox(ctx context.Context, rt runtime, dir, id, logPath string) error {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer logf.Close()
	cmd := rt.command(ctx, "run", "--bundle", dir, id)
	cmd.Stdout, cmd.Stderr = logf, logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Its own process group, so that a hung start is killed whole.
	cmd.SysProcAttr.Setpgid = true
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	return cmd.Run()
}
