package incus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// SystemSocket is where a system-wide Incus daemon listens (its default
// INCUS_DIR /var/lib/incus): isobench uses that daemon when it answers.
const SystemSocket = "/var/lib/incus/unix.socket"

// incusdPaths are where distributions install the daemon, tried in order
// after PATH.
var incusdPaths = [...]string{"/usr/libexec/incus/incusd", "/usr/lib/incus/incusd", "/opt/incus/bin/incusd"}

// daemonDirPrefix starts the name of every private daemon's directory
// (<RunDir>/incusd-<pid>-<random>) and of its state record.
const daemonDirPrefix = "incusd-"

// poolName is the storage pool isobench makes in its private daemon.
const poolName = "isobench"

const (
	// daemonStartTimeout bounds the wait for a private daemon's socket.
	daemonStartTimeout = 60 * time.Second
	// daemonStopGrace is how long a private daemon gets to exit on
	// SIGTERM before SIGKILL.
	daemonStopGrace = 30 * time.Second
)

// daemonRecord says what isobench started: a private Incus daemon and its
// directory. It is written before the daemon starts and removed after the
// directory is gone, so that Collect can stop a daemon (and remove its
// instances) that a crashed isobench left.
type daemonRecord struct {
	Version int    `json:"version"`
	Dir     string `json:"dir"` // INCUS_DIR
	// DaemonPID and DaemonStart name the incusd process once it runs.
	DaemonPID   int       `json:"daemon_pid,omitempty"`
	DaemonStart uint64    `json:"daemon_start,omitempty"`
	Created     time.Time `json:"created"`
	// OwnerPID and OwnerStart name the isobench process that started it.
	OwnerPID   int    `json:"owner_pid"`
	OwnerStart uint64 `json:"owner_start"`
}

func recordDir(stateDir string) string { return filepath.Join(stateDir, "incus") }

// daemonRecords are the records of private daemons, each named like the
// daemon's directory; the directory may hold other files.
func daemonRecords(stateDir string) driverkit.Records[daemonRecord] {
	return driverkit.Records[daemonRecord]{
		Dir: recordDir(stateDir), Key: func(r daemonRecord) string { return filepath.Base(r.Dir) },
		KeyName: "directory", Prefix: daemonDirPrefix,
	}
}

// daemonRecordPath is the record of the private daemon in dir, named
// like the directory.
func daemonRecordPath(stateDir, dir string) string {
	return daemonRecords(stateDir).Path(filepath.Base(dir))
}

// writeDaemonRecord writes (or rewrites, once the daemon runs) a record.
func writeDaemonRecord(stateDir string, r daemonRecord) error {
	return daemonRecords(stateDir).Write(r)
}

// readDaemonRecords reads every daemon record; unreadable ones are
// reported and skipped.
func readDaemonRecords(stateDir string) ([]daemonRecord, error) {
	return daemonRecords(stateDir).ReadAll()
}

// ownerAlive reports whether the isobench process that started the
// daemon still runs.
func (r daemonRecord) ownerAlive() bool {
	return driverkit.Identity{PID: r.OwnerPID, Start: r.OwnerStart}.Alive()
}

// daemon is the Incus daemon a driver talks to.
type daemon struct {
	socket  string
	private bool   // started by this process
	dir     string // INCUS_DIR of a private daemon
	pid     int
	start   uint64
	wait    chan error // the private daemon's exit
	log     string
}

// findIncusd returns the incusd binary: given, in PATH, or where
// distributions install it.
func findIncusd(given string) (string, error) {
	if given != "" {
		if fi, err := os.Stat(given); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s is not an executable file", given)
		}
		return given, nil
	}
	if p, err := exec.LookPath("incusd"); err == nil {
		return p, nil
	}
	for _, p := range incusdPaths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("incusd not found (in PATH or " + strings.Join(incusdPaths[:], ", ") + "); isobench setup installs it (package incus, from the backports suite on Debian 12)")
}

// answers reports whether a daemon answers GET /1.0 on socket.
func answers(ctx context.Context, socket string) bool {
	if _, err := os.Stat(socket); err != nil {
		return false
	}
	c := newClient(socket, nil)
	defer c.close()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.get(cctx, "/1.0", nil, nil) == nil
}

