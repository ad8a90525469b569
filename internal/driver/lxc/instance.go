package lxc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/lxc/sysinit"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
)

var (
	_ driver.Instance    = (*instance)(nil)
	_ driver.StartTimer  = (*instance)(nil)
	_ driver.HostCgroups = (*instance)(nil)
	_ driver.Networker   = (*instance)(nil)
)

const (
	// waitDelay bounds how long a finished tool may hold its output pipes
	// open (through processes it left) before Go gives up.
	waitDelay = 5 * time.Second
	// stopTimeout is how long Stop lets busybox init shut the system down
	// (it takes about two seconds) before lxc-stop kills it.
	stopTimeout = 10 * time.Second
	// closeTimeout bounds everything Close does.
	closeTimeout = 60 * time.Second
	// maxIDLen keeps ids usable as host names.
	maxIDLen = 64
)

// instance is one system container.
type instance struct {
	d    *Driver
	res  *resolved
	spec driver.Spec

	dir        string // instance directory
	rootfs     string // overlay mount point
	consoleLog string
	lxcLog     string
	confDir    string           // <lxcpath>/<id>
	link       *sandboxnet.Link // the network of a Spec.Network sandbox

	mu       sync.Mutex
	phase    driverkit.Phase
	pid      int // init's host pid while running
	timing   driver.StartTiming
	undo     driverkit.Undo
	closeErr error
}

// validateSpec checks a spec before anything is made for it.
func validateSpec(s driver.Spec) error {
	return driverkit.ValidateSpec(s, driverkit.SpecRules{MaxIDLen: maxIDLen, Overlay: true})
}

// Create prepares a system container: its state record, its directory, an
// overlay of the image with the init layer (sysinit) in its upper layer,
// and the container's configuration in the LXC path. Nothing runs until
// Start. On error everything made so far is removed.
func (d *Driver) Create(ctx context.Context, spec driver.Spec) (driver.Instance, error) {
	if err := validateSpec(spec); err != nil {
		return nil, fmt.Errorf("%s: create: %w", Name, err)
	}
	res, err := d.resolve(ctx)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(d.env.RunDir, spec.ID)
	in := &instance{
		d: d, res: res, spec: spec,
		dir:        dir,
		rootfs:     filepath.Join(dir, "rootfs"),
		consoleLog: filepath.Join(dir, "console.log"),
		lxcLog:     filepath.Join(dir, "lxc.log"),
		confDir:    filepath.Join(res.tools.lxcpath, spec.ID),
	}
	if err := in.create(ctx); err != nil {
		if cerr := in.undo.Run(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up: %w", cerr))
		}
		return nil, fmt.Errorf("%s: create %s: %w", Name, spec.ID, err)
	}
	d.open.Add(spec.ID)
	return in, nil
}

func (in *instance) create(ctx context.Context) error {
	d, id := in.d, in.spec.ID
	layer, err := sysinit.Layer(in.spec.Image.Rootfs)
	if err != nil {
		return err
	}
	rec, err := newRecord(id, in.dir, in.res.tools.lxcpath)
	if err != nil {
		return err
	}
	if err := stateRecords(d.env.StateDir).Create(rec); err != nil {
		return err
	}
	in.undo.Push("state record", func() error { return stateRecords(d.env.StateDir).Remove(id) })

	if err := driverkit.MakeInstanceDir(&in.undo, d.env.RunDir, in.dir); err != nil {
		return err
	}
	ov := driverkit.NewOverlay(in.spec.Image.Rootfs, in.dir, in.rootfs)
	if err := ov.MakeDirs(); err != nil {
		return err
	}
	// The init layer goes into the upper layer: the image stays untouched
	// and the sandbox sees it as part of its own root filesystem.
	if err := sysinit.Write(ov.Upper, layer); err != nil {
		return err
	}
	if err := ov.Mount(&in.undo, id); err != nil {
		return err
	}

	var volume string
	if in.spec.Scratch == driver.ScratchVolume {
		volume = filepath.Join(in.dir, "volume")
		if err := os.Mkdir(volume, 0o777); err != nil {
			return fmt.Errorf("making the scratch volume: %w", err)
		}
		// Mkdir applies the umask; the volume is writable by any user of
		// the sandbox, as /tmp is.
		if err := os.Chmod(volume, 0o777|os.ModeSticky); err != nil {
			return fmt.Errorf("making the scratch volume: %w", err)
		}
	}
	var netns string
	if in.spec.Network {
		link, err := sandboxnet.NewVeth(ctx, d.env.StateDir, id)
		if err != nil {
			return err
		}
		in.link = link
		in.undo.Push("network link", link.Remove)
		netns = link.NetNSPath()
	}
	conf, err := buildConfig(configParams{
		ID: id, Includes: in.res.includes, Rootfs: in.rootfs, ConsoleLog: in.consoleLog, LogFile: in.lxcLog,
		Cgroup: in.res.cgroup, Scratch: in.spec.Scratch, VolumeDir: volume,
		CPUs: in.spec.CPUs, MemoryBytes: in.spec.MemoryBytes, NetNS: netns,
		Labels: in.spec.Labels, Owner: fmt.Sprintf("isobench process %d", os.Getpid()),
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(in.res.tools.lxcpath, 0o755); err != nil {
		return fmt.Errorf("making the LXC path: %w", err)
	}
	if err := os.Mkdir(in.confDir, 0o750); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("an LXC container named %s exists already in %s", id, in.res.tools.lxcpath)
		}
		return fmt.Errorf("defining the container: %w", err)
	}
	in.undo.Push("container definition", func() error { return removeDefinition(in.confDir, lockPath(in.res.tools.lxcpath, id)) })
	if err := os.WriteFile(filepath.Join(in.confDir, "config"), []byte(conf), 0o640); err != nil {
		return fmt.Errorf("defining the container: %w", err)
	}
	return nil
}

