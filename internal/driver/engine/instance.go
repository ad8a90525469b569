package engine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/image"
)

var _ driver.Instance = (*instance)(nil)

const (
	// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
	stopGrace = 3 * time.Second
	// closeTimeout bounds everything Close does.
	closeTimeout = 60 * time.Second
	// maxIDLen keeps ids usable as host names and engine names.
	maxIDLen = 64
	// volumeSuffix ends the name of a sandbox's scratch volume.
	volumeSuffix = "-scratch"
)

// instance is one sandbox: a container of the engine.
type instance struct {
	d    *Driver
	c    *conn
	spec driver.Spec
	ref  string

	cid    string // the container's id
	volume string // the scratch volume's name, or ""

	mu    sync.Mutex
	phase driverkit.Phase
	// link is the sandbox's network link, once started with one.
	link     *driver.Network
	closeErr error
	// cleaned says what the last teardown removed or ended, for tests and
	// debugging.
	cleaned []string
}

// validateSpec checks a spec before anything is made for it.
func validateSpec(s driver.Spec) error {
	return driverkit.ValidateSpec(s, driverkit.SpecRules{MaxIDLen: maxIDLen})
}

// labels returns the labels of what the driver makes for a sandbox: the
// spec's, then isobench's own (which win).
func (d *Driver) labels(c *conn, spec driver.Spec, kind string) map[string]string {
	l := map[string]string{}
	for k, v := range spec.Labels {
		l[k] = v
	}
	l[labelManaged] = "true"
	l[labelKind] = kind
	l[labelID] = spec.ID
	l[labelOwner] = c.me.String()
	l[labelDriver] = d.token
	l[labelRuntime] = d.Name()
	return l
}

// Create imports the workload image if the engine lacks it, makes the
// scratch volume the spec asks for, and creates the container (named by
// the sandbox id, labelled, without network, with the driver's runtime).
// Nothing runs until Start. On error everything made is removed.
func (d *Driver) Create(ctx context.Context, spec driver.Spec) (driver.Instance, error) {
	if err := validateSpec(spec); err != nil {
		return nil, fmt.Errorf("%s: create: %w", d.Name(), err)
	}
	c, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	if spec.Network {
		// driver.Network, kind bridge: the engine's own bridge network.
		if why := networkRefusal(c.rt, d.hostNet); why != "" {
			return nil, driver.NotSupported(d.Name(), "no sandbox network: %s", why)
		}
	}
	ref, err := d.ensureImage(ctx, c, spec.Image)
	if err != nil {
		return nil, fmt.Errorf("%s: create %s: %w", d.Name(), spec.ID, err)
	}
	in := &instance{d: d, c: c, spec: spec, ref: ref}
	if err := in.create(ctx); err != nil {
		_, cerr := in.teardown(context.WithoutCancel(ctx))
		if cerr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up: %w", cerr))
		}
		return nil, fmt.Errorf("%s: create %s: %w", d.Name(), spec.ID, err)
	}
	d.track(in)
	return in, nil
}

