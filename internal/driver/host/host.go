package host

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
	"github.com/isobench/isobench/internal/image"
)

// Name is the host baseline's runtime name.
const Name = "host"

// ErrUntrustedImage is returned by Create for an imported image when the
// driver's environment does not say to trust it (driver.Env.TrustImage):
// the baseline runs the image's programs as root on the host, with no
// isolation at all.
var ErrUntrustedImage = errors.New("the host baseline runs the image's programs as root on this host, with no isolation, and this image was imported, not built by isobench from the host's own tools")

// Driver runs commands on the host itself.
type Driver struct {
	env driver.Env
}

var _ driver.Driver = (*Driver)(nil)
var _ driver.Collector = (*Driver)(nil)

// New is the host driver's factory; it has no variants.
func New(env driver.Env, variant string) (driver.Driver, error) {
	if variant != "" {
		return nil, fmt.Errorf("the host baseline has no variants (got %q)", variant)
	}
	if env.RunDir == "" || env.StateDir == "" {
		return nil, errors.New("host driver: run and state directories must be set")
	}
	return &Driver{env: env}, nil
}

// Name implements driver.Driver.
func (d *Driver) Name() string { return Name }

// Probe implements driver.Driver. The host always works.
func (d *Driver) Probe(ctx context.Context) (driver.Info, error) {
	var uts syscall.Utsname
	kernel := runtime.GOOS
	if syscall.Uname(&uts) == nil {
		kernel = "Linux " + cstring(uts.Release[:])
	}
	// Spec.Network gives a veth link into a namespace of the instance's.
	return driver.Info{Name: Name, Version: kernel, Isolation: driver.IsolationNone,
		Features: map[string]string{driver.FeatureNetwork: sandboxnet.KindVeth}}, nil
}

func cstring(f []int8) string {
	var b strings.Builder
	for _, c := range f {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}

// record is what the driver writes in the state directory before it makes
// anything, so that Collect can remove it after a crash.
type record struct {
	Driver  string    `json:"driver"`
	ID      string    `json:"id"`
	Dir     string    `json:"dir"`
	Mount   string    `json:"mount,omitempty"`
	Created time.Time `json:"created"`
	PID     int       `json:"pid"`
}

// Create implements driver.Driver.
func (d *Driver) Create(ctx context.Context, spec driver.Spec) (driver.Instance, error) {
	if !strings.HasPrefix(spec.ID, driver.IDPrefix) {
		return nil, fmt.Errorf("host: instance id %q lacks the %q prefix", spec.ID, driver.IDPrefix)
	}
	if spec.Image == nil || spec.Image.Rootfs == "" {
		return nil, errors.New("host: spec has no image")
	}
	if !spec.Image.FromHost() && !d.env.TrustImage {
		return nil, fmt.Errorf("host: image %s (%s): %w", spec.Image.ID, spec.Image.Manifest.Source, ErrUntrustedImage)
	}
	if err := validate(spec); err != nil {
		return nil, fmt.Errorf("host: create: %w", err)
	}
	in := &Instance{
		spec:   spec,
		dir:    filepath.Join(d.env.RunDir, spec.ID),
		record: filepath.Join(d.env.StateDir, spec.ID+".json"),
		procs:  map[*exec.Cmd]struct{}{},
	}
	if spec.Network {
		// The baseline of a sandbox network: the same veth link into a
		// namespace of its own, with plain processes on the host kernel
		// behind it (see newLinkedInstance).
		link, err := sandboxnet.NewVeth(ctx, d.env.StateDir, spec.ID)
		if err != nil {
			return nil, fmt.Errorf("host: %w", err)
		}
		in.link = link
	}
	in.scratch = filepath.Join(in.dir, "scratch")
	rec := record{Driver: Name, ID: spec.ID, Dir: in.dir, Created: time.Now(), PID: os.Getpid()}
	if spec.Scratch == driver.ScratchTmpfs {
		rec.Mount = in.scratch
	}
	if err := writeRecord(in.record, rec); err != nil {
		if in.link != nil {
			err = errors.Join(err, in.link.Remove())
		}
		return nil, err
	}
	if err := in.setup(spec.Scratch); err != nil {
		return nil, errors.Join(err, in.Close())
	}
	return in, nil
}

func writeRecord(path string, rec record) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("host: making state directory: %w", err)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("host: writing state record: %w", err)
	}
	return nil
}

// Instance is a scratch directory and the processes run in it.
type Instance struct {
	spec    driver.Spec
	dir     string
	scratch string
	record  string
	mounted bool

	mu      sync.Mutex
	started bool
	stopped bool
	closed  bool
	procs   map[*exec.Cmd]struct{}
	// init is the agent in init mode that stands for the sandbox while it
	// runs (see Start); initDone is closed when it has exited.
	init     *exec.Cmd
	initDone chan struct{}
	timing   driver.StartTiming
	// link is the network of a Spec.Network instance: its commands run in
	// the link's network namespace.
	link *sandboxnet.Link
}

