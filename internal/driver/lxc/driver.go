package lxc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
)

var (
	_ driver.Driver    = (*Driver)(nil)
	_ driver.Collector = (*Driver)(nil)
)

// Name is the runtime's name.
const Name = "lxc"

// defaultProbeTimeout bounds the test container of Probe.
const defaultProbeTimeout = 30 * time.Second

// commonConfigs are where distributions keep LXC's common container
// configuration (the one its templates include), tried in order.
var commonConfigs = [...]string{
	"/usr/share/lxc/config/common.conf",
	"/usr/local/share/lxc/config/common.conf",
}

// Option changes how New builds a Driver.
type Option func(*options)

type options struct {
	binDir       string
	lxcpath      string
	probeTimeout time.Duration
}

// WithBinDir makes the driver run the lxc-* tools found in dir instead of
// those in PATH.
func WithBinDir(dir string) Option { return func(o *options) { o.binDir = dir } }

// WithLXCPath makes the driver define its containers in dir instead of
// LXC's default path (lxc-config lxc.lxcpath), where `lxc-ls` shows them.
func WithLXCPath(dir string) Option { return func(o *options) { o.lxcpath = dir } }

// WithProbeTimeout bounds the test container Probe runs (default 30s).
func WithProbeTimeout(d time.Duration) Option { return func(o *options) { o.probeTimeout = d } }

// Driver makes system containers with the LXC tools.
type Driver struct {
	env driver.Env
	opt options

	mu  sync.Mutex
	res *resolved
	// open holds the ids of this driver's instances not yet closed;
	// Collect leaves them alone.
	open driverkit.OpenSet
}

// resolved is what a driver learns about the host once.
type resolved struct {
	tools    tools
	version  string
	includes []string
	cgroup   string   // layout
	cgMounts []string // every cgroup mount point
}

// New returns the LXC driver. It has no variants. New does not look at the
// host; Probe does.
func New(env driver.Env, variant string, opts ...Option) (*Driver, error) {
	if variant != "" {
		return nil, fmt.Errorf("%s has no variants, got %q", Name, variant)
	}
	if env.RunDir == "" || !filepath.IsAbs(env.RunDir) || !safeValue(env.RunDir) {
		return nil, fmt.Errorf("%s: the run directory must be an absolute path without whitespace, got %q", Name, env.RunDir)
	}
	if env.StateDir == "" || !filepath.IsAbs(env.StateDir) {
		return nil, fmt.Errorf("%s: the state directory must be an absolute path, got %q", Name, env.StateDir)
	}
	o := options{probeTimeout: defaultProbeTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.probeTimeout <= 0 {
		return nil, fmt.Errorf("%s: probe timeout must be positive, got %s", Name, o.probeTimeout)
	}
	if o.lxcpath != "" && (!filepath.IsAbs(o.lxcpath) || !safeValue(o.lxcpath)) {
		return nil, fmt.Errorf("%s: the LXC path must be absolute, without whitespace, got %q", Name, o.lxcpath)
	}
	return &Driver{env: env, opt: o}, nil
}

// Factory is the driver.Factory of LXC.
func Factory(env driver.Env, variant string) (driver.Driver, error) {
	d, err := New(env, variant)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Name returns "lxc".
func (d *Driver) Name() string { return Name }

// tools runs the lxc-* programs on one LXC path.
type tools struct {
	start, attach, stop, info, ls string
	lxcpath                       string
}

// command returns the command running an LXC tool on the driver's LXC path
// from the root directory (lxc-attach takes its working directory into the
// container).
func (t tools) command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, append([]string{"-P", t.lxcpath}, args...)...)
	cmd.Dir = "/"
	cmd.WaitDelay = waitDelay
	return cmd
}

// run runs an LXC tool and returns its stdout; a failure carries stderr.
func (t tools) run(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := t.command(ctx, bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), &toolError{cmd: filepath.Base(bin) + " " + strings.Join(args, " "), err: err, stderr: errOut.String()}
	}
	return out.String(), nil
}

// toolError is a failed run of an LXC tool.
type toolError struct {
	cmd    string
	err    error
	stderr string
}

func (e *toolError) Error() string {
	if s := strings.TrimSpace(e.stderr); s != "" {
		return fmt.Sprintf("%s: %v: %s", e.cmd, e.err, driverkit.Tail(s, 1000))
	}
	return fmt.Sprintf("%s: %v", e.cmd, e.err)
}

func (e *toolError) Unwrap() error { return e.err }

// state returns the container's state as lxc-info says it (RUNNING,
// STOPPED, ...); exists is false when LXC does not know the container.
func (t tools) state(ctx context.Context, name string) (state string, exists bool, err error) {
	out, err := t.run(ctx, t.info, "-n", name, "-s", "-H")
	if err != nil {
		var te *toolError
		if errors.As(err, &te) && strings.Contains(te.stderr, "doesn't exist") {
			return "", false, nil
		}
		return "", false, err
	}
	return strings.TrimSpace(out), true, nil
}

