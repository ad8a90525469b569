package vmm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
	"github.com/isobench/isobench/internal/guest"
)

var (
	_ driver.Instance      = (*Instance)(nil)
	_ driver.HostProcesses = (*Instance)(nil)
	_ driver.StartTimer    = (*Instance)(nil)
	_ driver.Networker     = (*Instance)(nil)
)

const (
	// maxIDLen keeps ids and the socket paths built from them short.
	maxIDLen = 64
	// maxSocketPath is the longest path a unix socket can have.
	maxSocketPath = 107
	// volumeSize is the size of the scratch volume disk (sparse).
	volumeSize = 8 << 30
	// consoleLogLimit bounds the console log kept in the instance directory.
	consoleLogLimit = 4 << 20
)

// Timings are the phases of one guest's start, as the host saw them.
type Timings struct {
	// Launch is from Start to the VMM process running.
	Launch time.Duration
	// Boot is from the VMM process running to the guest booting (the API
	// configured and the guest started).
	Boot time.Duration
	// Ready is from the guest booting to the agent's hello.
	Ready time.Duration
	// GuestUptime is the guest kernel's own uptime at the hello.
	GuestUptime time.Duration
}

// Instance is one guest.
type Instance struct {
	d    *Driver
	spec driver.Spec
	m    Machine
	res  *resolved

	mu      sync.Mutex
	phase   driverkit.Phase
	cmd     *exec.Cmd
	ctrl    Controller
	guest   *agent.Guest
	exited  chan struct{}
	exitErr error
	console *consoleLog
	timings Timings
	timing  driver.StartTiming
	boot    agent.Boot
	closeE  error
	record  record
	// consoleIn and consoleOut are our ends of the pipes that are the
	// VMM's stdin and stdout: the guest's serial console.
	consoleIn  *os.File
	consoleOut *os.File
	// madeRecord and madeDir say what of the host this instance made, so
	// that a failed Create never removes another's.
	madeRecord, madeDir bool
	// link is the guest's network link (a tap), nil without Spec.Network;
	// netPath is its path as it was when the guest was ready.
	link    *sandboxnet.Link
	netPath string
}

// validateSpec checks a spec before anything is made for it: the checks
// every driver makes, with ids short enough for the socket paths built
// from them, and then the memory a guest needs at the least.
func validateSpec(s driver.Spec) error {
	if err := driverkit.ValidateSpec(s, driverkit.SpecRules{MaxIDLen: maxIDLen}); err != nil {
		return err
	}
	if s.MemoryBytes > 0 && s.MemoryBytes < 128<<20 {
		return fmt.Errorf("memory size %d is below the 128 MiB a guest needs", s.MemoryBytes)
	}
	return nil
}

// Create prepares a guest: its state record, its directory, its own
// copy-on-write root disk over the image's shared ext4 disk, and, for the
// volume scratch, a second disk. Nothing runs until Start. On error,
// everything made so far is removed.
func (d *Driver) Create(ctx context.Context, spec driver.Spec) (driver.Instance, error) {
	if err := validateSpec(spec); err != nil {
		return nil, fmt.Errorf("%s: create: %w", d.Name(), err)
	}
	r, err := d.ready(ctx)
	if err != nil {
		return nil, err
	}
	if spec.Network && r.noNet != "" {
		return nil, driver.NotSupported(d.Name(), "no guest network: %s", r.noNet)
	}
	if spec.Scratch == "" {
		spec.Scratch = driver.ScratchRootfs
	}
	dir := filepath.Join(d.env.RunDir, spec.ID)
	if len(dir)+len("/console.sock") > maxSocketPath {
		return nil, fmt.Errorf("%s: create %s: the instance directory %s is too long for unix sockets (%d bytes at most)", d.Name(), spec.ID, dir, maxSocketPath-len("/console.sock"))
	}
	base, err := guest.GuestDisk(ctx, spec.Image, guest.DiskOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: create %s: %w", d.Name(), spec.ID, err)
	}
	in := &Instance{d: d, spec: spec, res: r}
	in.m = Machine{
		ID: spec.ID, Dir: dir, Binary: r.binary, Accel: r.accel,
		CPUs: spec.CPUs, MemoryBytes: spec.MemoryBytes,
		Kernel: r.kernel, Initramfs: r.kernel.Initramfs(),
	}
	if in.m.CPUs == 0 {
		in.m.CPUs = DefaultCPUs
	}
	if in.m.MemoryBytes == 0 {
		in.m.MemoryBytes = DefaultMemoryBytes
	}
	if err := in.create(ctx, base); err != nil {
		err = fmt.Errorf("%s: create %s: %w", d.Name(), spec.ID, err)
		return nil, errors.Join(err, in.remove())
	}
	d.open.Add(spec.ID)
	return in, nil
}

