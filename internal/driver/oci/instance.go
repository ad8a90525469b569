package oci

import (
	"bytes"
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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
	"github.com/isobench/isobench/internal/image"
)

var _ driver.Instance = (*instance)(nil)

const (
	// waitDelay bounds how long a finished runtime command may hold its
	// output pipes open (through processes it left) before Go gives up.
	waitDelay = 5 * time.Second
	// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
	stopGrace = 3 * time.Second
	// killWait is how long Stop waits after SIGKILL.
	killWait = 5 * time.Second
	// closeTimeout bounds everything Close does.
	closeTimeout = 60 * time.Second
	// maxIDLen keeps ids usable as host names.
	maxIDLen = 64
	// readyPoll is the longest wait between two reads of the sandbox log
	// while waiting for the agent's Ready line: the resolution of the
	// ready phase of driver.StartTiming.
	readyPoll = time.Millisecond
)

// instance is one sandbox: a bundle on an overlay of the image, run by the
// runtime.
type instance struct {
	d    *Driver
	rt   runtime
	cg   driverkit.CgroupInfo
	spec driver.Spec

	dir     string // instance directory = bundle
	rootfs  string // overlay mount point = bundle rootfs
	logPath string // stdout and stderr of the sandbox's init
	pidPath string

	execs atomic.Int64 // numbers exec pid files

	mu        sync.Mutex
	phase     driverkit.Phase
	pid       int
	pidStart  uint64             // start time of pid, which names it with pid
	timing    driver.StartTiming // of the successful Start
	link      *sandboxnet.Link   // the network of a Spec.Network sandbox
	netNote   string             // what results over the link must say
	undo      driverkit.Undo
	container *driverkit.Step // the runtime's part of undo
	halted    bool            // Stop saw the init gone; the container awaits its delete
	closeErr  error
}

// validateSpec checks a spec before anything is made for it.
func validateSpec(s driver.Spec) error {
	return driverkit.ValidateSpec(s, driverkit.SpecRules{MaxIDLen: maxIDLen, Overlay: true})
}

// Create prepares a sandbox: its state record, its directory, an overlay of
// the image as the bundle's root filesystem, and config.json. Nothing runs
// until Start. On error everything made so far is removed.
func (d *Driver) Create(ctx context.Context, spec driver.Spec) (driver.Instance, error) {
	if err := validateSpec(spec); err != nil {
		return nil, fmt.Errorf("%s: create: %w", d.Name(), err)
	}
	res, err := d.resolve()
	if err != nil {
		return nil, err
	}
	platform, err := d.chosenPlatform(ctx, res)
	if err != nil {
		return nil, err
	}
	netMode, netNote := netNone, ""
	if spec.Network {
		if netMode, netNote, err = d.networkMode(ctx, res, platform); err != nil {
			return nil, err
		}
	}
	dir := filepath.Join(d.env.RunDir, spec.ID)
	in := &instance{
		d:       d,
		netNote: netNote,
		rt:      d.runtimeWith(res, platform, netMode),
		cg:      res.cg,
		spec:    spec,
		dir:     dir,
		rootfs:  filepath.Join(dir, "rootfs"),
		logPath: filepath.Join(dir, "init.log"),
		pidPath: filepath.Join(dir, "init.pid"),
	}
	if err := in.create(); err != nil {
		if cerr := in.undo.Run(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up: %w", cerr))
		}
		return nil, fmt.Errorf("%s: create %s: %w", d.Name(), spec.ID, err)
	}
	d.open.Add(spec.ID)
	return in, nil
}