// startDaemon starts a private incusd with INCUS_DIR dir (made here, which
// must not exist), records it, and waits for its socket to answer.
func startDaemon(ctx context.Context, incusd, dir, stateDir string) (*daemon, error) {
	me, err := driverkit.Self()
	if err != nil {
		return nil, err
	}
	rec := daemonRecord{Version: 1, Dir: dir, Created: time.Now().UTC(), OwnerPID: me.PID, OwnerStart: me.Start}
	if err := writeDaemonRecord(stateDir, rec); err != nil {
		return nil, err
	}
	if err := driverkit.MakeRunDir(filepath.Dir(dir)); err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o711); err != nil {
		return nil, fmt.Errorf("making the private Incus directory: %w", err)
	}
	d, err := startDaemonIn(ctx, incusd, dir, func(d *daemon) error {
		rec.DaemonPID, rec.DaemonStart = d.pid, d.start
		return writeDaemonRecord(stateDir, rec)
	})
	if err != nil {
		return d, err
	}
	return d, nil
}

// startDaemonIn starts incusd on the directory dir (which exists), calls
// started once the process runs, and waits for its socket to answer.
func startDaemonIn(ctx context.Context, incusd, dir string, started func(*daemon) error) (*daemon, error) {
	logPath := filepath.Join(dir, "incusd.log")
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("making the daemon's log: %w", err)
	}
	cmd := exec.Command(incusd, "--group", "root")
	cmd.Env = append(os.Environ(), "INCUS_DIR="+dir)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	// A session of its own: a terminal's Ctrl-C reaches isobench, which
	// stops the daemon after removing its instances, not the daemon first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", incusd, err)
	}
	logf.Close()
	d := &daemon{socket: filepath.Join(dir, "unix.socket"), private: true, dir: dir, pid: cmd.Process.Pid, wait: make(chan error, 1), log: logPath}
	go func() { d.wait <- cmd.Wait() }()
	d.start, _ = driverkit.ProcStartTime(d.pid)
	if started != nil {
		if err := started(d); err != nil {
			return d, err
		}
	}
	deadline := time.Now().Add(daemonStartTimeout)
	for {
		if answers(ctx, d.socket) {
			return d, nil
		}
		select {
		case err := <-d.wait:
			d.wait <- err
			return d, fmt.Errorf("incusd exited at start (%v): %s", err, readTail(logPath, 1500))
		case <-ctx.Done():
			return d, fmt.Errorf("waiting for incusd to answer: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return d, fmt.Errorf("incusd did not answer on %s within %s: %s", d.socket, daemonStartTimeout, readTail(logPath, 1500))
		}
	}
}

// stopDaemon stops a private daemon: SIGTERM, then SIGKILL after a grace
// period. Its instances must be gone already (incusd leaves running
// containers running when it exits).
func (d *daemon) stop() error {
	if !d.private || d.pid <= 0 {
		return nil
	}
	if !(driverkit.Identity{PID: d.pid, Start: d.start}).Alive() {
		return nil
	}
	_ = syscall.Kill(d.pid, syscall.SIGTERM)
	if d.wait != nil {
		select {
		case <-d.wait:
			return nil
		case <-time.After(daemonStopGrace):
		}
		_ = syscall.Kill(d.pid, syscall.SIGKILL)
		select {
		case <-d.wait:
			return nil
		case <-time.After(10 * time.Second):
			return fmt.Errorf("incusd (pid %d) still runs after SIGKILL", d.pid)
		}
	}
	return killAndWait(d.pid, d.start, daemonStopGrace)
}