// removeDefinition removes a container's directory in the LXC path and the
// lock file LXC left for it.
func removeDefinition(confDir, lock string) error {
	var errs []error
	if err := driverkit.RemoveDirUnmounted(confDir); err != nil {
		errs = append(errs, err)
	}
	if err := os.Remove(lock); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("removing LXC's lock file: %w", err))
	}
	return errors.Join(errs...)
}

// Start starts the container (busybox init as PID 1) and waits, within
// ctx, for the agent's Ready line on its console. It may be called once.
// When it fails, everything of the instance is removed before it returns.
func (in *instance) Start(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase != driverkit.PhaseCreated {
		return fmt.Errorf("%s: start %s: instance is %s; Start may be called once", Name, in.spec.ID, in.phase)
	}
	in.undo.Push("container", func() error {
		tctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_, err := teardown(tctx, in.res, in.spec.ID, in.dir)
		return err
	})
	in.timing = driver.StartTiming{Begin: time.Now()}
	err := in.start(ctx)
	if err == nil {
		in.timing.Ready = time.Now()
		in.phase = driverkit.PhaseRunning
		return nil
	}
	in.phase = driverkit.PhaseFailed
	err = fmt.Errorf("%s: start %s: %w", Name, in.spec.ID, err)
	if cerr := in.undo.Run(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("cleaning up after the failed start: %w", cerr))
	}
	return err
}

func (in *instance) start(ctx context.Context) error {
	t := in.res.tools
	// -C closes what this process would pass on: nothing of isobench's
	// leaks into the container.
	if _, err := t.run(ctx, t.start, "-n", in.spec.ID, "-d", "-C"); err != nil {
		return fmt.Errorf("%w%s", err, in.lxcErrors())
	}
	// lxc-start -d returns once the container runs.
	in.timing.Launched = time.Now()
	pid, err := t.initPID(ctx, in.spec.ID)
	if err != nil {
		return err
	}
	if pid <= 0 {
		return fmt.Errorf("lxc-start succeeded but the container has no init: %s%s", in.consoleTail(), in.lxcErrors())
	}
	in.pid = pid
	return in.waitReady(ctx)
}

// lxcErrors returns LXC's ERROR lines from the container's log, for
// errors; "" when there are none.
func (in *instance) lxcErrors() string {
	b, err := os.ReadFile(in.lxcLog)
	if err != nil {
		return ""
	}
	return driverkit.LXCLogErrors(b, 8)
}

func (in *instance) consoleTail() string {
	s := driverkit.ReadTail(in.consoleLog, 1500)
	if s == "" {
		return "(nothing on the console)"
	}
	return "console: " + s
}