// initPID returns the host pid of the container's init; 0 when it does not
// run.
func (t tools) initPID(ctx context.Context, name string) (int, error) {
	out, err := t.run(ctx, t.info, "-n", name, "-p", "-H")
	if err != nil {
		return 0, err
	}
	var pid int
	if _, err := fmt.Sscan(strings.TrimSpace(out), &pid); err != nil {
		return 0, nil
	}
	return pid, nil
}

// list returns the names of the containers on the LXC path.
func (t tools) list(ctx context.Context) ([]string, error) {
	out, err := t.run(ctx, t.ls, "-1")
	if err != nil {
		return nil, err
	}
	return strings.Fields(out), nil
}

// resolve finds the tools, the LXC path, the configuration to include and
// the cgroup layout, once.
func (d *Driver) resolve(ctx context.Context) (*resolved, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.res != nil {
		return d.res, nil
	}
	var t tools
	for _, x := range []struct {
		name string
		dst  *string
	}{{"lxc-start", &t.start}, {"lxc-attach", &t.attach}, {"lxc-stop", &t.stop}, {"lxc-info", &t.info}, {"lxc-ls", &t.ls}} {
		p, err := d.findTool(x.name)
		if err != nil {
			return nil, err
		}
		*x.dst = p
	}
	if os.Geteuid() != 0 {
		return nil, driver.NotSupported(Name, "needs root: isobench runs LXC containers as root (privileged, as lxc-create makes them)")
	}
	config := filepath.Join(filepath.Dir(t.start), "lxc-config")
	if d.opt.binDir == "" {
		if p, err := exec.LookPath("lxc-config"); err == nil {
			config = p
		}
	}
	lookup := func(key string) (string, error) {
		out, err := exec.CommandContext(ctx, config, key).Output()
		if err != nil {
			return "", fmt.Errorf("%s %s: %w", config, key, err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	t.lxcpath = d.opt.lxcpath
	if t.lxcpath == "" {
		p, err := lookup("lxc.lxcpath")
		if err != nil {
			return nil, driver.NotSupported(Name, "cannot find LXC's container path: %v", err)
		}
		if !filepath.IsAbs(p) || !safeValue(p) {
			return nil, driver.NotSupported(Name, "LXC's container path %q is not an absolute path without whitespace", p)
		}
		t.lxcpath = p
	}
	res := &resolved{tools: t}
	out, err := exec.CommandContext(ctx, t.start, "--version").Output()
	if err != nil {
		return nil, driver.NotSupported(Name, "%s --version: %v", t.start, err)
	}
	res.version = strings.TrimSpace(string(out))
	// The container starts from the distribution's defaults, as one made
	// by lxc-create does.
	if p, err := lookup("lxc.default_config"); err == nil && filepath.IsAbs(p) && safeValue(p) {
		if _, err := os.Stat(p); err == nil {
			res.includes = append(res.includes, p)
		}
	}
	for _, p := range commonConfigs {
		if _, err := os.Stat(p); err == nil {
			res.includes = append(res.includes, p)
			break
		}
	}
	table, err := driverkit.ReadMountInfo()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	cg := driverkit.Cgroups(table)
	res.cgroup, res.cgMounts = cg.Layout, cg.Mounts
	d.res = res
	return res, nil
}

func (d *Driver) findTool(name string) (string, error) {
	if d.opt.binDir != "" {
		p := filepath.Join(d.opt.binDir, name)
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", driver.NotSupported(Name, "%s is not an executable file", p)
		}
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", driver.NotSupported(Name, "%s not found in PATH; isobench setup installs it (package lxc)", name)
	}
	return p, nil
}

// Probe says whether LXC works here by starting a test container (a static
// busybox as init, echoing a mark on the console) with a timeout.
func (d *Driver) Probe(ctx context.Context) (driver.Info, error) {
	res, err := d.resolve(ctx)
	if err != nil {
		return driver.Info{}, err
	}
	info := driver.Info{
		Name:      Name,
		Version:   res.version,
		Isolation: driver.IsolationSystem,
		Features: map[string]string{
			"init":       "busybox init",
			"lxcpath":    res.tools.lxcpath,
			"cgroup":     res.cgroup,
			"privileged": "yes",
			"rootfs":     "overlayfs over the image",
			// Spec.Network: a veth link whose namespace the container joins.
			driver.FeatureNetwork: sandboxnet.KindVeth,
		},
	}
	if len(res.includes) > 0 {
		info.Features["config"] = strings.Join(res.includes, ", ")
	} else {
		info.Warnings = append(info.Warnings, "LXC's common container configuration (common.conf) was not found: containers run without the distribution's defaults (capabilities dropped, device rules, seccomp)")
	}
	if err := d.tryContainer(ctx, res); err != nil {
		return info, err
	}
	return info, nil
}

// killTree sends SIGKILL to pid and every process below it.
func killTree(pid int) {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var p int
		if _, err := fmt.Sscan(e.Name(), &p); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		var ppid int
		if len(f) > 1 {
			fmt.Sscan(f[1], &ppid)
		}
		children[ppid] = append(children[ppid], p)
	}
	var kill func(p int, depth int)
	kill = func(p int, depth int) {
		if depth > 64 {
			return
		}
		_ = syscall.Kill(p, syscall.SIGKILL)
		for _, c := range children[p] {
			kill(c, depth+1)
		}
	}
	kill(pid, 0)
}
