package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
)

var (
	_ driver.Driver    = (*Driver)(nil)
	_ driver.Collector = (*Driver)(nil)
)

// Default time limits.
const (
	// defaultProbeTimeout bounds the test sandbox of Probe.
	defaultProbeTimeout = 30 * time.Second
	// defaultPlatformTimeout bounds each gVisor platform tried before the
	// last one; a platform that hangs (KVM without working nesting) is
	// given up after it.
	defaultPlatformTimeout = 5 * time.Second
)

// Option changes how New builds a Driver.
type Option func(*options)

type options struct {
	binary          string
	probeTimeout    time.Duration
	platformTimeout time.Duration
}

// WithBinary makes the driver run the runtime at path (or, for a bare name,
// the one found in PATH) instead of the one named like the runtime.
func WithBinary(path string) Option { return func(o *options) { o.binary = path } }

// WithProbeTimeout bounds the test sandbox Probe runs (default 30s), and
// each gVisor platform tried before the last (at most 5s).
func WithProbeTimeout(d time.Duration) Option {
	return func(o *options) {
		o.probeTimeout = d
		o.platformTimeout = min(d, defaultPlatformTimeout)
	}
}

// Driver makes sandboxes with one OCI runtime (runc, crun, runsc or youki)
// from bundles on an overlay of the workload image.
type Driver struct {
	env     driver.Env
	fl      flavor
	variant string
	opt     options

	mu  sync.Mutex
	res *resolved // set by the first successful resolve
	// platform is the gVisor platform chosen by probing (variant ""), and
	// tried says how the others failed.
	platform string
	tried    []string
	// open holds the ids of this driver's instances not yet closed; Collect
	// leaves them alone.
	open driverkit.OpenSet
	// netMode is runsc's network mode for sandboxes with a network, found
	// by networkMode, and netNote what results over it must say.
	netMode, netNote string
}

// resolved is what a driver learns about the host once.
type resolved struct {
	binary string
	cg     driverkit.CgroupInfo
	hide   []string // cgroup2 mounts to hide from the runtime (crun, hybrid)
	sh     string
}

// New returns the driver of the named runtime ("runc", "crun", "runsc" or
// "youki"). The variant is the gVisor platform for runsc ("" chooses by
// probing) and must be "" for the others. New does not look at the host;
// Probe does.
func New(env driver.Env, runtimeName, variant string, opts ...Option) (*Driver, error) {
	fl, ok := flavorOf(runtimeName)
	if !ok {
		return nil, fmt.Errorf("unknown OCI runtime %q (known: %s)", runtimeName, strings.Join(Runtimes(), ", "))
	}
	if env.RunDir == "" || !filepath.IsAbs(env.RunDir) {
		return nil, fmt.Errorf("%s: the run directory must be an absolute path, got %q", fl.name, env.RunDir)
	}
	if env.StateDir == "" || !filepath.IsAbs(env.StateDir) {
		return nil, fmt.Errorf("%s: the state directory must be an absolute path, got %q", fl.name, env.StateDir)
	}
	if fl.platforms == nil && variant != "" {
		return nil, fmt.Errorf("%s has no variants, got %q", fl.name, variant)
	}
	if variant != "" && !validName(variant) {
		return nil, fmt.Errorf("%s: bad platform name %q (letters, digits, - and _ only)", fl.name, variant)
	}
	o := options{probeTimeout: defaultProbeTimeout, platformTimeout: defaultPlatformTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.probeTimeout <= 0 {
		return nil, fmt.Errorf("%s: probe timeout must be positive, got %s", fl.name, o.probeTimeout)
	}
	return &Driver{env: env, fl: fl, variant: variant, opt: o}, nil
}

func factory(name string) driver.Factory {
	return func(env driver.Env, variant string) (driver.Driver, error) {
		d, err := New(env, name, variant)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
}

// NewRunc is the driver.Factory of runc; runc has no variants.
func NewRunc(env driver.Env, variant string) (driver.Driver, error) {
	return factory("runc")(env, variant)
}

// NewCrun is the driver.Factory of crun; crun has no variants. On a hybrid
// cgroup host every crun invocation runs in a private mount namespace
// without the cgroup2 mount.
func NewCrun(env driver.Env, variant string) (driver.Driver, error) {
	return factory("crun")(env, variant)
}

// NewRunsc is the driver.Factory of gVisor's runsc. The variant is the
// gVisor platform ("ptrace", "kvm", "systrap", ...); "" chooses the first
// platform that runs a test sandbox here, and the driver keeps the name
// "runsc".
func NewRunsc(env driver.Env, variant string) (driver.Driver, error) {
	return factory("runsc")(env, variant)
}

// NewYouki is the driver.Factory of youki; youki has no variants.
func NewYouki(env driver.Env, variant string) (driver.Driver, error) {
	return factory("youki")(env, variant)
}

// Name returns the runtime's name, with the platform when one was asked
// for (e.g. "runsc:ptrace").
func (d *Driver) Name() string {
	if d.variant != "" {
		return d.fl.name + ":" + d.variant
	}
	return d.fl.name
}

func validName(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

// resolve finds the runtime binary and reads the host's cgroup layout, once.
func (d *Driver) resolve() (*resolved, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.res != nil {
		return d.res, nil
	}
	bin, err := d.findBinary()
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, driver.NotSupported(d.Name(), "needs root: isobench runs %s rootful (found %s)", d.fl.name, bin)
	}
	table, err := driverkit.ReadMountInfo()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name(), err)
	}
	res := &resolved{binary: bin, cg: driverkit.Cgroups(table)}
	if d.fl.hybridWorkaround && res.cg.Layout == driverkit.CgroupHybrid {
		sh, err := exec.LookPath("sh")
		if err != nil {
			return nil, driver.NotSupported(d.Name(), "hybrid cgroup host: %s needs a private mount namespace without cgroup2, made with sh, which is not in PATH", d.fl.name)
		}
		res.sh = sh
		res.hide = append([]string(nil), res.cg.Unified...)
	}
	d.res = res
	return res, nil
}