func (in *instance) create(ctx context.Context) error {
	d, c, spec := in.d, in.c, in.spec
	hc := &container.HostConfig{
		Runtime:     c.rt.request,
		NetworkMode: "none",
	}
	if spec.Network {
		// The engine's default bridge network, as its run command
		// gives it; or the host's network namespace (hostnet).
		hc.NetworkMode = "bridge"
		if d.hostNet {
			hc.NetworkMode = "host"
		}
	}
	switch spec.Scratch {
	case driver.ScratchVolume:
		name := spec.ID + volumeSuffix
		if _, err := c.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: d.labels(c, spec, kindScratch)}); err != nil {
			return fmt.Errorf("making the scratch volume %s: %w", name, err)
		}
		in.volume = name
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeVolume, Source: name, Target: driver.ScratchPath})
	case driver.ScratchTmpfs:
		// As the direct drivers mount it: no size limit, executable,
		// writable by all like /tmp. (A tmpfs mount with options asks
		// Podman for size 0, which gVisor takes literally.)
		hc.Tmpfs = map[string]string{driver.ScratchPath: "rw,exec,nosuid,nodev,mode=1777"}
	}
	if spec.CPUs > 0 {
		hc.NanoCPUs = int64(spec.CPUs) * 1e9
	}
	if spec.MemoryBytes > 0 {
		hc.Memory = spec.MemoryBytes
	}
	hc.Ulimits = c.limits
	cfg := &container.Config{
		Image:      in.ref,
		Hostname:   spec.ID,
		Entrypoint: []string{image.AgentPath, "init"},
		Env:        []string{defaultPath},
		WorkingDir: "/",
		Labels:     d.labels(c, spec, kindSandbox),
	}
	res, err := c.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: spec.ID, Config: cfg, HostConfig: hc})
	if err != nil {
		if cerrdefs.IsConflict(err) {
			return fmt.Errorf("%w (a container of that name exists: run isobench gc if an isobench process was killed)", err)
		}
		return err
	}
	in.cid = res.ID
	return nil
}

// Start starts the container and waits, within ctx, for the agent's Ready
// line in its output. It may be called once. When it fails, everything of
// the instance is removed before it returns, and whatever the runtime left
// on the host (processes, mounts) is ended and checked.
func (in *instance) Start(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase != driverkit.PhaseCreated {
		return fmt.Errorf("%s: start %s: instance is %s; Start may be called once", in.d.Name(), in.spec.ID, in.phase)
	}
	err := in.start(ctx)
	if err == nil {
		in.phase = driverkit.PhaseRunning
		return nil
	}
	in.phase = driverkit.PhaseFailed
	if _, serr := os.Lstat(filepath.Join(in.spec.Image.Rootfs, image.AgentPath)); serr != nil {
		// Some engines do not pass the runtime's reason on (Podman with
		// runsc says only "exit status 128").
		err = fmt.Errorf("%w (the image has no %s)", err, image.AgentPath)
	}
	err = fmt.Errorf("%s: start %s: %w", in.d.Name(), in.spec.ID, err)
	lines, cerr := in.teardown(context.WithoutCancel(ctx))
	in.cleaned = lines
	if cerr != nil {
		err = errors.Join(err, fmt.Errorf("cleaning up after the failed start: %w", cerr))
	}
	return err
}

func (in *instance) start(ctx context.Context) error {
	cli := in.c.cli
	// The output is read from its beginning after the start: nothing is
	// missed, and a container that exits at once ends the stream.
	if _, err := cli.ContainerStart(ctx, in.cid, client.ContainerStartOptions{}); err != nil {
		return err
	}
	if err := in.waitReady(ctx); err != nil {
		return err
	}
	if in.spec.Network && in.d.hostNet {
		in.link = hostLink(in.d.eng.title)
	} else if in.spec.Network {
		link, err := in.findLink(ctx)
		if err != nil {
			return err
		}
		in.link = link
	}
	return nil
}