var _ driver.Instance = (*Instance)(nil)
var _ driver.Scratcher = (*Instance)(nil)
var _ driver.StartTimer = (*Instance)(nil)
var _ driver.HostProcesses = (*Instance)(nil)

func (in *Instance) setup(kind string) error {
	if err := os.MkdirAll(in.scratch, 0o755); err != nil {
		return fmt.Errorf("host: making scratch directory: %w", err)
	}
	switch kind {
	case "", driver.ScratchRootfs, driver.ScratchVolume:
		// On the host both are the host filesystem the run directory is on.
	case driver.ScratchTmpfs:
		if err := syscall.Mount("tmpfs", in.scratch, "tmpfs", 0, "mode=0755"); err != nil {
			return fmt.Errorf("host: mounting tmpfs scratch at %s: %w", in.scratch, err)
		}
		in.mounted = true
	default:
		return fmt.Errorf("host: unknown scratch kind %q", kind)
	}
	return nil
}

// ScratchDir implements driver.Scratcher.
func (in *Instance) ScratchDir() string { return in.scratch }

// Start implements driver.Instance: it starts the image's agent in init
// mode as a plain host process and waits, within ctx, for its Ready line,
// as every sandbox's start ends. That process stands for the sandbox (its
// host process for density, its start for startup) until Stop.
func (in *Instance) Start(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.started {
		return errors.New("host: instance already started")
	}
	if in.closed || in.stopped {
		return errors.New("host: instance already stopped")
	}
	in.started = true
	begin := time.Now()
	cmd := in.command(context.Background(), []string{image.AgentPath, "init"})
	// The agent outlives ctx, which bounds the start only; if isobench
	// dies it goes too (and gc kills what has its cwd in the instance).
	cmd.Cancel, cmd.WaitDelay = nil, 0
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("host: start: %w", err)
	}
	tail := driverkit.NewTailBuffer(2048)
	cmd.Stderr = tail
	if err := in.startCmd(cmd); err != nil {
		in.stopped = true
		return fmt.Errorf("host: start: running the agent: %w", err)
	}
	launched := time.Now()
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	in.init, in.initDone = cmd, done
	line := make(chan []byte, 1)
	go func() {
		b, _ := bufio.NewReaderSize(out, 4096).ReadSlice('\n')
		line <- append([]byte(nil), b...)
	}()
	var readyErr error
	select {
	case b := <-line:
		if len(b) == 0 {
			// The agent closed its stdout: it exited, or soon will.
			select {
			case <-done:
			case <-time.After(time.Second):
			}
			readyErr = fmt.Errorf("the agent exited before it was ready: %s", strings.TrimSpace(tail.String()))
		} else if _, err := agent.ParseReady(b); err != nil {
			readyErr = err
		}
	case <-ctx.Done():
		readyErr = fmt.Errorf("waiting for the agent to be ready: %w", ctx.Err())
	}
	if readyErr != nil {
		in.stopInit(0)
		in.stopped = true
		return fmt.Errorf("host: start: %w", readyErr)
	}
	in.timing = driver.StartTiming{Begin: begin, Launched: launched, Ready: time.Now()}
	return nil
}

// stopInit ends the agent of Start: SIGTERM, then SIGKILL to its process
// group after grace. The caller holds in.mu.
func (in *Instance) stopInit(grace time.Duration) {
	if in.init == nil {
		return
	}
	pid := in.init.Process.Pid
	select {
	case <-in.initDone:
		return
	default:
	}
	if grace > 0 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-in.initDone:
			return
		case <-time.After(grace):
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-in.initDone
}

// StartTiming implements driver.StartTimer: Launched is when the agent's
// process was started (fork and exec returned), Ready when its Ready line
// was read from its stdout.
func (in *Instance) StartTiming() (driver.StartTiming, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.timing, !in.timing.Ready.IsZero()
}

// HostPIDs implements driver.HostProcesses: the agent of Start and the
// commands Exec runs, while the instance runs.
func (in *Instance) HostPIDs() []int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.init == nil || in.stopped {
		return nil
	}
	var pids []int
	select {
	case <-in.initDone:
	default:
		pids = append(pids, in.init.Process.Pid)
	}
	for cmd := range in.procs {
		if cmd.Process != nil {
			pids = append(pids, cmd.Process.Pid)
		}
	}
	return pids
}

