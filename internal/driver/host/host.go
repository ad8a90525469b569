package host

import (
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

	"github.com/isobench/isobench/internal/driver"
)

// Name is the host baseline's runtime name.
const Name = "host"

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
	return driver.Info{Name: Name, Version: kernel, Isolation: driver.IsolationNone}, nil
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
	if spec.Network {
		// The host's own network is not a sandbox network; say so rather
		// than pretend.
		return nil, driver.NotSupported(Name, "the host baseline has no sandbox network (it uses the host's)")
	}
	in := &Instance{
		spec:   spec,
		dir:    filepath.Join(d.env.RunDir, spec.ID),
		record: filepath.Join(d.env.StateDir, spec.ID+".json"),
		procs:  map[*exec.Cmd]struct{}{},
	}
	in.scratch = filepath.Join(in.dir, "scratch")
	rec := record{Driver: Name, ID: spec.ID, Dir: in.dir, Created: time.Now(), PID: os.Getpid()}
	if spec.Scratch == driver.ScratchTmpfs {
		rec.Mount = in.scratch
	}
	if err := writeRecord(in.record, rec); err != nil {
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
}

var _ driver.Instance = (*Instance)(nil)
var _ driver.Scratcher = (*Instance)(nil)

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

// Start implements driver.Instance. There is nothing to start.
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
	return nil
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
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
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
	tail := &tailBuffer{max: 4096}
	cmd.Stdout = stdout
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(stderr, tail)
	} else {
		cmd.Stderr = tail
	}
	if err := cmd.Start(); err != nil {
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

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