func (d *Driver) findBinary() (string, error) {
	name := d.opt.binary
	if name == "" {
		name = d.fl.name
		if p, ok := builtRunsc(); ok && name == "runsc" {
			// The current gVisor `isobench setup --gvisor` built.
			return p, nil
		}
	}
	if strings.Contains(name, "/") {
		fi, err := os.Stat(name)
		if err != nil {
			return "", driver.NotSupported(d.Name(), "runtime binary %s: %v; %s", name, errors.Unwrap(err), d.fl.install)
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", driver.NotSupported(d.Name(), "runtime binary %s is not an executable file", name)
		}
		return filepath.Abs(name)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", driver.NotSupported(d.Name(), "binary %s not found in PATH; %s", name, d.fl.install)
	}
	return filepath.Abs(p)
}

// runtimeFor returns the runtime invocation of one sandbox, with a
// network (in gVisor's own stack) or without.
func (d *Driver) runtimeFor(res *resolved, platform string, network bool) runtime {
	mode := netNone
	if network {
		mode = netSandbox
	}
	return d.runtimeWith(res, platform, mode)
}

// gVisor network modes (runsc's --network).
const (
	netNone    = "none"    // no network: only loopback
	netSandbox = "sandbox" // gVisor's own stack (netstack) on the namespace's devices
	netHost    = "host"    // the host kernel's stack (hostinet) of the namespace the sandbox joins
)

// runtimeWith returns the runtime invocation of one sandbox with a gVisor
// network mode (ignored by runtimes other than runsc).
func (d *Driver) runtimeWith(res *resolved, platform, netMode string) runtime {
	rt := runtime{fl: d.fl, binary: res.binary, hide: res.hide, sh: res.sh}
	if d.fl.platforms != nil {
		if platform != "" {
			rt.globals = append(rt.globals, "--platform="+platform)
		}
		rt.globals = append(rt.globals, "--network="+netMode)
	}
	return rt
}

// networkMode returns how runsc gives a sandbox its network, trying once
// per driver: gVisor's own stack (netstack, "sandbox"), the default and
// what gVisor users run, where a test sandbox with a link starts; else the
// host kernel's stack in the sandbox's namespace ("host", hostinet), with
// a note saying why, which every network result carries. (runsc releases
// of 2022 refuse netstack on kernels whose every network namespace has
// /proc/sys/net/core/rmem_default, taking each for the root namespace.)
func (d *Driver) networkMode(ctx context.Context, res *resolved, platform string) (mode, note string, err error) {
	if d.fl.platforms == nil {
		return "", "", nil
	}
	d.mu.Lock()
	mode, note = d.netMode, d.netNote
	d.mu.Unlock()
	if mode != "" {
		return mode, note, nil
	}
	errSandbox := d.trySandboxNet(ctx, res, platform, netSandbox, d.opt.probeTimeout)
	switch {
	case errSandbox == nil:
		mode, note = netSandbox, "gVisor netstack (runsc --network=sandbox)"
	case ctx.Err() != nil:
		return "", "", fmt.Errorf("%s: trying its network: %w", d.Name(), ctx.Err())
	default:
		if err := d.trySandboxNet(ctx, res, platform, netHost, d.opt.probeTimeout); err != nil {
			return "", "", driver.NotSupported(d.Name(), "no network mode works here: netstack: %v; hostinet: %v", errSandbox, err)
		}
		var ns *driver.NotSupportedError
		reason := errSandbox.Error()
		if errors.As(errSandbox, &ns) {
			reason = ns.Reason
		}
		mode, note = netHost, "gVisor hostinet (runsc --network=host in the sandbox's own namespace: the host kernel's network stack, not gVisor's), because netstack does not start here: "+driverkit.Clip(reason, 300)
	}
	d.mu.Lock()
	d.netMode, d.netNote = mode, note
	d.mu.Unlock()
	return mode, note, nil
}

