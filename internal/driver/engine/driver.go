package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
)

var (
	_ driver.Driver    = (*Driver)(nil)
	_ driver.Collector = (*Driver)(nil)
	_ io.Closer        = (*Driver)(nil)
)

// Default time limits.
const (
	defaultStartTimeout = 60 * time.Second // a private daemon's start
	defaultProbeTimeout = 60 * time.Second // Probe's test container
)

// Option changes how New builds a Driver.
type Option func(*options)

type options struct {
	socket       string // a daemon socket to use as is; "" chooses
	private      bool   // always use a private daemon
	startTimeout time.Duration
	probeTimeout time.Duration
}

// WithSocket makes the driver use the daemon listening on the unix socket
// at path, as is: it never starts or stops a daemon.
func WithSocket(path string) Option { return func(o *options) { o.socket = path } }

// WithPrivateDaemon makes the driver always use (and start when needed) a
// private daemon under its Env, whatever daemon the host runs. Tests use
// it to measure against a daemon configured the way isobench documents.
func WithPrivateDaemon() Option { return func(o *options) { o.private = true } }

// WithStartTimeout bounds the start of a private daemon (default 60s).
func WithStartTimeout(d time.Duration) Option { return func(o *options) { o.startTimeout = d } }

// WithProbeTimeout bounds Probe's test container (default 60s).
func WithProbeTimeout(d time.Duration) Option { return func(o *options) { o.probeTimeout = d } }

// Driver runs sandboxes as containers of a container engine (Docker, or
// Podman through its Docker-compatible API) with one OCI runtime: the
// engine's default, or the one the variant names.
type Driver struct {
	env     driver.Env
	eng     engine
	l       layout
	variant string
	// hostNet: the variant "hostnet", the engine's default runtime with
	// the host's network namespace for a sandbox made with Spec.Network.
	hostNet bool
	opt     options
	// token names this driver value in the labels of what it makes and in
	// its use of a private daemon.
	token string
	// probes numbers Probe's test containers.
	probes atomic.Int64

	mu     sync.Mutex
	conn   *conn
	images map[string]string // image key -> reference in the engine
	open   map[string]*instance
}

// conn is a driver's connection to a daemon.
type conn struct {
	cli    *client.Client
	socket string
	// daemon is the use of a private daemon; nil for a daemon the user
	// runs, which isobench never stops.
	daemon *daemonHandle
	info   system.Info
	api    string
	rt     runtimeChoice
	// limits are the rlimits containers get explicitly (Podman).
	limits []*container.Ulimit
	me     driverkit.Identity
}

// New returns the driver of an engine ("docker" or "podman") with the OCI
// runtime the variant names ("" for the engine's default). New does not
// look at the host; Probe and Create connect to the daemon, starting a
// private one when none answers and isobench runs as root.
func New(env driver.Env, engineName, variant string, opts ...Option) (*Driver, error) {
	var eng engine
	switch engineName {
	case "docker":
		eng = dockerEngine()
	case "podman":
		eng = podmanEngine()
	default:
		return nil, fmt.Errorf("unknown container engine %q (known: docker, podman)", engineName)
	}
	if env.RunDir == "" || !filepath.IsAbs(env.RunDir) {
		return nil, fmt.Errorf("%s: the run directory must be an absolute path, got %q", eng.name, env.RunDir)
	}
	if env.StateDir == "" || !filepath.IsAbs(env.StateDir) {
		return nil, fmt.Errorf("%s: the state directory must be an absolute path, got %q", eng.name, env.StateDir)
	}
	hostNet := variant == HostNetVariant
	if hostNet {
		variant = ""
	}
	if variant != "" && !validName(variant) {
		return nil, fmt.Errorf("%s: bad runtime name %q (letters, digits, '.', '-' and '_' only)", eng.name, variant)
	}
	o := options{startTimeout: defaultStartTimeout, probeTimeout: defaultProbeTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.startTimeout <= 0 || o.probeTimeout <= 0 {
		return nil, fmt.Errorf("%s: timeouts must be positive", eng.name)
	}
	if o.socket != "" && o.private {
		return nil, fmt.Errorf("%s: WithSocket and WithPrivateDaemon exclude each other", eng.name)
	}
	if o.socket != "" && !filepath.IsAbs(o.socket) {
		return nil, fmt.Errorf("%s: socket path must be absolute, got %q", eng.name, o.socket)
	}
	token, err := newToken()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", eng.name, err)
	}
	key := eng.name
	if eng.servicePerRuntime && variant != "" {
		key += "-" + variant
	}
	return &Driver{
		env: env, eng: eng, l: newLayout(env, eng, key), variant: variant, hostNet: hostNet, opt: o, token: token,
		images: map[string]string{}, open: map[string]*instance{},
	}, nil
}