// command resolves argv against the image: an absolute path that exists in
// the image's rootfs runs from there, and the image's directories come first
// in PATH and the library path.
func (in *Instance) command(ctx context.Context, argv []string) *exec.Cmd {
	root := in.spec.Image.Rootfs
	name := argv[0]
	if filepath.IsAbs(name) {
		if _, err := os.Lstat(filepath.Join(root, name)); err == nil {
			name = filepath.Join(root, name)
		}
	}
	cmd := exec.CommandContext(ctx, name, argv[1:]...)
	var path []string
	for _, d := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		path = append(path, filepath.Join(root, d))
	}
	var libs []string
	for _, d := range in.spec.Image.Manifest.LibraryDirs {
		libs = append(libs, filepath.Join(root, d))
	}
	cmd.Env = []string{
		"PATH=" + strings.Join(path, ":"),
		"HOME=" + in.scratch,
		"TMPDIR=" + in.scratch,
	}
	if len(libs) > 0 {
		cmd.Env = append(cmd.Env, "LD_LIBRARY_PATH="+strings.Join(libs, ":"))
	}
	cmd.Dir = in.scratch
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// SIGTERM first: the agent then kills the process group of the
	// command it runs, which SIGKILL to its own group would not reach;
	// WaitDelay kills what still runs after it.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Exec implements driver.Instance.
func (in *Instance) Exec(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	if len(argv) == 0 {
		return errors.New("host: exec: empty command")
	}
	in.mu.Lock()
	if !in.started || in.stopped {
		in.mu.Unlock()
		return errors.New("host: exec: instance is not running")
	}
	cmd := in.command(ctx, argv)
	tail := driverkit.NewTailBuffer(4096)
	cmd.Stdout = stdout
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(stderr, tail)
	} else {
		cmd.Stderr = tail
	}
	if err := in.startCmd(cmd); err != nil {
		in.mu.Unlock()
		return fmt.Errorf("host: exec %s: %w", argv[0], err)
	}
	in.procs[cmd] = struct{}{}
	in.mu.Unlock()

	err := cmd.Wait()
	in.mu.Lock()
	delete(in.procs, cmd)
	in.mu.Unlock()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return &driver.ExitError{Code: ee.ExitCode(), Stderr: tail.String()}
	}
	if err != nil {
		return fmt.Errorf("host: exec %s: %w", argv[0], err)
	}
	return nil
}

// Stop implements driver.Instance: it kills every command still running.
func (in *Instance) Stop(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stopped = true
	for cmd := range in.procs {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	in.stopInit(3 * time.Second)
	return nil
}

// Close implements driver.Instance.
func (in *Instance) Close() error {
	_ = in.Stop(context.Background())
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return nil
	}
	in.closed = true
	var errs []error
	if in.mounted {
		if err := syscall.Unmount(in.scratch, syscall.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("host: unmounting %s: %w", in.scratch, err))
		}
	}
	if err := os.RemoveAll(in.dir); err != nil {
		errs = append(errs, fmt.Errorf("host: removing %s: %w", in.dir, err))
	}
	if in.link != nil {
		if err := in.link.Remove(); err != nil {
			errs = append(errs, fmt.Errorf("host: %w", err))
		}
	}
	if len(errs) == 0 {
		if err := os.Remove(in.record); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("host: removing state record: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Collect implements driver.Collector: it removes what host instances of
// dead isobench processes left (their scratch mounts and directories).
func (d *Driver) Collect(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(d.env.StateDir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("host: reading state directory: %w", err)
	}
	var done []string
	var errs []error
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), driver.IDPrefix) || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(d.env.StateDir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var rec record
		if json.Unmarshal(b, &rec) != nil || rec.Driver != Name {
			continue
		}
		if rec.PID != os.Getpid() && processAlive(rec.PID) {
			continue // its owner still runs
		}
		if rec.Dir != "" && strings.Contains(rec.Dir, rec.ID) {
			lines, err := killProcsIn(rec.Dir)
			done = append(done, lines...)
			if err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if rec.Mount != "" {
			if err := syscall.Unmount(rec.Mount, syscall.MNT_DETACH); err == nil {
				done = append(done, "host: unmounted "+rec.Mount)
			}
		}
		if rec.Dir != "" && strings.Contains(rec.Dir, rec.ID) {
			if _, err := os.Stat(rec.Dir); err == nil {
				if err := os.RemoveAll(rec.Dir); err != nil {
					errs = append(errs, err)
					continue
				}
				done = append(done, "host: removed "+rec.Dir)
			}
		}
		if err := os.Remove(path); err != nil {
			errs = append(errs, err)
		}
	}
	// The networks of dead owners' instances, now that their processes
	// are gone.
	lines, err := sandboxnet.Collect(ctx, d.env.StateDir)
	done = append(done, lines...)
	if err != nil {
		errs = append(errs, err)
	}
	return done, errors.Join(errs...)
}

// processAlive reports whether a process with the pid exists.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
