package incus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/lxc/sysinit"
	"github.com/isobench/isobench/internal/image"
)

var (
	_ driver.Instance   = (*instance)(nil)
	_ driver.StartTimer = (*instance)(nil)
)

const (
	// stopTimeout is how long Stop lets busybox init shut down (SIGPWR)
	// before the instance is stopped by force.
	stopTimeout = 10 * time.Second
	// closeTimeout bounds everything Close does.
	closeTimeout = 2 * time.Minute
	maxIDLen     = 63
	cpuPeriod    = 100 // ms, for limits.cpu.allowance
)

// Configuration keys isobench puts on what it makes in Incus.
const (
	keyOwner  = "user.isobench.owner"   // "<pid>:<start ticks>"
	keyRunDir = "user.isobench.run-dir" // the RunDir of the isobench environment
	keyLabel  = "user.isobench.label."
)

// instance is one Incus instance.
type instance struct {
	d    *Driver
	cn   *conn
	spec driver.Spec
	vol  string // custom volume name for volume scratch, or ""

	// link is the sandbox's network link (Spec.Network), linkUp once
	// Start addressed it.
	link   *link
	linkUp bool

	mu       sync.Mutex
	phase    driverkit.Phase
	timing   driver.StartTiming
	closeErr error
}

// layerFor returns the init layer for an image.
func layerFor(img *image.Image) ([]sysinit.File, error) {
	return sysinit.Layer(img.Rootfs)
}

func validateSpec(s driver.Spec) error {
	err := driverkit.ValidateSpec(s, driverkit.SpecRules{MaxIDLen: maxIDLen, CheckID: checkIncusName})
	if err != nil {
		return err
	}
	for k, v := range s.Labels {
		if k == "" || strings.ContainsAny(k, " \t\n\r") || strings.ContainsAny(v, "\n\r") {
			return fmt.Errorf("label %q=%q: keys must be non-empty without whitespace, values without line breaks", k, v)
		}
	}
	return nil
}

// checkIncusName checks an id as an Incus instance name, which is a host
// name: letters, digits and '-', not last.
func checkIncusName(id string) error {
	for i, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') || (c == '-' && i == len(id)-1) {
			return fmt.Errorf("sandbox id %q: Incus names take letters, digits and inner '-' only", id)
		}
	}
	return nil
}

// owner is the value of keyOwner for this process.
func owner() (string, error) {
	me, err := driverkit.Self()
	if err != nil {
		return "", err
	}
	return me.String(), nil
}

// ownerAlive reports whether the isobench process an owner value names
// still runs; a value that does not parse counts as alive (not isobench's
// to judge).
func ownerAlive(v string) bool {
	id, err := driverkit.ParseIdentity(v)
	return err != nil || id.Alive()
}

// instanceBody is the request that creates a sandbox's instance.
func (d *Driver) instanceBody(spec driver.Spec, alias, pool, vol, own string) map[string]any {
	typ := "container"
	config := map[string]string{keyOwner: own, keyRunDir: d.env.RunDir}
	for k, v := range spec.Labels {
		config[keyLabel+k] = v
	}
	// Busybox init mounts no cgroups: LXC mounts the container's own.
	raw := []string{"lxc.mount.auto = cgroup:mixed:force"}
	devices := map[string]map[string]string{
		"root": {"type": "disk", "path": "/", "pool": pool},
	}
	switch spec.Scratch {
	case driver.ScratchVolume:
		devices["scratch"] = map[string]string{"type": "disk", "path": driver.ScratchPath, "pool": pool, "source": vol}
	case driver.ScratchTmpfs:
		// Incus has no tmpfs device: LXC mounts one.
		raw = append(raw, "lxc.mount.entry = tmpfs "+strings.TrimPrefix(driver.ScratchPath, "/")+" tmpfs nosuid,nodev,mode=1777,create=dir 0 0")
	}
	config["raw.lxc"] = strings.Join(raw, "\n")
	if spec.CPUs > 0 {
		config["limits.cpu.allowance"] = fmt.Sprintf("%dms/%dms", spec.CPUs*cpuPeriod, cpuPeriod)
	}
	if spec.MemoryBytes > 0 {
		config["limits.memory"] = strconv.FormatInt(spec.MemoryBytes, 10) + "B"
	}
	return map[string]any{
		"name":        spec.ID,
		"type":        typ,
		"description": "isobench sandbox",
		"profiles":    []string{},
		"source":      map[string]string{"type": "image", "alias": alias},
		"devices":     devices,
		"config":      config,
	}
}