// waitReady reads the container's output until the agent's Ready line; a
// container that exits first ends the output, and its state says why.
func (in *instance) waitReady(ctx context.Context) error {
	cli := in.c.cli
	// Some engines (Podman) answer a followed log request only once there
	// is output: the container's exit ends the wait as well.
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	exited := make(chan struct{})
	wait := cli.ContainerWait(lctx, in.cid, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	go func() {
		select {
		case <-wait.Result:
			close(exited)
			// Let the output that is left arrive before giving up.
			select {
			case <-lctx.Done():
			case <-time.After(2 * time.Second):
				cancel()
			}
		case <-wait.Error:
		}
	}()
	rc, err := cli.ContainerLogs(lctx, in.cid, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("waiting for the agent to be ready: %w", ctx.Err())
	}
	if err != nil && !isClosed(exited) {
		return fmt.Errorf("reading the sandbox's output: %w", err)
	}
	if err != nil {
		return in.endedEarly(ctx, "", nil)
	}
	defer rc.Close()
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, rc)
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	var seen bytes.Buffer
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.Contains(line, []byte(`"type":"`+agent.TypeReady+`"`)) {
			if _, err := agent.ParseReady(line); err != nil {
				return err
			}
			return nil
		}
		if seen.Len() < 64<<10 {
			seen.Write(line)
			seen.WriteByte('\n')
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("waiting for the agent to be ready: %w (output: %s)", ctx.Err(), orNothing(seen.String()))
	}
	return in.endedEarly(ctx, seen.String(), sc.Err())
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// endedEarly says why a sandbox ended before its agent was ready.
func (in *instance) endedEarly(ctx context.Context, output string, readErr error) error {
	cli := in.c.cli
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	st := "unknown"
	if res, err := cli.ContainerInspect(ictx, in.cid, client.ContainerInspectOptions{}); err == nil && res.Container.State != nil {
		s := res.Container.State
		st = fmt.Sprintf("%s, exit status %d", s.Status, s.ExitCode)
		if s.Error != "" {
			st += ": " + s.Error
		}
	}
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		return fmt.Errorf("the sandbox's output ended (%v) before its agent was ready (container %s); output: %s", readErr, st, orNothing(output))
	}
	return fmt.Errorf("the sandbox ended before its agent was ready (container %s); output: %s", st, orNothing(output))
}

func orNothing(s string) string {
	s = driverkit.TailBytes(s, 1500)
	if s == "" {
		return "(nothing)"
	}
	return s
}