// Docker is the driver.Factory of the Docker engine; the variant names a
// runtime registered with the daemon (docker:runsc), "" its default.
func Docker(env driver.Env, variant string) (driver.Driver, error) {
	d, err := New(env, "docker", variant)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Podman is the driver.Factory of Podman; the variant names a runtime
// Podman knows (podman:runsc), "" its default.
func Podman(env driver.Env, variant string) (driver.Driver, error) {
	d, err := New(env, "podman", variant)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// HostNetVariant is the variant of the engine's default runtime whose
// sandboxes made with Spec.Network share the host's network namespace, as
// `docker run --network host` gives them ("docker:hostnet").
const HostNetVariant = "hostnet"

// Name returns the runtime's name: the engine, with the OCI runtime when
// one was asked for ("docker", "docker:runsc"), or with hostnet.
func (d *Driver) Name() string {
	if d.hostNet {
		return d.eng.name + ":" + HostNetVariant
	}
	if d.variant != "" {
		return d.eng.name + ":" + d.variant
	}
	return d.eng.name
}

// Variants lists the OCI runtimes worth probing with this engine (those a
// private daemon registers when installed); only the engine's default
// driver has them.
func (d *Driver) Variants() []string {
	if d.variant != "" || d.hostNet {
		return nil
	}
	var out []string
	for _, r := range knownRuntimes() {
		out = append(out, r.name)
	}
	return out
}

func validName(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != ""
}

// connect returns the driver's connection, making it on first use: the
// daemon at the chosen socket, or a private daemon.
func (d *Driver) connect(ctx context.Context) (*conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		return d.conn, nil
	}
	c, err := d.dial(ctx)
	if err != nil {
		return nil, err
	}
	d.conn = c
	return c, nil
}

func (d *Driver) dial(ctx context.Context) (c *conn, err error) {
	me, err := driverkit.Self()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name(), err)
	}
	socket := d.opt.socket
	switch {
	case socket != "":
		if err := checkSocket(ctx, socket); err != nil {
			return nil, d.socketProblem(err, false)
		}
	case d.opt.private, d.eng.servicePerRuntime && d.variant != "":
		// A shared service cannot run a runtime of our choice.
	default:
		socket = d.eng.socket
		if err := checkSocket(ctx, socket); err != nil {
			var se *socketError
			root := os.Geteuid() == 0
			if !errors.As(err, &se) || se.reason == reasonPermission || !root {
				return nil, d.socketProblem(err, !root)
			}
			socket = "" // start a private one
		}
	}
	var (
		h        *daemonHandle
		plan     servicePlan
		wrappers map[string]wrapper
	)
	if socket == "" {
		if os.Geteuid() != 0 {
			return nil, driver.NotSupported(d.Name(), "a private %s daemon needs root: run isobench as root", d.eng.title)
		}
		var mounts []driverkit.Mount
		if mounts, err = driverkit.ReadMountInfo(); err != nil {
			return nil, fmt.Errorf("%s: %w", d.Name(), err)
		}
		if wrappers, err = writeWrappers(d.l.runtimes, driverkit.Cgroups(mounts).HybridUnified()); err != nil {
			return nil, fmt.Errorf("%s: %w", d.Name(), err)
		}
		var spec daemonSpec
		if spec, plan, err = d.daemonSpec(ctx, wrappers); err != nil {
			return nil, err
		}
		h, err = acquireDaemon(ctx, d.eng, d.l, spec, me, d.token, d.opt.startTimeout)
		if err != nil {
			if errors.Is(err, driver.ErrNotSupported) {
				return nil, err
			}
			return nil, driver.NotSupported(d.Name(), "%v", err)
		}
		socket = h.rec.Socket
		defer func() {
			if err != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), daemonStopGrace+10*time.Second)
				defer cancel()
				if _, rerr := h.release(rctx); rerr != nil {
					err = errors.Join(err, fmt.Errorf("stopping the private daemon: %w", rerr))
				}
			}
		}()
	}
	cli, err := newClient(socket)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name(), err)
	}
	defer func() {
		if err != nil {
			cli.Close()
		}
	}()
	ping, err := cli.Ping(ctx, pingOptions())
	if err != nil {
		return nil, driver.NotSupported(d.Name(), "the %s daemon at %s does not answer: %v", d.eng.title, socket, err)
	}
	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, driver.NotSupported(d.Name(), "the %s daemon at %s answers but not to info: %v", d.eng.title, socket, err)
	}
	c = &conn{cli: cli, socket: socket, daemon: h, info: info.Info, api: ping.APIVersion, me: me}
	if h != nil && d.eng.servicePerRuntime {
		c.rt, err = d.serviceRuntime(ctx, c, plan)
	} else {
		c.rt, err = d.resolveRuntime(ctx, c, wrappers)
	}
	if err != nil {
		return nil, err
	}
	if d.eng.serviceLimits {
		c.limits = serviceLimits(h, socket)
	}
	return c, nil
}

