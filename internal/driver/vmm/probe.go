package vmm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/guest"
)

// bootProbeGuest boots the probe guest with the process's KVM decision and
// returns the host facts it ran with. Under KVM, the process's first such
// boot verifies KVM (driver.KVMDecider.VerifyKVM); a guest that fails under
// KVM, this driver's or another's, turns the decision to TCG, and QEMU's
// guest boots again under TCG: the runtime is then emulated, with the
// reason, not skipped. A VMM that needs KVM, or a variant that forces it,
// does not fall back.
func (d *Driver) bootProbeGuest(ctx context.Context, r *resolved) (*resolved, time.Duration, error) {
	if r.accel != AccelKVM || d.fam.NeedsKVM() {
		took, err := d.probeGuest(ctx, r)
		return r, took, err
	}
	var (
		took   time.Duration
		kvmErr error
		ran    bool
	)
	st := d.kvm.VerifyKVM(ctx, func(ctx context.Context) error {
		ran = true
		took, kvmErr = d.probeGuest(ctx, r)
		return kvmErr
	})
	switch {
	case ctx.Err() != nil:
		if kvmErr == nil {
			kvmErr = fmt.Errorf("%s: probe: %w", d.Name(), ctx.Err())
		}
		return r, took, kvmErr
	case st.Usable() && ran:
		return r, took, nil
	case st.Usable():
		took, kvmErr = d.probeGuest(ctx, r)
		if kvmErr == nil || ctx.Err() != nil {
			return r, took, kvmErr
		}
		st = d.kvm.KVMFailed(reason(kvmErr))
	}
	if d.opts.Accel == AccelKVM {
		if kvmErr == nil {
			kvmErr = driver.NotSupported(d.Name(), "%s", st.Reason)
		}
		return r, took, kvmErr
	}
	tr := d.fallBack(r, st)
	took, err := d.probeGuest(ctx, tr)
	if err != nil && kvmErr != nil {
		err = fmt.Errorf("%w; under KVM before: %s", err, reason(kvmErr))
	}
	return tr, took, err
}

// fallBack turns the driver to software emulation after KVM failed (st
// says how): the guests it makes from then on run under TCG.
func (d *Driver) fallBack(r *resolved, st KVMStatus) *resolved {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.res != nil && d.res.accel == AccelTCG {
		return d.res
	}
	tr := *r
	tr.accel, tr.kvm, tr.tscKHz = AccelTCG, st, TSCKHz()
	d.res = &tr
	return &tr
}

// probeGuest boots the guest kernel and initramfs with the probe parameter
// (they power off at once), once per Driver and acceleration, and returns
// how long it took.
func (d *Driver) probeGuest(ctx context.Context, r *resolved) (time.Duration, error) {
	d.mu.Lock()
	if d.probed && d.probedAccel == r.accel {
		defer d.mu.Unlock()
		return d.probeBoot, d.probeErr
	}
	d.mu.Unlock()
	took, err := d.bootProbe(ctx, r)
	if ctx.Err() != nil {
		return took, err // not remembered: the caller gave up
	}
	d.mu.Lock()
	d.probed, d.probedAccel, d.probeBoot, d.probeErr = true, r.accel, took, err
	d.mu.Unlock()
	return took, err
}

