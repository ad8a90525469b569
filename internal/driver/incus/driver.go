package incus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/image"
)

var (
	_ driver.Driver    = (*Driver)(nil)
	_ driver.Collector = (*Driver)(nil)
	_ io.Closer        = (*Driver)(nil)
)

// Name is the runtime's name. Incus VMs are not a runtime of isobench's
// until it has a VM image for them (a bootable disk with the Incus agent).
const Name = "incus"

// defaultProbeTimeout bounds Probe's test instance.
const defaultProbeTimeout = 60 * time.Second

// Option changes how New builds a Driver.
type Option func(*options)

type options struct {
	socket       string // use the daemon on this socket
	private      bool   // always start a private daemon
	incusd       string
	daemonDir    string
	probeTimeout time.Duration
	observe      func(Request)
}

// WithSocket makes the driver use the Incus daemon listening on socket
// instead of looking for the system's.
func WithSocket(socket string) Option { return func(o *options) { o.socket = socket } }

// WithPrivateDaemon makes the driver start its own daemon even when the
// system's answers.
func WithPrivateDaemon() Option { return func(o *options) { o.private = true } }

// WithIncusd makes the driver start the incusd binary at path.
func WithIncusd(path string) Option { return func(o *options) { o.incusd = path } }

// WithProbeTimeout bounds Probe's test instance (default 60s).
func WithProbeTimeout(d time.Duration) Option { return func(o *options) { o.probeTimeout = d } }

// WithRequestObserver calls observe with every request the driver sends to
// Incus (the contract tests check them against the REST API description).
func WithRequestObserver(observe func(Request)) Option {
	return func(o *options) { o.observe = observe }
}

// Driver makes Incus system containers.
type Driver struct {
	env driver.Env
	opt options

	mu      sync.Mutex
	conn    *conn
	open    driverkit.OpenSet
	imageMu sync.Mutex
	images  map[string]string // image ID -> alias imported by this driver
}

// conn is an established connection to a daemon with a pool to use.
type conn struct {
	c      *client
	d      *daemon
	server serverInfo
	pool   storagePool
}