func (in *Instance) create(ctx context.Context, base string) error {
	d := in.d
	rec, err := newRecord(d.runtime(), in.spec.ID, in.m.Dir)
	if err != nil {
		return err
	}
	in.record = rec
	if err := stateRecords(d.env.StateDir).Create(in.record); err != nil {
		return err
	}
	in.madeRecord = true
	if err := driverkit.MakeRunDir(d.env.RunDir); err != nil {
		return err
	}
	if err := os.Mkdir(in.m.Dir, 0o700); err != nil {
		return fmt.Errorf("making the instance directory: %w", err)
	}
	in.madeDir = true
	if in.spec.Network {
		if err := in.makeLink(ctx); err != nil {
			return err
		}
	}
	root, err := d.fam.RootDisk(ctx, base, in.m.Dir)
	if err != nil {
		return fmt.Errorf("making the root disk: %w", err)
	}
	in.m.RootDisk = root
	if in.spec.Scratch == driver.ScratchVolume {
		in.m.VolumeDisk = in.m.Path("volume.ext4")
		if err := guest.MakeExt4(ctx, in.m.VolumeDisk, volumeSize, "", "isobench-scratch"); err != nil {
			return fmt.Errorf("making the scratch volume disk: %w", err)
		}
	}
	in.m.KernelPath = bootImage(d.fam, in.m.Kernel)
	cmdline, err := in.cmdline()
	if err != nil {
		return err
	}
	in.m.Cmdline = cmdline
	return nil
}

// rootWait is how long the initramfs waits for the root disk.
func (in *Instance) rootWait() time.Duration {
	if in.m.Accel == AccelTCG {
		return 60 * time.Second
	}
	return 10 * time.Second
}

// cmdline builds the guest kernel's command line.
func (in *Instance) cmdline() (string, error) {
	transport := "virtio_mmio"
	if in.d.fam.Transport() == TransportPCI {
		transport = "virtio_pci"
	}
	modules := []string{transport, "virtio_blk", "ext4"}
	if in.m.Net != nil {
		modules = append(modules, "virtio_net")
	}
	load, err := in.m.Kernel.LoadOrder(modules...)
	if err != nil {
		return "", fmt.Errorf("guest kernel modules: %w", err)
	}
	args := append(baseCmdline(), in.d.fam.KernelArgs(&in.m, in.res.tscKHz)...)
	args = append(args, guest.InitArgs(load, "/dev/vda", in.rootWait())...)
	args = append(args, agent.ParamScratch+"="+in.spec.Scratch)
	if in.m.VolumeDisk != "" {
		args = append(args, agent.ParamVolume+"=/dev/vdb")
	}
	if in.m.Net != nil {
		args = append(args, agent.ParamNet+"="+in.m.Net.GuestAddr.String(), agent.ParamNetMAC+"="+in.m.Net.MAC)
	}
	return strings.Join(args, " "), nil
}

// baseCmdline is the start of every guest's command line: the serial
// console, quiet, and no reboot on panic (the VMM exits instead).
func baseCmdline() []string {
	return []string{"console=ttyS0", "quiet", "panic=-1"}
}

// Start boots the guest and waits, within ctx, for the agent's hello. It
// may be called once. When it fails, the VMM is gone before it returns;
// Close is still to be called.
func (in *Instance) Start(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase != driverkit.PhaseCreated {
		return fmt.Errorf("%s: start %s: the guest is %s; Start may be called once", in.d.Name(), in.spec.ID, in.phase)
	}
	err := in.start(ctx)
	if err == nil {
		in.phase = driverkit.PhaseRunning
		return nil
	}
	in.phase = driverkit.PhaseFailed
	in.kill()
	return fmt.Errorf("%s: start %s: %w", in.d.Name(), in.spec.ID, err)
}