// socketProblem turns a socket error into the reason Probe gives.
func (d *Driver) socketProblem(err error, notRoot bool) error {
	var se *socketError
	if !errors.As(err, &se) {
		return driver.NotSupported(d.Name(), "%v", err)
	}
	switch se.reason {
	case reasonPermission:
		return driver.NotSupported(d.Name(), "permission denied on %s: run isobench as root, or as a user the socket admits", se.path)
	case reasonNoSocket:
		if notRoot {
			return driver.NotSupported(d.Name(), "no %s daemon: no socket at %s; start the daemon, or run isobench as root so that it starts a private one", d.eng.title, se.path)
		}
		return driver.NotSupported(d.Name(), "no %s daemon: no socket at %s", d.eng.title, se.path)
	case reasonNotRunning:
		if notRoot {
			return driver.NotSupported(d.Name(), "the %s daemon is not running: nothing listens on %s; start it, or run isobench as root so that it starts a private one", d.eng.title, se.path)
		}
		return driver.NotSupported(d.Name(), "the %s daemon is not running: nothing listens on %s", d.eng.title, se.path)
	}
	return driver.NotSupported(d.Name(), "cannot connect to the %s daemon at %s: %v", d.eng.title, se.path, se.err)
}

// servicePlan is the runtime a private service per runtime runs (Podman).
type servicePlan struct {
	name    string   // the runtime's name
	args    []string // its flags (--runtime-flag)
	path    string   // its binary when isobench chose it, "" for Podman's
	wrapper *wrapper // the wrapper run instead of it, if any
}