// New returns the Incus driver of system containers. It has no variants.
// New does not look at the host; Probe does.
func New(env driver.Env, variant string, opts ...Option) (*Driver, error) {
	name := Name
	if variant != "" {
		return nil, fmt.Errorf("%s has no variants, got %q", name, variant)
	}
	if env.RunDir == "" || !filepath.IsAbs(env.RunDir) {
		return nil, fmt.Errorf("%s: the run directory must be an absolute path, got %q", name, env.RunDir)
	}
	if env.StateDir == "" || !filepath.IsAbs(env.StateDir) {
		return nil, fmt.Errorf("%s: the state directory must be an absolute path, got %q", name, env.StateDir)
	}
	o := options{probeTimeout: defaultProbeTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.probeTimeout <= 0 {
		return nil, fmt.Errorf("%s: probe timeout must be positive, got %s", name, o.probeTimeout)
	}
	suffix, err := driverkit.RandomSuffix()
	if err != nil {
		return nil, err
	}
	// Its own directory for each Driver value: drivers probed at once
	// each start theirs.
	o.daemonDir = filepath.Join(env.RunDir, daemonDirPrefix+strconv.Itoa(os.Getpid())+"-"+suffix[:8])
	// The socket path is bounded (108 bytes) by the kernel.
	if len(filepath.Join(o.daemonDir, "unix.socket")) > 100 {
		return nil, fmt.Errorf("%s: the run directory %q is too long for the private daemon's socket", name, env.RunDir)
	}
	return &Driver{env: env, opt: o, images: map[string]string{}}, nil
}

// Factory is the driver.Factory of Incus system containers.
func Factory(env driver.Env, variant string) (driver.Driver, error) {
	d, err := New(env, variant)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Name returns "incus".
func (d *Driver) Name() string { return Name }

// connect finds or starts the daemon, once: the one on the given socket,
// else the system's when it answers, else a private one started here
// with its own directory and dir storage pool.
func (d *Driver) connect(ctx context.Context) (*conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		return d.conn, nil
	}
	if os.Geteuid() != 0 {
		return nil, driver.NotSupported(d.Name(), "needs root: isobench talks to Incus as root on its unix socket")
	}
	var cn *conn
	var err error
	switch {
	case d.opt.socket != "":
		cn, err = d.attach(ctx, d.opt.socket)
	case !d.opt.private && answers(ctx, SystemSocket):
		cn, err = d.attach(ctx, SystemSocket)
	default:
		cn, err = d.startPrivate(ctx)
	}
	if err != nil {
		return nil, err
	}
	d.conn = cn
	return cn, nil
}

// attach uses a daemon isobench did not start.
func (d *Driver) attach(ctx context.Context, socket string) (*conn, error) {
	c := newClient(socket, d.opt.observe)
	cn := &conn{c: c, d: &daemon{socket: socket}}
	if err := c.get(ctx, "/1.0", nil, &cn.server); err != nil {
		c.close()
		return nil, driver.NotSupported(d.Name(), "the Incus daemon on %s does not answer: %v", socket, err)
	}
	p, err := defaultPool(ctx, c)
	if err != nil {
		c.close()
		return nil, driver.NotSupported(d.Name(), "Incus daemon on %s: %v", socket, err)
	}
	cn.pool = p
	return cn, nil
}

// startPrivate starts a daemon of this process in its own directory and
// makes its storage pool.
func (d *Driver) startPrivate(ctx context.Context) (*conn, error) {
	incusd, err := findIncusd(d.opt.incusd)
	if err != nil {
		return nil, driver.NotSupported(d.Name(), "%v", err)
	}
	if err := searchable(filepath.Dir(d.opt.daemonDir)); err != nil {
		return nil, driver.NotSupported(d.Name(), "%v", err)
	}
	dm, err := startDaemon(ctx, incusd, d.opt.daemonDir, d.env.StateDir)
	if err != nil {
		err = fmt.Errorf("%s: starting a private Incus daemon: %w", d.Name(), err)
		if dm != nil {
			if cerr := d.removePrivate(dm); cerr != nil {
				err = errors.Join(err, cerr)
			}
		} else {
			_ = os.Remove(daemonRecordPath(d.env.StateDir, d.opt.daemonDir))
		}
		return nil, driver.NotSupported(d.Name(), "%v", err)
	}
	c := newClient(dm.socket, d.opt.observe)
	cn := &conn{c: c, d: dm}
	fail := func(err error) (*conn, error) {
		c.close()
		if cerr := d.removePrivate(dm); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	if err := c.get(ctx, "/1.0", nil, &cn.server); err != nil {
		return fail(err)
	}
	p, err := ensurePool(ctx, c)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", d.Name(), err))
	}
	cn.pool = p
	return cn, nil
}

// removePrivate stops a private daemon and removes its directory and
// record.
func (d *Driver) removePrivate(dm *daemon) error {
	var errs []error
	if err := dm.stop(); err != nil {
		errs = append(errs, err)
	}
	if _, err := removeDaemonDir(dm.dir); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if err := os.Remove(daemonRecordPath(d.env.StateDir, dm.dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close stops the private daemon this driver started, if any, after
// deleting whatever instances it still holds, and removes its directory.
// A daemon isobench did not start is left running. It is idempotent, and
// a driver used again afterwards connects (or starts a daemon) anew.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cn := d.conn
	d.conn = nil
	d.imageMu.Lock()
	d.images = map[string]string{}
	d.imageMu.Unlock()
	if cn == nil {
		return nil
	}
	defer cn.c.close()
	if !cn.d.private {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	if _, err := deleteAllInstances(ctx, cn.c); err != nil {
		errs = append(errs, err)
	}
	if err := d.removePrivate(cn.d); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: closing the private Incus daemon: %w", d.Name(), errors.Join(errs...))
	}
	return nil
}

// deleteAllInstances force-deletes every instance of a daemon (a private
// daemon's: all are isobench's).
func deleteAllInstances(ctx context.Context, c *client) ([]string, error) {
	var names []string
	if err := c.get(ctx, apiPath("instances"), nil, &names); err != nil {
		return nil, err
	}
	var lines []string
	var errs []error
	for _, u := range names {
		name := u[strings.LastIndexByte(u, '/')+1:]
		if err := forceDelete(ctx, c, name); err != nil {
			errs = append(errs, err)
			continue
		}
		lines = append(lines, "deleted Incus instance "+name)
	}
	return lines, errors.Join(errs...)
}

// forceDelete stops (forcibly) and deletes an instance; one that does not
// exist is not an error. An instance whose start failed may still be
// settling (LXC aborting it): the delete is retried for a few seconds.
func forceDelete(ctx context.Context, c *client, name string) error {
	var last error
	for try := 0; try < 20; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("deleting %s: %w (last: %v)", name, ctx.Err(), last)
			case <-time.After(250 * time.Millisecond):
			}
		}
		_, err := c.doWait(ctx, http.MethodPut, apiPath("instances", name, "state"), nil, map[string]any{"action": "stop", "force": true, "timeout": -1})
		if isNotFound(err) {
			return nil
		}
		_, err = c.doWait(ctx, http.MethodDelete, apiPath("instances", name), nil, nil)
		if err == nil || isNotFound(err) {
			return nil
		}
		last = err
	}
	return fmt.Errorf("deleting %s: %w", name, last)
}