func (in *instance) create() error {
	d, id := in.d, in.spec.ID
	rec, err := d.newRecord(in.rt, id, in.dir, []string{in.rootfs})
	if err != nil {
		return err
	}
	if err := stateRecords(d.env.StateDir).Create(rec); err != nil {
		return err
	}
	in.undo.PushLast("state record", func() error { return stateRecords(d.env.StateDir).Remove(id) })

	if err := driverkit.MakeInstanceDir(&in.undo, d.env.RunDir, in.dir); err != nil {
		return err
	}
	ov := driverkit.NewOverlay(in.spec.Image.Rootfs, in.dir, in.rootfs)
	if err := ov.MakeDirs(); err != nil {
		return err
	}
	if err := ov.Mount(&in.undo, id); err != nil {
		return err
	}

	var netnsPath string
	if in.spec.Network {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		link, err := sandboxnet.NewVeth(ctx, d.env.StateDir, id)
		if err != nil {
			return err
		}
		in.undo.Push("sandbox network", link.Remove)
		in.link = link
		netnsPath = link.NetNSPath()
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
	spec, err := bundleSpec(bundleParams{
		ID:          id,
		Args:        []string{image.AgentPath, "init"},
		Scratch:     in.spec.Scratch,
		VolumeDir:   volume,
		CPUs:        in.spec.CPUs,
		MemoryBytes: in.spec.MemoryBytes,
		NetNS:       netnsPath,
		Labels:      in.spec.Labels,
	})
	if err != nil {
		return err
	}
	return writeSpec(in.dir, spec)
}

// Start runs the sandbox and waits, within ctx, for the agent's Ready line.
// It may be called once. When it fails, everything of the instance is
// removed before it returns; Close is still to be called and is then cheap.
func (in *instance) Start(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase != driverkit.PhaseCreated {
		return fmt.Errorf("%s: start %s: instance is %s; Start may be called once", in.d.Name(), in.spec.ID, in.phase)
	}
	in.container = in.undo.Push("container", func() error {
		tctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_, err := teardown(tctx, in.rt, in.cg, in.spec.ID, in.dir)
		return err
	})
	begin := time.Now()
	launched, err := in.start(ctx)
	if err == nil {
		in.phase = driverkit.PhaseRunning
		in.timing = driver.StartTiming{Begin: begin, Launched: launched, Ready: time.Now()}
		return nil
	}
	in.phase = driverkit.PhaseFailed
	err = fmt.Errorf("%s: start %s: %w", in.d.Name(), in.spec.ID, err)
	if cerr := in.undo.Run(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("cleaning up after the failed start: %w", cerr))
	}
	return err
}

// start runs the sandbox and waits for its agent; it returns when the
// runtime's run command returned (see driver.StartTiming).
func (in *instance) start(ctx context.Context) (launched time.Time, err error) {
	logf, err := os.OpenFile(in.logPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return launched, fmt.Errorf("making the sandbox log: %w", err)
	}
	cmd := in.rt.command(ctx, "run", "--detach", "--bundle", in.dir, "--pid-file", in.pidPath, in.spec.ID)
	// The runtime hands its stdio to the sandbox's init: a file, so that
	// nothing waits on a pipe the sandbox keeps open.
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.WaitDelay = waitDelay
	runErr := cmd.Run()
	launched = time.Now()
	logf.Close()
	if runErr != nil {
		if ctx.Err() != nil {
			return launched, fmt.Errorf("%s run: %w (it said: %s)", in.rt.fl.name, ctx.Err(), in.logTail())
		}
		return launched, fmt.Errorf("%s run: %w: %s", in.rt.fl.name, runErr, in.logTail())
	}
	b, err := os.ReadFile(in.pidPath)
	if err != nil {
		return launched, fmt.Errorf("%s run succeeded but wrote no pid file: %w", in.rt.fl.name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return launched, fmt.Errorf("%s run wrote a bad pid file: %q", in.rt.fl.name, driverkit.Clip(string(b), 40))
	}
	in.pid = pid
	in.pidStart, _ = driverkit.ProcStartTime(pid)
	return launched, in.waitReady(ctx)
}

func (in *instance) logTail() string {
	s := driverkit.ReadTail(in.logPath, 1500)
	if s == "" {
		return "(nothing in the sandbox log)"
	}
	return s
}

// maxLogLine bounds what waitReady keeps of a sandbox log line that has
// no end yet.
const maxLogLine = 64 << 10

// waitReady waits for the agent's Ready line in the sandbox log, failing
// early when the sandbox's process is gone. It reads the log at most
// readyPoll apart, which bounds how late it notices the line.
func (in *instance) waitReady(ctx context.Context) error {
	f, err := os.Open(in.logPath)
	if err != nil {
		return fmt.Errorf("reading the sandbox log: %w", err)
	}
	defer f.Close()
	var pending []byte
	buf := make([]byte, 4096)
	delay := 250 * time.Microsecond
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for {
		for {
			n, err := f.Read(buf)
			pending = append(pending, buf[:n]...)
			if n == 0 || err != nil {
				break
			}
		}
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 {
				break
			}
			line := pending[:i]
			pending = pending[i+1:]
			if bytes.Contains(line, []byte(`"type":"`+agent.TypeReady+`"`)) {
				if _, err := agent.ParseReady(line); err != nil {
					return err
				}
				return nil
			}
		}
		if len(pending) > maxLogLine {
			// A line this long is not the agent's Ready line (which
			// starts a line of its own): it is dropped, not kept growing.
			pending = pending[:0]
		}
		if !driverkit.Alive(in.pid) {
			return fmt.Errorf("the sandbox (pid %d) exited before its agent was ready: %s", in.pid, in.logTail())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the agent to be ready: %w (sandbox log: %s)", ctx.Err(), in.logTail())
		case <-timer.C:
		}
		delay = min(2*delay, readyPoll)
		timer.Reset(delay)
	}
}