// daemonSpec says how to start this engine's private daemon.
func (d *Driver) daemonSpec(ctx context.Context, wrappers map[string]wrapper) (daemonSpec, servicePlan, error) {
	l := d.l
	switch d.eng.name {
	case "docker":
		// dockerd puts containerd's sockets under its exec root.
		if n := len(filepath.Join(l.execRoot, "containerd", "containerd.sock.ttrpc")); n > maxSocketPath {
			return daemonSpec{}, servicePlan{}, fmt.Errorf("%s: the run directory %s is too long for the private daemon's sockets (%d bytes, at most %d)", d.Name(), d.env.RunDir, n, maxSocketPath)
		}
		return daemonSpec{
			binary: "dockerd",
			args: []string{
				"--data-root", l.dataRoot, "--exec-root", l.execRoot, "--pidfile", l.pidfile,
				"--host", "unix://" + l.socket, "--group", "root", "--config-file", l.config,
				// Its default bridge network is a bridge isobench makes
				// (network below); no iptables rule, no masquerade, and the
				// host's forwarding setting left alone: the host reaches
				// the containers on the bridge directly.
				"--iptables=false", "--ip-masq=false", "--ip-forward=false",
				// Its own namespaces, should it share a system containerd.
				"--containerd-namespace", "isobench", "--containerd-plugins-namespace", "isobench-plugins",
				"--log-level", "warn",
			},
			prepare: func() error {
				b, err := dockerRuntimeConfig(wrappers)
				if err != nil {
					return err
				}
				for _, dir := range []string{l.dataRoot, l.execRoot} {
					if err := os.MkdirAll(dir, 0o710); err != nil {
						return err
					}
				}
				return writeFileAtomic(l.config, append(b, '\n'), 0o600)
			},
			network: func(b bridge) ([]string, error) {
				return []string{"--bridge=" + b.Name}, nil
			},
		}, servicePlan{}, nil
	case "podman":
		known, isKnown := lookupRuntime(d.variant)
		var knownPath string
		if isKnown {
			p, err := runtimeBinary(known.name)
			if err != nil {
				return daemonSpec{}, servicePlan{}, notInstalled(d.Name(), known)
			}
			knownPath = p
		}
		plan := servicePlan{name: d.variant}
		if plan.name == "" {
			name, err := podmanDefaultRuntime(ctx)
			if err != nil {
				return daemonSpec{}, servicePlan{}, driver.NotSupported(d.Name(), "%v", err)
			}
			plan.name = name
		}
		runtime := plan.name
		if knownPath != "" && plan.name == known.name {
			// The binary the direct driver runs (runsc: the one
			// setup --gvisor built, where it exists).
			runtime, plan.path = knownPath, knownPath
		}
		if w, ok := wrappers[plan.name]; ok {
			plan.wrapper = &w
			runtime = w.path
		}
		args := []string{"--log-level=warn", "--runtime", runtime}
		if r, ok := lookupRuntime(plan.name); ok {
			plan.args = runtimeArgs(r, runtime)
			if r.name == "runsc" && flagValue(plan.args, "network") == "" {
				// A Podman container without a network gets a namespace
				// whose lo is down: runsc takes no interface from it, and
				// its sandbox would have no loopback. Service flags hold
				// for every container, so podman:runsc has no network.
				plan.args = append(plan.args, "--network=none")
			}
			for _, a := range plan.args {
				args = append(args, "--runtime-flag", strings.TrimLeft(a, "-"))
			}
		}
		args = append(args, "system", "service", "--time=0", "unix://"+l.socket)
		netDir := filepath.Join(l.run, "network")
		return daemonSpec{binary: "podman", args: args,
			network: func(b bridge) ([]string, error) {
				// Its default network ("podman") from a configuration
				// directory of its own, on the bridge isobench made.
				if err := writePodmanNetwork(netDir, filepath.Join(l.run, "ipam"), b); err != nil {
					return nil, err
				}
				return []string{"--network-config-dir", netDir}, nil
			},
			// The CNI library's cache (its results of each container,
			// removed with the container; the directories stay).
			sideDirs: []string{"/var/lib/cni", "/var/lib/cni/results"},
		}, plan, nil
	}
	return daemonSpec{}, servicePlan{}, fmt.Errorf("no private daemon for %s", d.eng.name)
}

// podmanDefaultRuntime asks podman which OCI runtime it runs by default.
func podmanDefaultRuntime(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "podman", "info", "--format", "{{.Host.OCIRuntime.Name}}").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("podman info: %w: %s", err, driverkit.TailBytes(string(ee.Stderr), 500))
		}
		return "", fmt.Errorf("podman info: %w", err)
	}
	name := strings.TrimSpace(string(out))
	if name == "" || !validName(name) {
		return "", fmt.Errorf("podman info names no usable default runtime (%q)", name)
	}
	return name, nil
}

// serviceRuntime describes the runtime of a private service per runtime.
func (d *Driver) serviceRuntime(ctx context.Context, c *conn, plan servicePlan) (runtimeChoice, error) {
	rc := runtimeChoice{name: plan.name, oci: plan.name, args: plan.args}
	if plan.wrapper != nil {
		rc.path, rc.binary, rc.workaround = plan.wrapper.path, plan.wrapper.binary, plan.wrapper.workaround
	} else if plan.path != "" {
		rc.path, rc.binary = plan.path, plan.path
	} else {
		r := c.info.Runtimes[plan.name]
		bin, err := findBinary(r.Path, plan.name)
		if err != nil {
			return runtimeChoice{}, driver.NotSupported(d.Name(), "runtime %s is known to %s, but %v", plan.name, d.eng.title, err)
		}
		rc.path, rc.binary = bin, bin
	}
	rc.version = runtimeVersion(ctx, rc.binary)
	if rc.oci == "runsc" {
		rc.runsc = runscDefaults(ctx, rc.binary)
	}
	return rc, nil
}

