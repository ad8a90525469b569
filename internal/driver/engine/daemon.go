package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
)

// recordVersion is the format version of the daemon record.
const recordVersion = 1

// Time limits of a private daemon.
const (
	// daemonStopGrace is how long a daemon gets after SIGTERM; dockerd stops
	// the containers it still runs within it.
	daemonStopGrace = 30 * time.Second
	// maxSocketPath is the longest path a unix socket can have (108 bytes
	// with the terminating NUL).
	maxSocketPath = 107
)

// layout names the files of one engine under a driver Env. The state
// directory holds what says what exists (the daemon record, one file per
// driver using the daemon, the lock, the socket); the run directory holds
// the daemon's working files (its data root with the image cache, its exec
// root, its configuration, its log, runtime wrappers).
type layout struct {
	state, run string

	record, users, lock, importLock string
	socket, pidfile                 string

	dataRoot, execRoot, config, runtimes, log string
}

// The key names the daemon: the engine, and for an engine with a service per
// runtime, the runtime ("podman-runsc").
func newLayout(env driver.Env, eng engine, key string) layout {
	st := filepath.Join(env.StateDir, "engine", key)
	run := filepath.Join(env.RunDir, "engine", key)
	return layout{
		state: st, run: run,
		record:     filepath.Join(st, "daemon.json"),
		users:      filepath.Join(st, "users"),
		lock:       filepath.Join(st, "lock"),
		importLock: filepath.Join(st, "import.lock"),
		socket:     filepath.Join(st, eng.name+".sock"),
		pidfile:    filepath.Join(st, eng.name+".pid"),
		dataRoot:   filepath.Join(run, "data"),
		execRoot:   filepath.Join(run, "exec"),
		config:     filepath.Join(run, "daemon.json"),
		runtimes:   filepath.Join(run, "runtimes"),
		log:        filepath.Join(run, "daemon.log"),
	}
}

// daemonRecord says which private daemon isobench started, so that later
// processes can use it and gc can stop it once no isobench process does.
type daemonRecord struct {
	Version int                `json:"version"`
	Engine  string             `json:"engine"`
	Daemon  driverkit.Identity `json:"daemon"`
	// StartedBy is the isobench process that started the daemon.
	StartedBy driverkit.Identity `json:"started_by"`
	Binary    string             `json:"binary"`
	Args      []string           `json:"args"`
	Socket    string             `json:"socket"`
	PIDFile   string             `json:"pidfile,omitempty"`
	DataRoot  string             `json:"data_root,omitempty"`
	ExecRoot  string             `json:"exec_root,omitempty"`
	Log       string             `json:"log"`
	Started   time.Time          `json:"started"`
	// Bridge is the network bridge isobench made for the daemon's
	// containers ("" for none), removed once the daemon stopped.
	Bridge string `json:"bridge,omitempty"`
	// MadeDirs are directories outside isobench's own that were not there
	// before the daemon started (its plugins make them); each is removed
	// after the daemon stopped if it is empty.
	MadeDirs []string `json:"made_dirs,omitempty"`
}

func readDaemonRecord(path string) (*daemonRecord, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading daemon record: %w", err)
	}
	var r daemonRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("daemon record %s: %w", path, err)
	}
	if r.Version != recordVersion {
		return nil, fmt.Errorf("daemon record %s: format version %d, want %d", path, r.Version, recordVersion)
	}
	return &r, nil
}

func writeDaemonRecord(path string, r daemonRecord) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding daemon record: %w", err)
	}
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}

// writeFileAtomic writes a file through a temporary file of its own and a
// rename, so that concurrent writers of the same content never see a
// partial file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp, perm)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// lockFile takes an exclusive flock on path, waiting within ctx, and
// returns its release.
func lockFile(ctx context.Context, path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("making %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// daemonHandle is one driver's use of a private daemon. The daemon runs as
// long as some live isobench process holds a use: a file in the users
// directory named by the holder's pid, start time and a token per driver.
type daemonHandle struct {
	l    layout
	rec  daemonRecord
	user string // this use's file
}

// userFile returns the name of a use file.
func userFile(me driverkit.Identity, token string) string {
	return fmt.Sprintf("%d-%d-%s", me.PID, me.Start, token)
}

// parseUserFile reads the holder back from a use file's name.
func parseUserFile(name string) (driverkit.Identity, bool) {
	f := strings.SplitN(name, "-", 3)
	if len(f) != 3 {
		return driverkit.Identity{}, false
	}
	pid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return driverkit.Identity{}, false
	}
	return driverkit.Identity{PID: pid, Start: start}, true
}

// liveUsers counts the uses held by live processes and removes the files of
// dead ones (countLiveUsers only counts).
func liveUsers(l layout) int {
	return usersOf(l, true)
}

// countLiveUsers counts the live isobench processes that use the private
// daemon of l, reading its users directory only.
func countLiveUsers(l layout) int {
	return usersOf(l, false)
}

func usersOf(l layout, removeDead bool) int {
	ents, err := os.ReadDir(l.users)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		id, ok := parseUserFile(e.Name())
		if ok && id.Alive() {
			n++
		} else if removeDead {
			_ = os.Remove(filepath.Join(l.users, e.Name()))
		}
	}
	return n
}