// Exec runs argv in the sandbox with `<runtime> exec`. A command that ran
// and exited non-zero gives a *driver.ExitError (wrapped); a sandbox that
// is not running gives an error saying so. When ctx ends the command is
// killed (see cancelExec) and Exec returns the context's error.
func (in *instance) Exec(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	if len(argv) == 0 {
		return fmt.Errorf("%s: exec in %s: empty command", in.d.Name(), in.spec.ID)
	}
	in.mu.Lock()
	ph := in.phase
	in.mu.Unlock()
	if ph != driverkit.PhaseRunning {
		return fmt.Errorf("%s: exec %s in %s: the sandbox is %s, not running", in.d.Name(), argv[0], in.spec.ID, ph)
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	pidFile := filepath.Join(in.dir, fmt.Sprintf("exec-%d.pid", in.execs.Add(1)))
	defer os.Remove(pidFile)
	cmd := in.rt.command(ctx, in.rt.execArgs(in.spec.ID, pidFile, argv)...)
	errTail := driverkit.NewTailBuffer(4096)
	cmd.Stdout = stdout
	cmd.Stderr = io.MultiWriter(stderr, errTail)
	cmd.Cancel = func() error { return in.cancelExec(cmd, pidFile) }
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	if err == nil {
		return nil
	}
	what := fmt.Sprintf("%s: exec %s in %s", in.d.Name(), argv[0], in.spec.ID)
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() <= 0 {
		return fmt.Errorf("%s: %w: %s", what, err, driverkit.Tail(errTail.String(), 1000))
	}
	// A runtime that cannot reach the sandbox also exits non-zero: ask it
	// whether the sandbox still runs before blaming the command.
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, exists, serr := in.rt.state(sctx, in.spec.ID)
	// The runtime's word is not enough: runsc still calls a sandbox whose
	// processes were killed "running". The sandbox's first process is the
	// proof.
	initGone := in.initGone()
	if (serr == nil && (!exists || st.Status != "running")) || initGone {
		status := "unknown to the runtime"
		switch {
		case initGone:
			status = fmt.Sprintf("its first process, pid %d, has exited", in.pid)
		case exists:
			status = st.Status
		}
		return fmt.Errorf("%s: the sandbox is not running (%s) (runtime exited %d: %s)", what, status, ee.ExitCode(), driverkit.Tail(errTail.String(), 1000))
	}
	return fmt.Errorf("%s: %w", what, &driver.ExitError{Code: ee.ExitCode(), Stderr: driverkit.Tail(errTail.String(), 1000)})
}

// cancelExec ends a command whose context ended: SIGKILL to the command
// itself (by the pid the runtime wrote), or, before the runtime wrote it,
// SIGTERM to the runtime, which forwards it.
// initGone reports whether the sandbox's first process, as the runtime's
// pid file named it at Start, no longer runs.
func (in *instance) initGone() bool {
	in.mu.Lock()
	pid, start := in.pid, in.pidStart
	in.mu.Unlock()
	if pid <= 0 || start == 0 {
		return false
	}
	now, ok := driverkit.ProcStartTime(pid)
	return !ok || now != start
}

func (in *instance) cancelExec(cmd *exec.Cmd, pidFile string) error {
	b, err := os.ReadFile(pidFile)
	if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := in.rt.killExec(ctx, in.spec.ID, pid); err == nil {
			return nil
		}
	}
	return cmd.Process.Signal(syscall.SIGTERM)
}