// Exec runs argv in the container through the engine's exec API. A command
// that ran and exited non-zero gives a *driver.ExitError (wrapped); a
// sandbox that is not running gives an error saying so. When ctx ends the
// output stream is closed and Exec returns; the command itself ends with
// the sandbox.
func (in *instance) Exec(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	if len(argv) == 0 {
		return fmt.Errorf("%s: exec in %s: empty command", in.d.Name(), in.spec.ID)
	}
	in.mu.Lock()
	ph := in.phase
	in.mu.Unlock()
	what := fmt.Sprintf("%s: exec %s in %s", in.d.Name(), argv[0], in.spec.ID)
	if ph != driverkit.PhaseRunning {
		return fmt.Errorf("%s: the sandbox is %s, not running", what, ph)
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	cli := in.c.cli
	ex, err := cli.ExecCreate(ctx, in.cid, client.ExecCreateOptions{Cmd: argv, AttachStdout: true, AttachStderr: true})
	if err != nil {
		if cerrdefs.IsConflict(err) || cerrdefs.IsNotFound(err) {
			return fmt.Errorf("%s: the sandbox is not running: %w", what, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	att, err := cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer att.Close()
	errTail := driverkit.NewTailBuffer(4096)
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, io.MultiWriter(stderr, errTail), att.Reader)
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		att.Close()
		<-done
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("%s: reading its output: %w", what, err)
	}
	// The stream ends as the command does; the engine records its exit
	// status a moment later.
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		res, err := cli.ExecInspect(ictx, ex.ID, client.ExecInspectOptions{})
		if err != nil {
			return fmt.Errorf("%s: reading its exit status: %w", what, err)
		}
		if !res.Running {
			if res.ExitCode != 0 {
				return fmt.Errorf("%s: %w", what, &driver.ExitError{Code: res.ExitCode, Stderr: driverkit.TailBytes(errTail.String(), 1000)})
			}
			return nil
		}
		select {
		case <-ictx.Done():
			return fmt.Errorf("%s: its output ended but the engine still reports it running", what)
		case <-time.After(delay):
		}
	}
}

// Stop stops the container: SIGTERM, then SIGKILL after a grace period.
// It is idempotent and does nothing before a successful Start.
func (in *instance) Stop(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase != driverkit.PhaseRunning {
		return nil
	}
	in.phase = driverkit.PhaseStopped
	grace := int(stopGrace / time.Second)
	if _, err := in.c.cli.ContainerStop(ctx, in.cid, client.ContainerStopOptions{Timeout: &grace}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s: stop %s: %w", in.d.Name(), in.spec.ID, err)
	}
	return nil
}

// Close removes the container and its volume, ends what the runtime left of
// it on the host, and checks that nothing is left. It is idempotent: later
// calls return the first call's result.
func (in *instance) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase == driverkit.PhaseClosed {
		return in.closeErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	lines, err := in.teardown(ctx)
	in.cleaned = append(in.cleaned, lines...)
	in.phase = driverkit.PhaseClosed
	in.d.untrack(in.spec.ID)
	if err != nil {
		in.closeErr = fmt.Errorf("%s: close %s: %w", in.d.Name(), in.spec.ID, err)
	}
	return in.closeErr
}

// teardown removes everything of the instance and checks it is gone.
func (in *instance) teardown(ctx context.Context) ([]string, error) {
	lines, err := removeSandbox(ctx, in.c.cli, in.cid, in.volume)
	if h := in.c.daemon; h != nil && h.rec.ExecRoot != "" && in.cid != "" {
		// The stdio fifos of a container whose start failed under runsc
		// stay in the private daemon's exec root after its removal.
		l, ferr := removeFifoDir(h.rec.ExecRoot, in.cid)
		lines = append(lines, l...)
		err = errors.Join(err, ferr)
	}
	return lines, err
}

// removeFifoDir removes containerd's directory of a container's stdio
// fifos under a dockerd exec root, if it is left.
func removeFifoDir(execRoot, cid string) ([]string, error) {
	dir := filepath.Join(execRoot, "containerd", cid)
	if _, err := os.Lstat(dir); err != nil {
		return nil, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("removing the container's fifos: %w", err)
	}
	return []string{"removed " + dir}, nil
}

// removeSandbox removes a container (by id, with its anonymous volumes)
// and a named volume, then ends the processes of the host that still name
// the container (a runtime's shim, gofer or sandbox left by a failed
// start), detaches mounts that name it, and checks that the engine knows
// neither any more. Either may be "".
func removeSandbox(ctx context.Context, cli *client.Client, cid, volume string) ([]string, error) {
	var lines []string
	var errs []error
	if cid != "" {
		if _, err := cli.ContainerRemove(ctx, cid, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing container %s: %w", short(cid), err))
		} else if err == nil {
			lines = append(lines, "removed container "+short(cid))
		}
	}
	if volume != "" {
		if _, err := cli.VolumeRemove(ctx, volume, client.VolumeRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing volume %s: %w", volume, err))
		} else if err == nil {
			lines = append(lines, "removed volume "+volume)
		}
	}
	if cid != "" {
		// The engine's own processes name the container by its full id.
		l, err := endProcsMentioning(cid, time.Second, 2*time.Second)
		lines = append(lines, l...)
		if err != nil {
			errs = append(errs, err)
		}
		if mounts, err := driverkit.ReadMountInfo(); err != nil {
			errs = append(errs, err)
		} else {
			l, err := unmountAll(driverkit.MountsMentioning(mounts, cid))
			lines = append(lines, l...)
			if err != nil {
				errs = append(errs, err)
			}
		}
		if _, err := cli.ContainerInspect(ctx, cid, client.ContainerInspectOptions{}); err == nil {
			errs = append(errs, fmt.Errorf("container %s still exists", short(cid)))
		} else if !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("checking that container %s is gone: %w", short(cid), err))
		}
	}
	if volume != "" {
		if _, err := cli.VolumeInspect(ctx, volume, client.VolumeInspectOptions{}); err == nil {
			errs = append(errs, fmt.Errorf("volume %s still exists", volume))
		} else if !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("checking that volume %s is gone: %w", volume, err))
		}
	}
	return lines, errors.Join(errs...)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// stdcopyBoth demultiplexes an engine output stream into one writer.
func stdcopyBoth(w io.Writer, r io.Reader) (int64, error) { return stdcopy.StdCopy(w, w, r) }