// Create makes the instance from the workload image (imported into Incus
// with the init layer the first time) on the storage pool, with no
// network device and, for volume scratch, a custom storage volume. Nothing
// runs until Start. On error everything made so far is removed.
func (d *Driver) Create(ctx context.Context, spec driver.Spec) (driver.Instance, error) {
	if err := validateSpec(spec); err != nil {
		return nil, fmt.Errorf("%s: create: %w", d.Name(), err)
	}
	cn, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	own, err := owner()
	if err != nil {
		return nil, err
	}
	in := &instance{d: d, cn: cn, spec: spec}
	if spec.Network {
		if in.link, err = reserveLink(d.env.StateDir, spec.ID); err != nil {
			return nil, fmt.Errorf("%s: create %s: %w", d.Name(), spec.ID, err)
		}
	}
	if err := in.create(ctx, own); err != nil {
		if cerr := in.remove(context.WithoutCancel(ctx)); cerr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up: %w", cerr))
		}
		return nil, fmt.Errorf("%s: create %s: %w", d.Name(), spec.ID, err)
	}
	d.open.Add(spec.ID)
	return in, nil
}

func (in *instance) create(ctx context.Context, own string) error {
	alias, err := in.d.imageFor(ctx, in.cn, in.spec.Image)
	if err != nil {
		return err
	}
	if in.spec.Scratch == driver.ScratchVolume {
		body := map[string]any{
			"name": in.spec.ID, "type": "custom", "content_type": "filesystem",
			"description": "isobench scratch volume",
			"config":      map[string]string{keyOwner: own, keyRunDir: in.d.env.RunDir},
		}
		if _, err := in.cn.c.doWait(ctx, http.MethodPost, apiPath("storage-pools", in.cn.pool.Name, "volumes", "custom"), nil, body); err != nil {
			return fmt.Errorf("making the scratch volume: %w", err)
		}
		in.vol = in.spec.ID
	}
	body := in.d.instanceBody(in.spec, alias, in.cn.pool.Name, in.vol, own)
	if in.link != nil {
		body["devices"].(map[string]map[string]string)["eth0"] = in.link.nic()
	}
	if _, err := in.cn.c.doWait(ctx, http.MethodPost, apiPath("instances"), nil, body); err != nil {
		return err
	}
	return nil
}

// Start starts the instance and waits, within ctx, for the agent's Ready
// line on its console. It may be called once. When it fails, the instance
// is deleted before it returns.
func (in *instance) Start(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase != driverkit.PhaseCreated {
		return fmt.Errorf("%s: start %s: instance is %s; Start may be called once", in.d.Name(), in.spec.ID, in.phase)
	}
	in.timing = driver.StartTiming{Begin: time.Now()}
	err := in.start(ctx)
	if err == nil {
		in.timing.Ready = time.Now()
		in.phase = driverkit.PhaseRunning
		return nil
	}
	in.phase = driverkit.PhaseFailed
	err = fmt.Errorf("%s: start %s: %w", in.d.Name(), in.spec.ID, err)
	if cerr := in.remove(context.WithoutCancel(ctx)); cerr != nil {
		err = errors.Join(err, fmt.Errorf("cleaning up after the failed start: %w", cerr))
	}
	return err
}