func (d *Driver) bootProbe(ctx context.Context, r *resolved) (time.Duration, error) {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		return 0, err
	}
	id := driver.IDPrefix + "probe-" + hex.EncodeToString(b)
	// A kernel that powers off at once takes well under a second under
	// KVM: a guest still running after 10s hangs (broken nested
	// virtualisation), and TCG takes over.
	limit := 10 * time.Second
	if r.accel == AccelTCG {
		limit = 90 * time.Second
	}
	if err := driverkit.MakeRunDir(d.env.RunDir); err != nil {
		return 0, fmt.Errorf("%s: probe: %w", d.Name(), err)
	}
	m := Machine{
		ID: id, Dir: filepath.Join(d.env.RunDir, id), Binary: r.binary, Accel: r.accel,
		CPUs: DefaultCPUs, MemoryBytes: 256 << 20, Kernel: r.kernel,
		KernelPath: bootImage(d.fam, r.kernel), Initramfs: r.kernel.Initramfs(),
	}
	m.Cmdline = strings.Join(append(append(baseCmdline(), d.fam.KernelArgs(&m, r.tscKHz)...), guest.ParamProbe+"=1"), " ")
	rec, err := newRecord(d.runtime(), id, m.Dir)
	if err != nil {
		return 0, err
	}
	records := stateRecords(d.env.StateDir)
	if err := records.Create(rec); err != nil {
		return 0, fmt.Errorf("%s: probe: %w", d.Name(), err)
	}
	defer records.Remove(id)
	if err := os.Mkdir(m.Dir, 0o700); err != nil {
		return 0, fmt.Errorf("%s: probe: %w", d.Name(), err)
	}
	defer os.RemoveAll(m.Dir)
	cmd, ctrl, err := d.fam.Launch(&m)
	if err != nil {
		return 0, fmt.Errorf("%s: probe: %w", d.Name(), err)
	}
	defer ctrl.Close()
	console, err := newConsoleLog(m.Path("console.log"))
	if err != nil {
		return 0, err
	}
	defer console.Close()
	log, err := os.OpenFile(m.Path("vmm.log"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	defer log.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer outR.Close()
	inR, inW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return 0, err
	}
	defer inW.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	err = cmd.Start()
	outW.Close()
	inR.Close()
	if err != nil {
		return 0, driver.NotSupported(d.Name(), "starting %s: %v", cmd.Path, err)
	}
	rec.VMMPID = cmd.Process.Pid
	rec.VMMStart, _ = driverkit.ProcStartTime(cmd.Process.Pid)
	_ = records.Write(rec)
	copied := make(chan struct{})
	go func() {
		io.Copy(console, outR)
		close(copied)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	bootErr := make(chan error, 1)
	go func() { bootErr <- ctrl.Boot(pctx) }()
	var waitErr error
	select {
	case waitErr = <-exited:
	case <-pctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		waitErr = <-exited
		<-copied
		if ctx.Err() != nil {
			return 0, fmt.Errorf("%s: probe: %w", d.Name(), ctx.Err())
		}
		return 0, driver.NotSupported(d.Name(), "a probe guest (kernel %s and initramfs, which power off at once) did not finish within %s (accel %s): %s", r.kernel.Release, limit, r.accel, probeSaid(console, m))
	}
	took := time.Since(t0)
	<-copied
	if err := <-bootErr; err != nil {
		return took, driver.NotSupported(d.Name(), "a probe guest could not be started through the %s API: %v; %s", d.fam.VMM(), err, probeSaid(console, m))
	}
	if !strings.Contains(console.tail(64), guest.ProbeOK) {
		return took, driver.NotSupported(d.Name(), "a probe guest (kernel %s) ended (%v) without its initramfs saying it ran: %s", r.kernel.Release, waitErr, probeSaid(console, m))
	}
	return took, nil
}

func probeSaid(c *consoleLog, m Machine) string {
	s := "guest console: " + c.tail(6)
	if t := readTail(m.Path("vmm.log"), 600); t != "" {
		s += "; VMM said: " + t
	}
	return s
}

// ResolveBinary finds a VMM's executable and asks its version: given, the
// path the user chose ("" looks name up in PATH); release, how to get one
// ("a Firecracker release"); prefix, what `--version` prints before the
// version itself. A missing binary or a failing --version is a
// driver.NotSupported error of the runtime runtime.
func ResolveBinary(ctx context.Context, runtime, name, given, release, prefix string) (bin, version string, err error) {
	bin = given
	if bin == "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", "", driver.NotSupported(runtime, "no %s binary in PATH (not packaged: install %s)", name, release)
		}
		bin = p
	} else if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
		return "", "", driver.NotSupported(runtime, "no %s binary at %s", name, bin)
	}
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(vctx, bin, "--version").Output()
	if err != nil {
		return bin, "", driver.NotSupported(runtime, "%s --version: %v", bin, err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return bin, strings.TrimPrefix(line, prefix), nil
}