// waitReady waits for the agent's Ready line on the console, failing early
// when busybox init says it cannot run the agent or init is gone.
func (in *instance) waitReady(ctx context.Context) error {
	delay := 250 * time.Microsecond
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for {
		b, err := os.ReadFile(in.consoleLog)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("reading the console log: %w", err)
		}
		c, err := sysinit.ScanConsole(b)
		if err != nil {
			return err
		}
		switch {
		case c.Ready != nil:
			return nil
		case c.Failure != "":
			return fmt.Errorf("the system booted but its init could not start the agent: %s", c.Failure)
		case !driverkit.Alive(in.pid):
			return fmt.Errorf("the container's init (pid %d) exited before the agent was ready: %s%s", in.pid, in.consoleTail(), in.lxcErrors())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the agent to be ready: %w (%s)", ctx.Err(), in.consoleTail())
		case <-timer.C:
		}
		delay = min(2*delay, 10*time.Millisecond)
		timer.Reset(delay)
	}
}

// StartTiming implements driver.StartTimer: Launched is when lxc-start -d
// returned (the container's init runs), Ready when the agent's Ready line
// was read from the console log, which Start polls at most 10ms apart.
func (in *instance) StartTiming() (driver.StartTiming, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.timing.Ready.IsZero() {
		return driver.StartTiming{}, false
	}
	return in.timing, true
}

// Network implements driver.Networker: the link of a sandbox made with
// Spec.Network, a veth pair whose namespace the container joins.
func (in *instance) Network() (driver.Network, bool) {
	if in.link == nil {
		return driver.Network{}, false
	}
	return in.link.Network(), true
}

// HostCgroups implements driver.HostCgroups: the container's own cgroups
// (lxc.payload.<id>), none when it does not run.
func (in *instance) HostCgroups() []string {
	in.mu.Lock()
	running := in.phase == driverkit.PhaseRunning
	in.mu.Unlock()
	if !running {
		return nil
	}
	var out []string
	for _, d := range cgroupDirs(in.res.cgMounts, in.spec.ID) {
		if strings.HasPrefix(filepath.Base(d), "lxc.payload.") {
			out = append(out, d)
		}
	}
	return out
}