// runtimeChoice is the OCI runtime the driver's containers run with.
type runtimeChoice struct {
	request    string // HostConfig.Runtime: a name, a path, or "" for the default
	name       string // the engine's name for it
	oci        string // runc, crun, runsc, ...
	path       string // what the engine executes
	binary     string // the runtime binary itself
	args       []string
	workaround string
	version    string
	runsc      map[string]string // runsc flag defaults
}

// resolveRuntime finds the runtime the variant names among those the
// daemon has registered, and checks that its binary is installed.
func (d *Driver) resolveRuntime(ctx context.Context, c *conn, wrappers map[string]wrapper) (runtimeChoice, error) {
	name := d.variant
	if name == "" {
		name = c.info.DefaultRuntime
		if name == "" {
			name = "runc"
		}
	}
	var registered []string
	for n := range c.info.Runtimes {
		registered = append(registered, n)
	}
	sort.Strings(registered)
	r, ok := c.info.Runtimes[name]
	if !ok {
		if k, known := lookupRuntime(name); known && c.daemon != nil {
			// A private daemon registers every known runtime installed.
			return runtimeChoice{}, notInstalled(d.Name(), k)
		}
		return runtimeChoice{}, notRegistered(d.eng, name, c.socket, registered)
	}
	rc := runtimeChoice{request: d.variant, name: name, path: r.Path, args: r.Args}
	rc.oci = ociName(r.Path, name)
	if w, ok := wrappers[rc.oci]; ok && r.Path == w.path {
		// A wrapper of this driver, registered in a private dockerd's
		// daemon.json.
		rc.binary, rc.workaround = w.binary, w.workaround
	} else {
		bin, err := findBinary(r.Path, name)
		if err != nil {
			return runtimeChoice{}, driver.NotSupported(d.Name(), "runtime %s is registered with the %s daemon as %q, but %v", name, d.eng.title, r.Path, err)
		}
		rc.binary = bin
		if !filepath.IsAbs(rc.path) {
			rc.path = bin // Docker names its own runc by name
		}
	}
	rc.version = runtimeVersion(ctx, rc.binary)
	if rc.oci == "runsc" {
		rc.runsc = runscDefaults(ctx, rc.binary)
	}
	return rc, nil
}

// findBinary finds the binary an engine runs for a runtime: its registered
// path, else (Podman lists the first of several candidate paths) the base
// name in PATH.
func findBinary(path, name string) (string, error) {
	if path != "" && filepath.IsAbs(path) {
		if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
			return path, nil
		}
	}
	base := name
	if path != "" {
		base = filepath.Base(path)
	}
	p, err := exec.LookPath(base)
	if err != nil {
		return "", fmt.Errorf("%s is not installed", base)
	}
	return abs(p), nil
}

// serviceLimits returns the rlimits of the process serving the API (a
// Podman service), so that containers ask for no more than it may give.
// It returns nil when the server is not a podman process this host shows
// (socket activation: the engine's defaults then apply).
func serviceLimits(h *daemonHandle, socket string) []*container.Ulimit {
	pid := 0
	if h != nil {
		pid = h.rec.Daemon.PID
	} else if p, err := peerPID(socket); err == nil {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p)); err == nil && filepath.Base(exe) == "podman" {
			pid = p
		}
	}
	if pid <= 0 {
		return nil
	}
	var out []*container.Ulimit
	for _, l := range []struct {
		name string
		res  int
	}{{"nofile", rlimitNofile}, {"nproc", rlimitNproc}} {
		soft, hard, err := prlimit(pid, l.res)
		if err != nil {
			return nil
		}
		if soft < 0 || hard < 0 {
			continue // unlimited: the engine's defaults fit
		}
		out = append(out, &container.Ulimit{Name: l.name, Soft: soft, Hard: hard})
	}
	return out
}