func (in *instance) start(ctx context.Context) error {
	c, name := in.cn.c, in.spec.ID
	if _, err := c.doWait(ctx, http.MethodPut, apiPath("instances", name, "state"), nil, map[string]any{"action": "start", "timeout": 30}); err != nil {
		return fmt.Errorf("%w%s", err, in.lxcLog(ctx))
	}
	// The start operation ends once LXC says the container runs.
	in.timing.Launched = time.Now()
	delay := time.Millisecond
	for i := 0; ; i++ {
		console, err := c.getRaw(ctx, apiPath("instances", name, "console"), nil, 1<<20)
		if err != nil {
			return fmt.Errorf("reading the console: %w", err)
		}
		con, err := sysinit.ScanConsole(console)
		if err != nil {
			return err
		}
		switch {
		case con.Ready != nil:
			if in.link != nil {
				pid, err := in.instancePID(ctx)
				if err != nil {
					return err
				}
				if err := in.link.configure(pid); err != nil {
					return err
				}
				in.linkUp = true
			}
			return nil
		case con.Failure != "":
			return fmt.Errorf("the system booted but its init could not start the agent: %s", con.Failure)
		}
		if i%10 == 9 {
			var st struct {
				Status string `json:"status"`
			}
			if err := c.get(ctx, apiPath("instances", name), nil, &st); err != nil {
				return err
			}
			if st.Status != "Running" {
				return fmt.Errorf("the instance is %s before its agent was ready (console: %s)%s", st.Status, driverkit.Clip(string(console), 1000), in.lxcLog(ctx))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the agent to be ready: %w (console: %s)", ctx.Err(), driverkit.Clip(string(console), 1000))
		case <-time.After(delay):
		}
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// lxcLog returns the ERROR lines of the instance's LXC log, for errors.
func (in *instance) lxcLog(ctx context.Context) string {
	b, err := in.cn.c.getRaw(ctx, apiPath("instances", in.spec.ID, "logs", "lxc.log"), nil, 1<<20)
	if err != nil {
		return ""
	}
	return driverkit.LXCLogErrors(b, 6)
}

// StartTiming implements driver.StartTimer: Launched is when Incus's start
// operation ended (the container's init runs), Ready when the agent's
// Ready line was read from the console log, polled through the API at most
// 20ms apart.
func (in *instance) StartTiming() (driver.StartTiming, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.timing.Ready.IsZero() {
		return driver.StartTiming{}, false
	}
	return in.timing, true
}

// Exec runs argv in the instance through Incus's exec API. A command that
// ran and exited non-zero gives a *driver.ExitError (wrapped); an instance
// that is not running gives an error saying so.
func (in *instance) Exec(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	if len(argv) == 0 {
		return fmt.Errorf("%s: exec in %s: empty command", in.d.Name(), in.spec.ID)
	}
	in.mu.Lock()
	ph := in.phase
	in.mu.Unlock()
	what := fmt.Sprintf("%s: exec %s in %s", in.d.Name(), argv[0], in.spec.ID)
	if ph != driverkit.PhaseRunning {
		return fmt.Errorf("%s: the instance is %s, not running", what, ph)
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	errTail := driverkit.NewTailBuffer(4096)
	res, err := in.cn.c.exec(ctx, in.spec.ID, argv, stdout, io.MultiWriter(stderr, errTail))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if res.Code != 0 {
		return fmt.Errorf("%s: %w", what, &driver.ExitError{Code: res.Code, Stderr: driverkit.Tail(errTail.String(), 1000)})
	}
	return nil
}

// Stop shuts the instance down as `incus stop` does (SIGPWR to busybox
// init), forcing it after stopTimeout. It is idempotent and does nothing
// before a successful Start.
func (in *instance) Stop(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase != driverkit.PhaseRunning {
		return nil
	}
	in.phase = driverkit.PhaseStopped
	c, name := in.cn.c, in.spec.ID
	_, err := c.doWait(ctx, http.MethodPut, apiPath("instances", name, "state"), nil, map[string]any{"action": "stop", "timeout": int(stopTimeout / time.Second)})
	if err == nil {
		return nil
	}
	if _, ferr := c.doWait(ctx, http.MethodPut, apiPath("instances", name, "state"), nil, map[string]any{"action": "stop", "force": true, "timeout": -1}); ferr != nil && !strings.Contains(ferr.Error(), "already stopped") {
		return fmt.Errorf("%s: stop %s: %w", in.d.Name(), name, errors.Join(err, ferr))
	}
	return nil
}

// Close deletes the instance (stopping it by force if it runs) and its
// scratch volume, and checks that Incus no longer has them. It is
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
	if in.phase != driverkit.PhaseFailed {
		if err := in.remove(ctx); err != nil {
			errs = append(errs, err)
		}
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

// remove deletes the instance and its volume, and, in a private daemon,
// what Incus keeps of a deleted instance (its log and runtime directories
// and AppArmor profile).
func (in *instance) remove(ctx context.Context) error {
	var errs []error
	c, name := in.cn.c, in.spec.ID
	if err := forceDelete(ctx, c, name); err != nil {
		errs = append(errs, err)
	}
	if in.vol != "" {
		if _, err := c.doWait(ctx, http.MethodDelete, apiPath("storage-pools", in.cn.pool.Name, "volumes", "custom", in.vol), nil, nil); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting the scratch volume: %w", err))
		}
	}
	if in.cn.d.private {
		if err := tidyInstance(in.cn.d.dir, name); err != nil {
			errs = append(errs, err)
		}
	}
	if in.link != nil && len(errs) == 0 {
		// The instance is gone, and with it the veth Incus made.
		if err := in.link.remove(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tidyInstance removes what Incus 6.0 keeps in its directory of an
// instance it deleted.
func tidyInstance(dir, name string) error {
	var errs []error
	for _, p := range []string{
		filepath.Join(dir, "logs", name),
		filepath.Join(dir, "run", name),
		filepath.Join(dir, "security", "apparmor", "profiles", "incus-"+name),
		filepath.Join(dir, "security", "seccomp", name),
	} {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// leftovers reports anything of the instance Incus or the host still has.
func (in *instance) leftovers(ctx context.Context) error {
	c, name := in.cn.c, in.spec.ID
	var left []string
	if err := c.get(ctx, apiPath("instances", name), nil, nil); err == nil {
		left = append(left, "Incus instance "+name)
	} else if !isNotFound(err) {
		return err
	}
	if in.vol != "" {
		var vols []string
		if err := c.get(ctx, apiPath("storage-pools", in.cn.pool.Name, "volumes", "custom"), nil, &vols); err != nil {
			return err
		}
		for _, v := range vols {
			if strings.HasSuffix(v, "/"+in.vol) {
				left = append(left, "Incus storage volume "+in.vol)
			}
		}
	}
	if table, err := driverkit.ReadMountInfo(); err == nil {
		for _, m := range table {
			if strings.Contains(m.Point, "/"+name) || m.Source == name {
				left = append(left, "mount "+m.Point)
			}
		}
	}
	// The container's LXC monitor exits on its own a moment after the
	// instance is deleted: what still runs is waited for, briefly.
	procs := procsMentioning(name, "")
	for deadline := time.Now().Add(procExitWait); len(procs) > 0 && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(50 * time.Millisecond)
		procs = procsMentioning(name, "")
	}
	for _, p := range procs {
		left = append(left, fmt.Sprintf("process %d (%s)", p.PID, driverkit.Clip(p.Cmdline, 120)))
	}
	if in.link != nil {
		if _, err := net.InterfaceByName(in.link.rec.Device); err == nil {
			left = append(left, "host device "+in.link.rec.Device)
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("left: %s", strings.Join(left, "; "))
	}
	return nil
}

// procExitWait bounds the wait for an instance's last host processes (its
// LXC monitor) to exit after it was deleted.
const procExitWait = 5 * time.Second

// probeContainer launches a test container: a static busybox as init whose
// inittab writes a mark on the console; the image and instance are deleted
// afterwards.
func (d *Driver) probeContainer(ctx, outer context.Context, cn *conn) (err error) {
	bb, err := driverkit.StaticBusybox("the test container")
	if err != nil {
		return driver.NotSupported(d.Name(), "%v", err)
	}
	suffix, err := driverkit.RandomSuffix()
	if err != nil {
		return err
	}
	own, err := owner()
	if err != nil {
		return err
	}
	name := driver.IDPrefix + "probe-" + suffix
	mark := "isobench-probe-ok-" + suffix
	c := cn.c
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(outer), time.Minute)
		defer cancel()
		var errs []error
		if derr := forceDelete(cctx, c, name); derr != nil {
			errs = append(errs, derr)
		}
		if cn.d.private {
			if derr := tidyInstance(cn.d.dir, name); derr != nil {
				errs = append(errs, derr)
			}
		}
		if fp, _ := lookupAlias(cctx, c, name); fp != "" {
			if _, derr := c.doWait(cctx, http.MethodDelete, apiPath("images", fp), nil, nil); derr != nil {
				errs = append(errs, derr)
			}
		}
		if len(errs) > 0 {
			err = errors.Join(err, fmt.Errorf("%s: cleaning up the test instance %s: %w", d.Name(), name, errors.Join(errs...)))
		}
	}()
	write := func(w io.Writer) error { return writeProbeTar(w, bb, mark) }
	if _, err := importImage(ctx, c, name, write); err != nil {
		return d.probeFailure(ctx, outer, err)
	}
	body := map[string]any{
		"name": name, "type": "container", "profiles": []string{},
		"source":  map[string]string{"type": "image", "alias": name},
		"devices": map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": cn.pool.Name}},
		"config":  map[string]string{keyOwner: own, keyRunDir: d.env.RunDir},
	}
	if _, err := c.doWait(ctx, http.MethodPost, apiPath("instances"), nil, body); err != nil {
		return d.probeFailure(ctx, outer, err)
	}
	if _, err := c.doWait(ctx, http.MethodPut, apiPath("instances", name, "state"), nil, map[string]any{"action": "start", "timeout": 30}); err != nil {
		probe := instance{d: d, cn: cn, spec: driver.Spec{ID: name}}
		return d.probeFailure(ctx, outer, fmt.Errorf("%w%s", err, probe.lxcLog(ctx)))
	}
	for {
		b, err := c.getRaw(ctx, apiPath("instances", name, "console"), nil, 1<<20)
		if err != nil {
			return d.probeFailure(ctx, outer, err)
		}
		if strings.Contains(string(b), mark) {
			return nil
		}
		select {
		case <-ctx.Done():
			return d.probeFailure(ctx, outer, fmt.Errorf("no mark on the test container's console: %q", driverkit.Clip(string(b), 500)))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (d *Driver) probeFailure(ctx, outer context.Context, err error) error {
	switch {
	case outer.Err() != nil:
		return fmt.Errorf("%s: probe: %w", d.Name(), outer.Err())
	case ctx.Err() != nil:
		return driver.NotSupported(d.Name(), "test container did not boot within %s: %v", d.opt.probeTimeout, err)
	}
	return driver.NotSupported(d.Name(), "test container failed: %v", err)
}