// chosenPlatform returns the gVisor platform to run sandboxes on: the
// variant, or the one probing chose (probing now if it has not run).
func (d *Driver) chosenPlatform(ctx context.Context, res *resolved) (string, error) {
	if d.fl.platforms == nil {
		return "", nil
	}
	if d.variant != "" {
		return d.variant, nil
	}
	d.mu.Lock()
	p := d.platform
	d.mu.Unlock()
	if p != "" {
		return p, nil
	}
	return d.selectPlatform(ctx, res)
}

// Probe says whether the runtime works here by running a test sandbox (a
// static busybox running `true`). For runsc without a variant it tries the
// known platforms in order and keeps the first that works.
func (d *Driver) Probe(ctx context.Context) (driver.Info, error) {
	res, err := d.resolve()
	if err != nil {
		return driver.Info{}, err
	}
	rt := d.runtimeFor(res, "", false)
	version, err := rt.version(ctx)
	if err != nil {
		return driver.Info{}, driver.NotSupported(d.Name(), "cannot tell its version: %v", err)
	}
	info := driver.Info{
		Name:      d.Name(),
		Version:   version,
		Isolation: d.fl.isolation,
		Features: map[string]string{
			"binary": res.binary,
			"cgroup": res.cg.Layout,
			// Spec.Network gives a veth link (package sandboxnet).
			driver.FeatureNetwork: sandboxnet.KindVeth,
		},
	}
	if len(res.hide) > 0 {
		info.Features["cgroup_workaround"] = "private mount namespace without " + strings.Join(res.hide, ", ")
		info.Warnings = append(info.Warnings, d.fl.name+" runs through a shell in a private mount namespace (hybrid cgroup workaround): its start, exec and stop times include a shell and an unmount")
	}
	switch {
	case d.fl.platforms == nil:
		if err := d.trySandbox(ctx, res, "", d.opt.probeTimeout); err != nil {
			return info, err
		}
	case d.variant != "":
		if err := d.trySandbox(ctx, res, d.variant, d.opt.probeTimeout); err != nil {
			return info, err
		}
		info.Features["platform"] = d.variant
	default:
		p, err := d.selectPlatform(ctx, res)
		if err != nil {
			return info, err
		}
		info.Features["platform"] = p
		d.mu.Lock()
		if len(d.tried) > 0 {
			info.Features["platforms_failed"] = strings.Join(d.tried, "; ")
		}
		d.mu.Unlock()
	}
	if info.Features["platform"] == "ptrace" {
		info.Warnings = append(info.Warnings, "gVisor platform ptrace: the slowest gVisor platform; syscall-heavy results overstate gVisor's cost on systrap or kvm")
	}
	return info, nil
}

// selectPlatform tries the flavor's platforms in order, each bounded, and
// keeps the first that runs a test sandbox.
func (d *Driver) selectPlatform(ctx context.Context, res *resolved) (string, error) {
	var tried []string
	for i, p := range d.fl.platforms {
		timeout := d.opt.platformTimeout
		if i == len(d.fl.platforms)-1 {
			timeout = d.opt.probeTimeout
		}
		err := d.trySandbox(ctx, res, p, timeout)
		if err == nil {
			d.mu.Lock()
			d.platform, d.tried = p, tried
			d.mu.Unlock()
			return p, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("%s: choosing a platform: %w", d.Name(), ctx.Err())
		}
		var ns *driver.NotSupportedError
		if !errors.As(err, &ns) {
			return "", err
		}
		tried = append(tried, p+": "+ns.Reason)
	}
	return "", driver.NotSupported(d.Name(), "no gVisor platform runs a test sandbox here: %s", strings.Join(tried, "; "))
}

// newRecord returns the state record of a sandbox of this driver.
func (d *Driver) newRecord(rt runtime, id, dir string, mounts []string) (record, error) {
	me, err := driverkit.Self()
	if err != nil {
		return record{}, err
	}
	return record{
		Version: recordVersion, Runtime: d.fl.name, Binary: rt.binary, Globals: rt.globals,
		ID: id, Dir: dir, Bundle: dir, Mounts: mounts, Created: time.Now().UTC(),
		OwnerPID: me.PID, OwnerStart: me.Start,
	}, nil
}