// daemonSpec is how to start one private daemon.
type daemonSpec struct {
	binary string
	args   []string
	// prepare writes the daemon's configuration before it starts.
	prepare func() error
	// network, when set, gives the daemon a network bridge of its own:
	// startDaemon makes it (held by this process until the daemon runs,
	// then by the daemon), and network writes what else the daemon needs
	// for it and returns the flags that name it, put before args.
	network func(b bridge) ([]string, error)
	// sideDirs are directories outside isobench's own the daemon may make
	// (innermost last); those missing before it starts are removed, when
	// empty, after it stopped.
	sideDirs []string
}

// acquireDaemon returns a use of the private daemon of the layout,
// starting it when none runs (or the recorded one is dead or does not
// answer), all under the engine's lock so that concurrent isobench
// processes and drivers share one daemon.
func acquireDaemon(ctx context.Context, eng engine, l layout, spec daemonSpec, me driverkit.Identity, token string, startTimeout time.Duration) (*daemonHandle, error) {
	if len(l.socket) > maxSocketPath {
		return nil, fmt.Errorf("private %s daemon: socket path %s is longer than a unix socket allows (%d bytes); use a shorter state directory", eng.name, l.socket, maxSocketPath)
	}
	for _, dir := range []string{l.state, l.users, l.run} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("private %s daemon: %w", eng.name, err)
		}
	}
	unlock, err := lockFile(ctx, l.lock)
	if err != nil {
		return nil, fmt.Errorf("private %s daemon: %w", eng.name, err)
	}
	defer unlock()

	rec, err := readDaemonRecord(l.record)
	if err != nil {
		return nil, fmt.Errorf("private %s daemon: %w (remove it if no isobench process runs)", eng.name, err)
	}
	if rec != nil {
		if rec.Daemon.Alive() && pingSocket(ctx, rec.Socket) == nil {
			return register(l, *rec, me, token)
		}
		// Dead, or alive but not answering: end it and what it left.
		if _, err := stopDaemon(ctx, *rec); err != nil {
			return nil, fmt.Errorf("private %s daemon: ending the earlier one (pid %d): %w", eng.name, rec.Daemon.PID, err)
		}
		if err := os.Remove(l.record); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("private %s daemon: %w", eng.name, err)
		}
	}

	r, err := startDaemon(ctx, eng, l, spec, me, startTimeout)
	if err != nil {
		return nil, err
	}
	return register(l, r, me, token)
}

func register(l layout, rec daemonRecord, me driverkit.Identity, token string) (*daemonHandle, error) {
	h := &daemonHandle{l: l, rec: rec, user: filepath.Join(l.users, userFile(me, token))}
	if err := os.WriteFile(h.user, nil, 0o600); err != nil {
		return nil, fmt.Errorf("registering a use of the private %s daemon: %w", rec.Engine, err)
	}
	return h, nil
}