// Exec runs argv in the container with lxc-attach (all its namespaces, its
// cgroup, a clean environment). A command that ran and exited non-zero
// gives a *driver.ExitError (wrapped); a container that is not running
// gives an error saying so. When ctx ends, lxc-attach and the command are
// killed (lxc-attach does not pass signals on).
func (in *instance) Exec(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	if len(argv) == 0 {
		return fmt.Errorf("%s: exec in %s: empty command", Name, in.spec.ID)
	}
	in.mu.Lock()
	ph, pid := in.phase, in.pid
	in.mu.Unlock()
	if ph != driverkit.PhaseRunning {
		return fmt.Errorf("%s: exec %s in %s: the container is %s, not running", Name, argv[0], in.spec.ID, ph)
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	t := in.res.tools
	cmd := t.command(ctx, t.attach, append([]string{"-n", in.spec.ID, "--clear-env", "--"}, argv...)...)
	errTail := driverkit.NewTailBuffer(4096)
	cmd.Stdout = stdout
	cmd.Stderr = io.MultiWriter(stderr, errTail)
	cmd.Cancel = func() error {
		killTree(cmd.Process.Pid)
		return nil
	}
	err := cmd.Run()
	if err == nil {
		return nil
	}
	what := fmt.Sprintf("%s: exec %s in %s", Name, argv[0], in.spec.ID)
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() <= 0 {
		return fmt.Errorf("%s: %w: %s", what, err, driverkit.Tail(errTail.String(), 1000))
	}
	// lxc-attach also exits non-zero when it cannot reach the container:
	// ask whether the container still runs before blaming the command.
	if !driverkit.Alive(pid) {
		return fmt.Errorf("%s: the container is not running (lxc-attach exited %d: %s)", what, ee.ExitCode(), driverkit.Tail(errTail.String(), 1000))
	}
	if ee.ExitCode() == 1 && strings.Contains(errTail.String(), "lxc-attach: "+in.spec.ID+": ") {
		return fmt.Errorf("%s: lxc-attach failed: %s", what, driverkit.Tail(errTail.String(), 1000))
	}
	return fmt.Errorf("%s: %w", what, &driver.ExitError{Code: ee.ExitCode(), Stderr: driverkit.Tail(errTail.String(), 1000)})
}

// Stop shuts the system down as lxc-stop does (SIGPWR to busybox init,
// which runs its shutdown actions, ends every process and halts), killing
// it if it has not halted within stopTimeout. It is idempotent and does
// nothing before a successful Start.
func (in *instance) Stop(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase != driverkit.PhaseRunning {
		return nil
	}
	in.phase = driverkit.PhaseStopped
	if err := in.stop(ctx, false); err != nil {
		return fmt.Errorf("%s: stop %s: %w", Name, in.spec.ID, err)
	}
	return nil
}

// stop ends the container: a clean shutdown, or with kill at once.
func (in *instance) stop(ctx context.Context, kill bool) error {
	t := in.res.tools
	args := []string{"-n", in.spec.ID, "-t", strconv.Itoa(int(stopTimeout / time.Second))}
	if kill {
		args = []string{"-n", in.spec.ID, "-k"}
	}
	_, err := t.run(ctx, t.stop, args...)
	if st, exists, serr := t.state(ctx, in.spec.ID); serr == nil && (!exists || st == "STOPPED") {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("lxc-stop returned but the container still runs")
}

// Close stops the container if it runs (killing it: Close frees, Stop is
// the measured shutdown), undoes everything Create and Start made, and
// checks that nothing of the instance is left on the host. It is
// idempotent: later calls return the first call's result.
func (in *instance) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase == driverkit.PhaseClosed {
		return in.closeErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var errs []error
	if in.phase == driverkit.PhaseRunning {
		in.phase = driverkit.PhaseStopped
		if err := in.stop(ctx, true); err != nil {
			// The container cleanup step removes it the hard way.
			errs = append(errs, fmt.Errorf("stopping: %w", err))
		}
	}
	if err := in.undo.Run(); err != nil {
		errs = append(errs, err)
	}
	if err := in.leftovers(ctx); err != nil {
		errs = append(errs, err)
	}
	in.phase = driverkit.PhaseClosed
	in.d.open.Remove(in.spec.ID)
	if len(errs) > 0 {
		in.closeErr = fmt.Errorf("%s: close %s: %w", Name, in.spec.ID, errors.Join(errs...))
	}
	return in.closeErr
}

// leftovers reports anything of the instance still on the host.
func (in *instance) leftovers(ctx context.Context) error {
	id := in.spec.ID
	var left []string
	if table, err := driverkit.ReadMountInfo(); err == nil {
		for _, m := range driverkit.MountsAt(table, in.dir) {
			left = append(left, "mount "+m)
		}
	}
	for _, p := range []string{in.dir, in.confDir, stateRecords(in.d.env.StateDir).Path(id), lockPath(in.res.tools.lxcpath, id)} {
		if _, err := os.Lstat(p); err == nil {
			left = append(left, p)
		}
	}
	if names, err := in.res.tools.list(ctx); err == nil {
		for _, n := range names {
			if n == id {
				left = append(left, "lxc-ls lists "+id)
			}
		}
	}
	for _, d := range cgroupDirs(in.res.cgMounts, id) {
		left = append(left, "cgroup "+d)
	}
	for _, p := range procsMentioning(id, in.dir) {
		left = append(left, fmt.Sprintf("process %d (%s)", p.PID, driverkit.Clip(p.Cmdline, 120)))
	}
	if len(left) > 0 {
		return fmt.Errorf("left on the host: %s", strings.Join(left, "; "))
	}
	return nil
}

// teardown removes what LXC and the kernel hold of a container: the
// container (killed), its monitor and any process left of it, and its
// cgroups. It returns a line for each thing it removed. The definition,
// overlay and directory are the caller's.
func teardown(ctx context.Context, res *resolved, id, dir string) ([]string, error) {
	var lines []string
	var errs []error
	t := res.tools
	st, exists, err := t.state(ctx, id)
	if err != nil || (exists && st != "STOPPED") {
		if _, err := t.run(ctx, t.stop, "-n", id, "-k"); err == nil {
			lines = append(lines, "lxc: killed container "+id)
		} else if st2, exists2, serr := t.state(ctx, id); serr != nil || (exists2 && st2 != "STOPPED") {
			errs = append(errs, err)
		}
	}
	// The monitor ([lxc monitor] <lxcpath> <name>) exits once the
	// container has stopped; whatever still names the container is killed.
	deadline := time.Now().Add(5 * time.Second)
	for len(procsMentioning(id, dir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, p := range procsMentioning(id, dir) {
		if syscall.Kill(p.PID, syscall.SIGKILL) == nil {
			lines = append(lines, fmt.Sprintf("killed leftover process %d of %s: %s", p.PID, id, driverkit.Clip(p.Cmdline, 160)))
		}
	}
	removed, err := removeCgroups(res.cgMounts, id, 5*time.Second)
	for _, p := range removed {
		lines = append(lines, "removed cgroup "+p)
	}
	if err != nil {
		errs = append(errs, err)
	}
	return lines, errors.Join(errs...)
}