func (in *Instance) start(ctx context.Context) error {
	t0 := time.Now()
	var err error
	in.console, err = newConsoleLog(in.m.Path("console.log"))
	if err != nil {
		return err
	}
	if err := in.launch(); err != nil {
		return err
	}
	t1 := time.Now()
	in.timings.Launch = t1.Sub(t0)
	resend := 2 * time.Second
	if in.m.Accel == AccelTCG {
		resend = 5 * time.Second
	}
	in.guest = agent.NewGuest(in.consoleOut, in.consoleIn, in.console, agent.LinkOptions{ResendAfter: resend})
	if err := in.withExit(ctx, in.ctrl.Boot); err != nil {
		return fmt.Errorf("booting through the %s API: %w", in.d.fam.VMM(), err)
	}
	t2 := time.Now()
	in.timings.Boot = t2.Sub(t1)
	in.timing.Begin, in.timing.Launched = t0, t2
	var boot agent.Boot
	err = in.withExit(ctx, func(ctx context.Context) error {
		var err error
		_, boot, err = in.guest.WaitReady(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("waiting for the guest's agent: %w", err)
	}
	in.timing.Ready = time.Now()
	in.timings.Ready = in.timing.Ready.Sub(t2)
	if in.link != nil {
		in.netPath = in.describeLink()
	}
	in.timings.GuestUptime = time.Duration(boot.UptimeNanos)
	in.boot = boot
	return nil
}

// withExit runs f, failing early with what the guest and the VMM said when
// the VMM process exits first.
func (in *Instance) withExit(ctx context.Context, f func(context.Context) error) error {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f(fctx) }()
	select {
	case err := <-done:
		if err != nil {
			select {
			case <-in.exited:
				return in.exitReport()
			case <-time.After(200 * time.Millisecond):
			}
			return fmt.Errorf("%w (%s)", err, in.diagnostics())
		}
		return nil
	case <-in.exited:
		cancel()
		<-done
		return in.exitReport()
	}
}

// exitReport says why the guest is gone: the initramfs's error lines if
// any, else the end of the console and of the VMM's log.
func (in *Instance) exitReport() error {
	// Let the console's last lines arrive: they say why.
	if in.guest != nil {
		select {
		case <-in.guest.Done():
		case <-time.After(time.Second):
		}
	}
	how := "exited"
	if in.exitErr != nil {
		how = "ended (" + in.exitErr.Error() + ")"
	}
	return fmt.Errorf("the %s process %s before the guest's agent was ready: %s", in.d.fam.VMM(), how, in.diagnostics())
}

func (in *Instance) diagnostics() string {
	var parts []string
	if lines := in.console.initErrors(); len(lines) > 0 {
		parts = append(parts, "guest init: "+strings.Join(lines, " | "))
	} else if t := in.console.tail(8); t != "" {
		parts = append(parts, "guest console: "+t)
	} else {
		parts = append(parts, "the guest wrote nothing on its console")
	}
	if t := readTail(in.m.Path("vmm.log"), 800); t != "" {
		parts = append(parts, in.d.fam.VMM()+" said: "+t)
	}
	return strings.Join(parts, "; ")
}

// launch starts the VMM process with the guest's console on its stdio.
func (in *Instance) launch() error {
	cmd, ctrl, err := in.d.fam.Launch(&in.m)
	if err != nil {
		return err
	}
	log, err := os.OpenFile(in.m.Path("vmm.log"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	// Plain pipes, not exec's: what the guest wrote last before the VMM
	// exited (the initramfs's error) must still be readable after it.
	inR, inW, err := os.Pipe()
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, log
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Its own process group, killed whole; and killed with this process.
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	in.cmd, in.ctrl, in.consoleIn, in.consoleOut = cmd, ctrl, inW, outR
	in.exited = make(chan struct{})
	go func() {
		err := cmd.Wait()
		in.exitErr = err
		close(in.exited)
	}()
	if t, ok := driverkit.ProcStartTime(cmd.Process.Pid); ok {
		in.record.VMMPID, in.record.VMMStart = cmd.Process.Pid, t
		if err := stateRecords(in.d.env.StateDir).Write(in.record); err != nil {
			return err
		}
	}
	return nil
}

// Exec runs argv in the guest through its agent. A command that ran and
// exited non-zero gives a *driver.ExitError; a guest that is not running
// gives an error saying so.
func (in *Instance) Exec(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	if len(argv) == 0 {
		return fmt.Errorf("%s: exec in %s: empty command", in.d.Name(), in.spec.ID)
	}
	in.mu.Lock()
	ph, g := in.phase, in.guest
	in.mu.Unlock()
	what := fmt.Sprintf("%s: exec %s in %s", in.d.Name(), argv[0], in.spec.ID)
	if ph != driverkit.PhaseRunning {
		return fmt.Errorf("%s: the guest is %s, not running", what, ph)
	}
	res, err := g.Exec(ctx, agent.Request{Argv: argv})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if stdout != nil {
		if _, err := io.WriteString(stdout, res.Stdout); err != nil {
			return fmt.Errorf("%s: copying its output: %w", what, err)
		}
	}
	if stderr != nil {
		if _, err := io.WriteString(stderr, res.Stderr); err != nil {
			return fmt.Errorf("%s: copying its output: %w", what, err)
		}
	}
	switch {
	case res.TimedOut:
		return fmt.Errorf("%s: %s", what, res.Error)
	case res.Signal != "":
		return fmt.Errorf("%s: %w", what, &driver.ExitError{Code: -1, Stderr: driverkit.TailBytes(res.Stderr+"\nkilled by signal "+res.Signal, 1000)})
	case res.Error != "" && res.ExitCode < 0:
		// Not started (not found, not executable): what a shell says.
		if stderr != nil {
			io.WriteString(stderr, res.Error+"\n")
		}
		return fmt.Errorf("%s: %w", what, &driver.ExitError{Code: 127, Stderr: res.Error})
	case res.ExitCode != 0:
		return fmt.Errorf("%s: %w", what, &driver.ExitError{Code: res.ExitCode, Stderr: driverkit.TailBytes(res.Stderr, 1000)})
	}
	return nil
}

// HostPIDs returns the VMM process while the guest runs: the host-side
// cost of the guest (driver.ReadProcessMemory gives its RSS and PSS).
func (in *Instance) HostPIDs() []int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase != driverkit.PhaseRunning || in.cmd == nil || in.cmd.Process == nil {
		return nil
	}
	return []int{in.cmd.Process.Pid}
}

// Timings returns how long the phases of Start took.
func (in *Instance) Timings() Timings {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.timings
}

// StartTiming splits a successful Start: Launched is when the VMM's API
// accepted the boot (QEMU's QMP "cont", Firecracker's InstanceStart, Cloud
// Hypervisor's vm.boot answered), Ready when the agent's hello arrived
// over the serial console (read as it comes, no polling).
func (in *Instance) StartTiming() (driver.StartTiming, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase == driverkit.PhaseCreated || in.phase == driverkit.PhaseFailed || in.timing.Ready.IsZero() {
		return driver.StartTiming{}, false
	}
	return in.timing, true
}

// Boot returns what the guest said of itself when it was ready.
func (in *Instance) Boot() agent.Boot {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.boot
}

// Stop powers the guest off: the agent syncs and powers off, and the VMM
// exits; if it does not in time, the VMM's API ends the guest, and last
// the VMM is killed. It is idempotent and does nothing before a
// successful Start.
func (in *Instance) Stop(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase != driverkit.PhaseRunning {
		return nil
	}
	in.phase = driverkit.PhaseStopped
	if err := in.stop(ctx); err != nil {
		return fmt.Errorf("%s: stop %s: %w", in.d.Name(), in.spec.ID, err)
	}
	return nil
}

func (in *Instance) stopGrace() time.Duration {
	if in.m.Accel == AccelTCG {
		return 30 * time.Second
	}
	return 10 * time.Second
}

func (in *Instance) stop(ctx context.Context) error {
	grace := in.stopGrace()
	pctx, cancel := context.WithTimeout(ctx, grace)
	perr := in.guest.Poweroff(pctx)
	cancel()
	if perr == nil || errors.Is(perr, agent.ErrLinkClosed) {
		if in.waitExit(ctx, grace) {
			return nil
		}
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_ = in.ctrl.Quit(qctx)
	cancel()
	if in.waitExit(ctx, 5*time.Second) {
		return nil
	}
	in.kill()
	if !in.waitExit(context.Background(), 5*time.Second) {
		return fmt.Errorf("the %s process %d still runs after SIGKILL", in.d.fam.VMM(), in.cmd.Process.Pid)
	}
	return nil
}

func (in *Instance) waitExit(ctx context.Context, limit time.Duration) bool {
	if in.exited == nil {
		return true
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-in.exited:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// kill ends the VMM's process group at once and waits for it.
func (in *Instance) kill() {
	if in.cmd == nil || in.cmd.Process == nil {
		return
	}
	select {
	case <-in.exited:
		return
	default:
	}
	_ = syscall.Kill(-in.cmd.Process.Pid, syscall.SIGKILL)
	in.waitExit(context.Background(), 10*time.Second)
}

// Close stops the guest if it runs, kills what is left of the VMM, and
// removes the instance directory (disks, sockets, logs) and the state
// record, then checks that nothing is left. It is idempotent.
func (in *Instance) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase == driverkit.PhaseClosed {
		return in.closeE
	}
	var errs []error
	if in.phase == driverkit.PhaseRunning {
		in.phase = driverkit.PhaseStopped
		ctx, cancel := context.WithTimeout(context.Background(), 2*in.stopGrace())
		if err := in.stop(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	in.kill()
	if err := in.remove(); err != nil {
		errs = append(errs, err)
	}
	in.phase = driverkit.PhaseClosed
	in.d.open.Remove(in.spec.ID)
	if len(errs) > 0 {
		in.closeE = fmt.Errorf("%s: close %s: %w", in.d.Name(), in.spec.ID, errors.Join(errs...))
	}
	return in.closeE
}

// remove frees the host resources of an instance whose VMM is gone.
func (in *Instance) remove() error {
	var errs []error
	if in.guest != nil {
		in.guest.Close()
	}
	if in.ctrl != nil {
		in.ctrl.Close()
	}
	if in.consoleIn != nil {
		in.consoleIn.Close()
	}
	if in.consoleOut != nil {
		in.consoleOut.Close()
	}
	if in.console != nil {
		in.console.Close()
	}
	if in.cmd != nil && in.cmd.Process != nil {
		select {
		case <-in.exited:
		default:
			errs = append(errs, fmt.Errorf("the %s process %d still runs", in.d.fam.VMM(), in.cmd.Process.Pid))
		}
	}
	if in.link != nil && len(errs) == 0 {
		if err := in.link.Remove(); err != nil {
			errs = append(errs, err)
		}
	}
	if in.madeDir {
		if err := os.RemoveAll(in.m.Dir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", in.m.Dir, err))
		}
	}
	if len(errs) == 0 && in.madeRecord {
		if err := stateRecords(in.d.env.StateDir).Remove(in.spec.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killGroup kills a process group that is not our child and waits until
// its leader is gone.
func killGroup(ctx context.Context, pid int) error {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := driverkit.ProcStartTime(pid); !ok { // gone, or a zombie
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("process %d still runs after SIGKILL", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// consoleLog keeps what the guest wrote on its console that was not the
// agent's protocol: the kernel's log and the initramfs's messages, in a
// bounded file and the last lines in memory.
type consoleLog struct {
	mu      sync.Mutex
	f       *os.File
	n       int64
	lines   []string
	errs    []string
	partial []byte
}

func newConsoleLog(path string) (*consoleLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("making the console log: %w", err)
	}
	return &consoleLog{f: f}, nil
}

func (c *consoleLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f != nil && c.n < consoleLogLimit {
		k, _ := c.f.Write(p)
		c.n += int64(k)
	}
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			if len(c.partial) > 4096 {
				c.line(string(c.partial))
				c.partial = c.partial[:0]
			}
			break
		}
		c.line(string(c.partial[:i]))
		c.partial = c.partial[i+1:]
	}
	return len(p), nil
}

func (c *consoleLog) line(l string) {
	l = strings.TrimSpace(l)
	if l == "" {
		return
	}
	if i := strings.Index(l, guest.InitErrorPrefix); i >= 0 && len(c.errs) < 8 {
		c.errs = append(c.errs, strings.TrimPrefix(l[i:], "isobench-init: "))
	}
	c.lines = append(c.lines, l)
	if len(c.lines) > 64 {
		c.lines = c.lines[len(c.lines)-64:]
	}
}

func (c *consoleLog) tail(n int) string {
	if c == nil {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.lines
	if len(c.partial) > 0 {
		l = append(append([]string(nil), l...), strings.TrimSpace(string(c.partial)))
	}
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

func (c *consoleLog) initErrors() []string {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

func (c *consoleLog) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	return err
}

// readTail returns the last n bytes of a file, trimmed, with its
// whitespace folded onto one line (a VMM's log quoted inside a one-line
// diagnostic); "" if unreadable. Unlike driverkit.ReadTail it keeps the
// line breaks out and cuts wherever the n bytes begin, with no "…" mark.
func readTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.Join(strings.Fields(string(bytes.TrimSpace(b))), " ")
}

// bootImage is the kernel file the VMM boots: Firecracker and Cloud
// Hypervisor take the ELF vmlinux; QEMU takes it too when it has a PVH
// entry point (no decompression in the guest: seconds saved under TCG),
// else the bzImage.
func bootImage(fam Family, k *guest.Kernel) string {
	switch {
	case fam.VMM() == guest.VMMFirecracker || fam.VMM() == guest.VMMCloudHypervisor:
		return k.Vmlinux()
	case k.HasVmlinux && k.PVH:
		return k.Vmlinux()
	}
	return k.BootImage()
}