// startDaemon starts a daemon, records it, and waits until its socket
// answers. The caller holds the engine's lock.
func startDaemon(ctx context.Context, eng engine, l layout, spec daemonSpec, me driverkit.Identity, timeout time.Duration) (daemonRecord, error) {
	var br bridge
	fail := func(err error) (daemonRecord, error) {
		if br.Name != "" {
			err = errors.Join(err, removeBridge(br.Name))
		}
		return daemonRecord{}, fmt.Errorf("starting a private %s (%s): %w", eng.daemonBinary, eng.name, err)
	}
	bin, err := exec.LookPath(spec.binary)
	if err != nil {
		return daemonRecord{}, driver.NotSupported(eng.name, "no %s daemon runs at %s, and %s, to start a private one, is not installed (isobench setup installs %s)", eng.title, eng.socket, spec.binary, eng.pkg)
	}
	for _, p := range []string{l.socket, l.pidfile} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(err)
		}
	}
	if spec.prepare != nil {
		if err := spec.prepare(); err != nil {
			return fail(err)
		}
	}
	var missing []string
	for _, dir := range spec.sideDirs {
		if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
			missing = append(missing, dir)
		}
	}
	args := spec.args
	if spec.network != nil {
		if br, err = makeBridge(l, me); err != nil {
			return fail(err)
		}
		extra, err := spec.network(br)
		if err != nil {
			return fail(err)
		}
		args = append(extra, spec.args...)
	}
	logf, err := os.OpenFile(l.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fail(err)
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, 2)
	fmt.Fprintf(logf, "--- isobench (pid %d) starts %s %s at %s\n", me.PID, bin, strings.Join(args, " "), time.Now().UTC().Format(time.RFC3339))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	// Its own process group: a Ctrl-C at the terminal reaches isobench,
	// which then removes its sandboxes and stops the daemon in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	exited := make(chan struct{})
	go func() {
		// Reap the daemon whenever it exits, so it never lingers as a
		// zombie of this process.
		_ = cmd.Wait()
		close(exited)
	}()
	start, ok := driverkit.ProcStartTime(cmd.Process.Pid)
	if !ok {
		<-exited
		return fail(fmt.Errorf("it exited at once: %s", tailFrom(l.log, logStart)))
	}
	rec := daemonRecord{
		Version: recordVersion, Engine: eng.name,
		Daemon:    driverkit.Identity{PID: cmd.Process.Pid, Start: start},
		StartedBy: me, Binary: bin, Args: args, Socket: l.socket, Log: l.log,
		Started: time.Now().UTC(), Bridge: br.Name, MadeDirs: missing,
	}
	if br.Name != "" {
		// The bridge lives as long as the daemon now.
		if err := holdBridge(br.Name, rec.Daemon); err != nil {
			_, _ = stopDaemon(ctx, rec)
			return fail(err)
		}
	}
	if eng.execRoot {
		rec.PIDFile, rec.DataRoot, rec.ExecRoot = l.pidfile, l.dataRoot, l.execRoot
	}
	if err := writeDaemonRecord(l.record, rec); err != nil {
		_, _ = stopDaemon(ctx, rec)
		return fail(err)
	}
	undo := func(cause error) (daemonRecord, error) {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), daemonStopGrace+10*time.Second)
		defer cancel()
		_, serr := stopDaemon(sctx, rec)
		_ = os.Remove(l.record)
		return fail(errors.Join(cause, serr))
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, 250*time.Millisecond) {
		select {
		case <-exited:
			return undo(fmt.Errorf("it exited before answering on %s: %s", l.socket, tailFrom(l.log, logStart)))
		default:
		}
		if err := pingSocket(wctx, l.socket); err == nil {
			return rec, nil
		}
		select {
		case <-wctx.Done():
			return undo(fmt.Errorf("no answer on %s within %s: %w (its log: %s)", l.socket, timeout, wctx.Err(), tailFrom(l.log, logStart)))
		case <-exited:
		case <-time.After(delay):
		}
	}
}

// tailFrom returns the end of a log file from offset on.
func tailFrom(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || offset > int64(len(b)) {
		return "(no log)"
	}
	s := strings.TrimSpace(string(b[offset:]))
	if s == "" {
		return "(nothing in its log)"
	}
	return driverkit.TailBytes(s, 1500)
}

// release gives up a use of the daemon; the last use stops it.
func (h *daemonHandle) release(ctx context.Context) ([]string, error) {
	unlock, err := lockFile(ctx, h.l.lock)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := os.Remove(h.user); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("releasing the private %s daemon: %w", h.rec.Engine, err)
	}
	if liveUsers(h.l) > 0 {
		return nil, nil
	}
	rec, err := readDaemonRecord(h.l.record)
	if err != nil || rec == nil || rec.Daemon != h.rec.Daemon {
		// Another daemon replaced ours (after it died): not ours to stop.
		return nil, err
	}
	return stopRecorded(ctx, h.l, *rec)
}

// stopRecorded stops a recorded daemon and removes its record.
func stopRecorded(ctx context.Context, l layout, rec daemonRecord) ([]string, error) {
	lines, err := stopDaemon(ctx, rec)
	if err != nil {
		return lines, err
	}
	if err := os.Remove(l.record); err != nil && !errors.Is(err, os.ErrNotExist) {
		return lines, err
	}
	return lines, nil
}