// Close ends the driver's use of its daemon: it closes the instances still
// open, and gives up its use of a private daemon, which stops when no
// isobench driver uses it any more. A daemon the user runs is left as it
// is. Close is idempotent; a driver used after Close connects again.
func (d *Driver) Close() error {
	d.mu.Lock()
	c := d.conn
	d.conn = nil
	d.images = map[string]string{}
	var insts []*instance
	for _, in := range d.open {
		insts = append(insts, in)
	}
	d.mu.Unlock()
	var errs []error
	for _, in := range insts {
		if err := in.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if c == nil {
		return errors.Join(errs...)
	}
	c.cli.Close()
	if c.daemon != nil {
		ctx, cancel := context.WithTimeout(context.Background(), daemonStopGrace+30*time.Second)
		defer cancel()
		if _, err := c.daemon.release(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: stopping the private daemon: %w", d.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// Probe connects to the daemon (starting a private one if needed), checks
// that the runtime is registered and installed, and runs a test container
// (a static busybox running `true`) with it.
func (d *Driver) Probe(ctx context.Context) (driver.Info, error) {
	c, err := d.connect(ctx)
	if err != nil {
		return driver.Info{}, err
	}
	info := d.info(c)
	pctx, cancel := context.WithTimeout(ctx, d.opt.probeTimeout)
	defer cancel()
	if err := d.testContainer(pctx, c); err != nil {
		return info, err
	}
	return info, nil
}

// info describes the runtime as connected.
func (d *Driver) info(c *conn) driver.Info {
	rt := c.rt
	daemon := "user"
	if c.daemon != nil {
		daemon = "private"
	}
	f := map[string]string{
		"engine":             d.eng.name,
		"engine_version":     c.info.ServerVersion,
		"api_version":        c.api,
		"daemon":             daemon,
		"socket":             c.socket,
		"oci_runtime":        rt.oci,
		"oci_runtime_binary": rt.binary,
		"storage_driver":     c.info.Driver,
		"cgroup_driver":      c.info.CgroupDriver,
		"cgroup_version":     c.info.CgroupVersion,
	}
	if rt.path != rt.binary {
		f["oci_runtime_path"] = rt.path
	}
	if rt.version != "" {
		f["oci_runtime_version"] = rt.version
	}
	if len(rt.args) > 0 {
		f["runtime_args"] = strings.Join(rt.args, " ")
	}
	if rt.workaround != "" {
		f["cgroup_workaround"] = rt.workaround
	}
	if networkRefusal(rt, d.hostNet) == "" {
		f[driver.FeatureNetwork] = "bridge"
		if d.hostNet {
			f[driver.FeatureNetwork] = netKindHost
		}
	}
	if d.hostNet {
		f["network_mode"] = "host"
	}
	var warnings []string
	if rt.oci == "runsc" {
		platform := flagValue(rt.args, "platform")
		if platform == "" {
			platform = rt.runsc["platform"]
		}
		if platform != "" {
			f["platform"] = platform
		}
		if v := flagValue(rt.args, "overlay2"); v != "" {
			f["overlay2"] = v
		} else if v := rt.runsc["overlay2"]; v != "" {
			f["overlay2"] = v
		}
		if platform == "ptrace" {
			warnings = append(warnings, "gVisor platform ptrace: the slowest gVisor platform; syscall-heavy results overstate gVisor's cost on systrap or kvm")
		}
	}
	if len(c.limits) > 0 {
		var ls []string
		for _, l := range c.limits {
			ls = append(ls, fmt.Sprintf("%s=%d:%d", l.Name, l.Soft, l.Hard))
		}
		f["ulimits"] = strings.Join(ls, " ")
	}
	version := d.eng.title + " " + c.info.ServerVersion
	if rt.version != "" {
		version += "; " + rt.version
	}
	return driver.Info{Name: d.Name(), Version: version, Isolation: isolationOf(rt.oci), Features: f, Warnings: warnings}
}

// flagValue returns the value of --name=value (or -name=value) in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func (d *Driver) track(in *instance) {
	d.mu.Lock()
	d.open[in.spec.ID] = in
	d.mu.Unlock()
}

func (d *Driver) untrack(id string) {
	d.mu.Lock()
	delete(d.open, id)
	d.mu.Unlock()
}

func (d *Driver) isOpen(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.open[id] != nil
}

// newClient returns an API client of the daemon at a unix socket. It
// negotiates the API version with the daemon on first use.
func newClient(socket string) (*client.Client, error) {
	cli, err := client.New(client.WithHost("unix://"+socket), client.WithUserAgent("isobench"))
	if err != nil {
		return nil, fmt.Errorf("making an API client for %s: %w", socket, err)
	}
	return cli, nil
}

func pingOptions() client.PingOptions { return client.PingOptions{NegotiateAPIVersion: true} }