// killAndWait stops a process that is not this one's child: SIGTERM, wait,
// SIGKILL, wait.
func killAndWait(pid int, start uint64, grace time.Duration) error {
	same := driverkit.Identity{PID: pid, Start: start}.Alive
	if !same() {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(grace); same() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !same() {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for deadline := time.Now().Add(10 * time.Second); same() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if same() {
		return fmt.Errorf("process %d still runs after SIGKILL", pid)
	}
	return nil
}

// removeDaemonDir removes a private daemon's directory once the daemon is
// gone: it unmounts what is mounted below it (the daemon's tmpfs mounts,
// if it could not), kills processes working in it (LXC monitors of its
// containers), and removes it.
func removeDaemonDir(dir string) ([]string, error) {
	var lines []string
	for _, p := range procsMentioning("", dir) {
		if syscall.Kill(p.PID, syscall.SIGKILL) == nil {
			lines = append(lines, fmt.Sprintf("killed leftover process %d: %s", p.PID, driverkit.Clip(p.Cmdline, 160)))
		}
	}
	for _, p := range procsWithArg(dir) {
		if syscall.Kill(p.PID, syscall.SIGKILL) == nil {
			lines = append(lines, fmt.Sprintf("killed leftover process %d: %s", p.PID, driverkit.Clip(p.Cmdline, 160)))
		}
	}
	table, err := driverkit.ReadMountInfo()
	if err != nil {
		return lines, err
	}
	for _, m := range driverkit.MountsUnder(table, dir) {
		if err := driverkit.Unmount(m); err != nil {
			return lines, err
		}
		lines = append(lines, "unmounted "+m)
	}
	if _, err := os.Lstat(dir); err != nil {
		return lines, nil
	}
	if err := driverkit.RemoveDirUnmounted(dir); err != nil {
		return lines, err
	}
	return append(lines, "removed directory "+dir), nil
}

// serverInfo is the part of GET /1.0 isobench reads.
type serverInfo struct {
	APIExtensions []string `json:"api_extensions"`
	Environment   struct {
		Driver        string   `json:"driver"` // e.g. "lxc | qemu"
		DriverVersion string   `json:"driver_version"`
		ServerVersion string   `json:"server_version"`
		Architectures []string `json:"architectures"`
		KernelVersion string   `json:"kernel_version"`
		Storage       string   `json:"storage"`
	} `json:"environment"`
}

// drivers returns the instance drivers the server says it has.
func (s serverInfo) drivers() []string {
	var out []string
	for _, d := range strings.Split(s.Environment.Driver, "|") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// storagePool is the part of a storage pool isobench reads.
type storagePool struct {
	Name   string            `json:"name"`
	Driver string            `json:"driver"`
	Config map[string]string `json:"config"`
}

// ensurePool makes isobench's dir pool in a private daemon unless it
// exists.
func ensurePool(ctx context.Context, c *client) (storagePool, error) {
	var p storagePool
	err := c.get(ctx, apiPath("storage-pools", poolName), nil, &p)
	if err == nil {
		return p, nil
	}
	if !isNotFound(err) {
		return p, err
	}
	body := map[string]any{"name": poolName, "driver": "dir", "description": "isobench: sandboxes' root filesystems"}
	if _, err := c.do(ctx, http.MethodPost, apiPath("storage-pools"), nil, body); err != nil {
		return p, fmt.Errorf("making the dir storage pool: %w", err)
	}
	if err := c.get(ctx, apiPath("storage-pools", poolName), nil, &p); err != nil {
		return p, err
	}
	return p, nil
}

// defaultPool returns the pool of the default profile's root disk in a
// daemon isobench did not make.
func defaultPool(ctx context.Context, c *client) (storagePool, error) {
	var prof struct {
		Devices map[string]map[string]string `json:"devices"`
	}
	var p storagePool
	if err := c.get(ctx, apiPath("profiles", "default"), nil, &prof); err != nil {
		return p, err
	}
	for _, dev := range prof.Devices {
		if dev["type"] == "disk" && dev["path"] == "/" && dev["pool"] != "" {
			if err := c.get(ctx, apiPath("storage-pools", dev["pool"]), nil, &p); err != nil {
				return p, err
			}
			return p, nil
		}
	}
	return p, errors.New("the Incus daemon's default profile has no root disk: run incus admin init, or give isobench a pool")
}

// readTail returns the last n bytes of a file, trimmed; "" if unreadable.
func readTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return driverkit.TailBytes(string(b), n)
}

// procsWithArg returns processes (other than this one) with arg among
// their arguments or as a prefix of one (an LXC monitor names its path).
func procsWithArg(arg string) []driverkit.Proc {
	return driverkit.ScanProcs(func(p driverkit.Proc) bool {
		for _, a := range p.Args {
			if a == arg || strings.HasPrefix(a, arg+"/") || strings.Contains(a, " "+arg) {
				return true
			}
		}
		return false
	})
}