// stopDaemon ends a recorded daemon (SIGTERM, then SIGKILL) and removes
// what it left: processes that name its exec root (containerd and its
// shims), mounts under its exec and data roots, its exec root, socket and
// pid file. Its data root, the image cache, stays.
func stopDaemon(ctx context.Context, rec daemonRecord) ([]string, error) {
	var lines []string
	if rec.Daemon.Alive() {
		_ = syscall.Kill(rec.Daemon.PID, syscall.SIGTERM)
		grace := daemonStopGrace
		if dl, ok := ctx.Deadline(); ok {
			grace = min(grace, time.Until(dl)-5*time.Second)
		}
		gone := waitGone([]hostProc{{id: rec.Daemon}}, max(grace, time.Second))
		if !gone {
			_ = syscall.Kill(rec.Daemon.PID, syscall.SIGKILL)
			if !waitGone([]hostProc{{id: rec.Daemon}}, 5*time.Second) {
				return lines, fmt.Errorf("%s (pid %d) still runs after SIGKILL", rec.Binary, rec.Daemon.PID)
			}
		}
		lines = append(lines, fmt.Sprintf("stopped private %s daemon (pid %d)", rec.Engine, rec.Daemon.PID))
	}
	var errs []error
	if rec.ExecRoot != "" {
		l, err := endProcsMentioning(rec.ExecRoot, time.Second, 2*time.Second)
		lines = append(lines, l...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if rec.ExecRoot != "" || rec.DataRoot != "" {
		mounts, err := driverkit.ReadMountInfo()
		if err != nil {
			errs = append(errs, err)
		} else {
			var points []string
			for _, dir := range []string{rec.ExecRoot, rec.DataRoot} {
				if dir != "" {
					points = append(points, driverkit.MountsUnder(mounts, dir)...)
				}
			}
			sort.Sort(sort.Reverse(sort.StringSlice(points)))
			l, err := unmountAll(points)
			lines = append(lines, l...)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if rec.ExecRoot != "" {
		if err := os.RemoveAll(rec.ExecRoot); err != nil {
			errs = append(errs, fmt.Errorf("removing the exec root: %w", err))
		}
	}
	for _, p := range []string{rec.Socket, rec.PIDFile} {
		if p == "" {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	for i := len(rec.MadeDirs) - 1; i >= 0; i-- {
		dir := rec.MadeDirs[i]
		if err := os.Remove(dir); err == nil {
			lines = append(lines, "removed "+dir+", which the daemon made")
		} else if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
			errs = append(errs, err)
		}
	}
	if rec.Bridge != "" {
		if link, _ := ownBridge(rec.Bridge); link != nil {
			if err := removeBridge(rec.Bridge); err != nil {
				errs = append(errs, err)
			} else {
				lines = append(lines, "removed engine bridge "+rec.Bridge)
			}
		}
	}
	return lines, errors.Join(errs...)
}

// socketError classifies why a unix socket does not answer, in the words
// Probe reports.
type socketError struct {
	path   string
	reason string // "no socket", "not running", "permission denied", ...
	err    error
}

func (e *socketError) Error() string {
	return fmt.Sprintf("%s: %s (%v)", e.path, e.reason, e.err)
}
func (e *socketError) Unwrap() error { return e.err }

const (
	reasonNoSocket   = "no socket"
	reasonNotRunning = "nothing listens on the socket: the daemon is not running"
	reasonPermission = "permission denied"
)

// checkSocket connects to a unix socket and says why it fails.
func checkSocket(ctx context.Context, path string) error {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := d.DialContext(dctx, "unix", path)
	if err == nil {
		c.Close()
		return nil
	}
	switch {
	case errors.Is(err, syscall.ENOENT):
		return &socketError{path, reasonNoSocket, err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &socketError{path, reasonNotRunning, err}
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return &socketError{path, reasonPermission, err}
	}
	return &socketError{path, "cannot connect", err}
}

// pingSocket checks that an engine answers /_ping on a unix socket.
func pingSocket(ctx context.Context, path string) error {
	if err := checkSocket(ctx, path); err != nil {
		return err
	}
	cli, err := newClient(path)
	if err != nil {
		return err
	}
	defer cli.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = cli.Ping(pctx, pingOptions())
	return err
}

// peerPID returns the pid of the process listening on a unix socket (its
// credentials as the kernel recorded them at listen).
func peerPID(path string) (int, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, serr
	}
	return int(cred.Pid), nil
}

// newToken returns a random token naming one driver value.
func newToken() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