// Probe says whether Incus works here: it reaches (or starts) the daemon,
// then launches a test instance — for containers, a static busybox booting
// with busybox init and writing a mark on its console; for VMs, Incus's
// own answer to creating one is the reason.
func (d *Driver) Probe(ctx context.Context) (driver.Info, error) {
	cn, err := d.connect(ctx)
	if err != nil {
		return driver.Info{}, err
	}
	info := driver.Info{
		Name:      d.Name(),
		Version:   cn.server.Environment.ServerVersion,
		Isolation: driver.IsolationSystem,
		Features: map[string]string{
			"init":           "busybox init",
			"storage":        cn.pool.Driver + " pool " + cn.pool.Name,
			"instance_types": cn.server.Environment.Driver,
			"lxc":            cn.server.Environment.DriverVersion,
		},
	}
	if cn.d.private {
		info.Features["daemon"] = "private (started by isobench)"
	} else {
		info.Features["daemon"] = "the system's, on " + cn.d.socket
	}
	pctx, cancel := context.WithTimeout(ctx, d.opt.probeTimeout)
	defer cancel()
	info.Features["privileged"] = "no (Incus's default: an unprivileged container with an id map)"
	info.Features[driver.FeatureNetwork] = "veth"
	return info, d.probeContainer(pctx, ctx, cn)
}

// imageFor returns the alias of the workload image in the daemon,
// importing it (with the init layer) the first time.
func (d *Driver) imageFor(ctx context.Context, cn *conn, img *image.Image) (string, error) {
	d.imageMu.Lock()
	defer d.imageMu.Unlock()
	alias := imageAlias(img)
	if a, ok := d.images[img.ID]; ok {
		return a, nil
	}
	fp, err := lookupAlias(ctx, cn.c, alias)
	if err != nil {
		return "", err
	}
	if fp == "" {
		layer, err := layerFor(img)
		if err != nil {
			return "", err
		}
		meta := metadataYAML(img, time.Now())
		if _, err := importImage(ctx, cn.c, alias, func(w io.Writer) error { return writeImageTar(w, img, meta, layer) }); err != nil {
			return "", err
		}
	}
	d.images[img.ID] = alias
	return alias, nil
}

// searchable checks that dir and every existing directory above it can be
// searched by other users: an unprivileged container's root user reaches
// its root filesystem, in the daemon's storage pool below dir, through
// them (Incus keeps its own directory 0711 for that).
func searchable(dir string) error {
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s is not searchable by other users (mode %04o): Incus's unprivileged containers could not reach their root filesystems below it; chmod o+x it", p, fi.Mode().Perm())
		}
		if p == "/" {
			return nil
		}
	}
}