// Stop ends the sandbox: SIGTERM to its init, SIGKILL after a grace
// period, and it returns once the init is gone (its process has exited,
// or the runtime says the container stopped). It does not delete the
// container: the runtime keeps its record, in state "stopped", until
// Close deletes it, so that the stop and delete phases of the startup
// workload each time one thing. It is idempotent and does nothing before
// a successful Start.
func (in *instance) Stop(ctx context.Context) error {
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

// stop ends the sandbox's init and records that it is gone.
func (in *instance) stop(ctx context.Context) error {
	id := in.spec.ID
	_, _ = in.rt.run(ctx, "kill", id, "TERM")
	if !in.waitGone(ctx, stopGrace) {
		_, _ = in.rt.run(ctx, "kill", id, "KILL")
		if !in.waitGone(ctx, killWait) {
			return fmt.Errorf("the sandbox (pid %d) still runs %s after SIGKILL", in.pid, killWait)
		}
	}
	in.halted = true
	return nil
}

// deleteStopped is the runtime's delete of a container whose init is
// gone: `delete --force`, one command. A container the runtime no longer
// knows is no error. When it succeeds the runtime has let go, and the
// container step of undo (the hard way: state, kill, delete, kill what is
// left) is not needed; what is left is checked by Close.
func (in *instance) deleteStopped(ctx context.Context) error {
	if _, err := in.rt.run(ctx, "delete", "--force", in.spec.ID); err != nil {
		var re *runError
		if !errors.As(err, &re) || !saysNotExist(re.stderr) {
			return err
		}
	}
	in.container.MarkDone()
	return nil
}

// waitGone waits until the sandbox's init has exited: its process is gone,
// or the runtime says the container stopped (runsc's pid is its sandbox
// process, which outlives the init by a second or more until deleted).
func (in *instance) waitGone(ctx context.Context, limit time.Duration) bool {
	start := time.Now()
	deadline := start.Add(limit)
	delay := time.Millisecond
	var lastState time.Time
	for driverkit.Alive(in.pid) {
		now := time.Now()
		if now.After(deadline) || ctx.Err() != nil {
			return false
		}
		if now.Sub(start) > 50*time.Millisecond && now.Sub(lastState) > 100*time.Millisecond {
			lastState = now
			st, exists, err := in.rt.state(ctx, in.spec.ID)
			if err == nil && (!exists || st.Status == "stopped") {
				return true
			}
		}
		time.Sleep(delay)
		delay = min(2*delay, 20*time.Millisecond)
	}
	// The process is gone; the runtime's word follows (a current runsc
	// names the init's pid, and says "running" for a moment after it
	// exited): the init is gone when the runtime agrees, within the limit.
	for {
		st, exists, err := in.rt.state(ctx, in.spec.ID)
		if err != nil || !exists || st.Status == "stopped" {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return true
		}
		time.Sleep(delay)
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// Close stops the sandbox if it runs, deletes the container (the
// runtime's delete, which Stop leaves to it), undoes everything Create and
// Start made, and checks that nothing of the instance is left on the host. It is
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
		if err := in.stop(ctx); err != nil {
			// The container cleanup step removes it the hard way.
			errs = append(errs, fmt.Errorf("stopping: %w", err))
		}
	}
	if in.halted && !in.container.Done() {
		// The delete phase: the runtime's delete of the stopped container.
		if err := in.deleteStopped(ctx); err != nil {
			// The container cleanup step tries again the hard way.
			errs = append(errs, fmt.Errorf("deleting: %w", err))
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
		in.closeErr = fmt.Errorf("%s: close %s: %w", in.d.Name(), in.spec.ID, errors.Join(errs...))
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
	if _, err := os.Lstat(in.dir); err == nil {
		left = append(left, "directory "+in.dir)
	}
	if _, err := os.Lstat(stateRecords(in.d.env.StateDir).Path(id)); err == nil {
		left = append(left, "state record "+stateRecords(in.d.env.StateDir).Path(id))
	}
	if in.container != nil {
		if _, exists, err := in.rt.state(ctx, id); err != nil || exists {
			left = append(left, in.rt.fl.name+" container "+id)
		}
	}
	for _, d := range cgroupDirs(in.cg.Mounts, id) {
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
