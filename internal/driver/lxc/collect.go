package lxc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
)

// Collect removes what earlier isobench processes left of LXC sandboxes
// after a crash or SIGKILL, and returns a line for each thing it removed.
// It works from two sources:
//
//   - the state records in the StateDir: for each whose owner no longer
//     runs (or is this process, for a sandbox this Driver does not hold
//     open), it kills the container, kills what is left of its processes,
//     removes its cgroups, its definition in the LXC path and LXC's lock
//     file, unmounts the overlay, removes the instance directory, and last
//     the record;
//   - the LXC path (what lxc-ls lists): a container whose name starts with
//     driver.IDPrefix, whose configuration carries isobench's marker and
//     names a root filesystem under this driver's RunDir, and which no
//     live record claims, is removed the same way.
//
// Nothing else is touched: containers of other names, other RunDirs or
// without the marker, and sandboxes of isobench processes that still run.
func (d *Driver) Collect(ctx context.Context) ([]string, error) {
	res, err := d.resolve(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: collect: %w", Name, err)
	}
	var lines []string
	var errs []error
	records, err := stateRecords(d.env.StateDir).ReadAll()
	if err != nil {
		errs = append(errs, err)
	}
	live := map[string]bool{}
	done := map[string]bool{}
	self := os.Getpid()
	for _, r := range records {
		if r.ownerAlive() && (r.OwnerPID != self || d.open.Has(r.ID)) {
			live[r.ID] = true
			continue
		}
		l, err := d.collectRecord(ctx, res, r)
		lines = append(lines, l...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.ID, err))
		}
		done[r.ID] = true
	}
	names, err := res.tools.list(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, name := range names {
		if !strings.HasPrefix(name, driver.IDPrefix) || live[name] || done[name] || d.open.Has(name) {
			continue
		}
		confDir := filepath.Join(res.tools.lxcpath, name)
		b, err := os.ReadFile(filepath.Join(confDir, "config"))
		if err != nil {
			continue
		}
		rootfs, marked, err := configRootfs(string(b))
		dir := filepath.Join(d.env.RunDir, name)
		if err != nil || !marked || rootfs != filepath.Join(dir, "rootfs") {
			// Not isobench's, or another isobench environment's.
			continue
		}
		r := record{ID: name, Dir: dir, Mounts: []string{rootfs}, LXCPath: res.tools.lxcpath, Lock: lockPath(res.tools.lxcpath, name)}
		l, err := d.collectRecord(ctx, res, r)
		lines = append(lines, l...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	// The network links of sandboxes whose owner died (shared with the
	// other drivers that make them).
	l, err := sandboxnet.Collect(ctx, d.env.StateDir)
	lines = append(lines, l...)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return lines, fmt.Errorf("%s: collect: %w", Name, errors.Join(errs...))
	}
	return lines, nil
}

// collectRecord removes everything a record names.
func (d *Driver) collectRecord(ctx context.Context, res *resolved, r record) ([]string, error) {
	if r.Dir != filepath.Join(d.env.RunDir, r.ID) {
		return nil, fmt.Errorf("state record names directory %q, not %q under this run directory; not touching it", r.Dir, r.ID)
	}
	rr := *res
	if r.LXCPath != "" && r.LXCPath != res.tools.lxcpath {
		if !filepath.IsAbs(r.LXCPath) || !safeValue(r.LXCPath) {
			return nil, fmt.Errorf("state record names a bad LXC path %q; not touching it", r.LXCPath)
		}
		rr.tools.lxcpath = r.LXCPath
	}
	lines, err := teardown(ctx, &rr, r.ID, r.Dir)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	confDir := filepath.Join(rr.tools.lxcpath, r.ID)
	if b, err := os.ReadFile(filepath.Join(confDir, "config")); err == nil {
		if _, marked, _ := configRootfs(string(b)); !marked {
			errs = append(errs, fmt.Errorf("%s has no isobench marker; not removing it", confDir))
		} else if err := removeDefinition(confDir, lockPath(rr.tools.lxcpath, r.ID)); err != nil {
			errs = append(errs, err)
		} else {
			lines = append(lines, "removed LXC container definition "+confDir)
		}
	} else if _, err := os.Lstat(confDir); err == nil {
		// A definition without a config: made by a Create that crashed
		// before writing it.
		if err := removeDefinition(confDir, lockPath(rr.tools.lxcpath, r.ID)); err != nil {
			errs = append(errs, err)
		} else {
			lines = append(lines, "removed LXC container directory "+confDir)
		}
	} else if err := os.Remove(lockPath(rr.tools.lxcpath, r.ID)); err == nil {
		lines = append(lines, "removed LXC lock file "+lockPath(rr.tools.lxcpath, r.ID))
	}
	removed, rerrs := driverkit.RemoveRecorded(r.Mounts, r.Dir)
	lines, errs = append(lines, removed...), append(errs, rerrs...)
	if len(errs) > 0 {
		// The record stays, so a later collect can try again.
		return lines, errors.Join(errs...)
	}
	if _, err := os.Lstat(stateRecords(d.env.StateDir).Path(r.ID)); err == nil {
		if err := stateRecords(d.env.StateDir).Remove(r.ID); err != nil {
			return lines, err
		}
		lines = append(lines, "removed state record of "+r.ID)
	}
	return lines, nil
}

// tryContainer runs a tiny real container — a static busybox as init,
// echoing a mark on the console, in the foreground — bounded by the probe
// timeout, and removes everything of it afterwards. A container that fails
// or hangs gives a NotSupported error with what LXC said.
func (d *Driver) tryContainer(ctx context.Context, res *resolved) (err error) {
	bb, err := driverkit.StaticBusybox("the test container")
	if err != nil {
		return driver.NotSupported(Name, "%v", err)
	}
	suffix, err := driverkit.RandomSuffix()
	if err != nil {
		return err
	}
	id := driver.IDPrefix + "probe-" + suffix
	dir := filepath.Join(d.env.RunDir, id)
	rootfs := filepath.Join(dir, "rootfs")
	consoleLog, lxcLog := filepath.Join(dir, "console.log"), filepath.Join(dir, "lxc.log")
	confDir := filepath.Join(res.tools.lxcpath, id)
	rec, err := newRecord(id, dir, res.tools.lxcpath)
	if err != nil {
		return fmt.Errorf("%s: probe: %w", Name, err)
	}
	rec.Mounts = nil
	var undo driverkit.Undo
	defer func() {
		if cerr := undo.Run(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("%s: cleaning up the test container %s: %w", Name, id, cerr))
		}
	}()
	if err := stateRecords(d.env.StateDir).Create(rec); err != nil {
		return fmt.Errorf("%s: probe: %w", Name, err)
	}
	undo.Push("state record", func() error { return stateRecords(d.env.StateDir).Remove(id) })
	if err := driverkit.MakeRunDir(d.env.RunDir); err != nil {
		return fmt.Errorf("%s: probe: %w", Name, err)
	}
	if err := os.Mkdir(dir, 0o711); err != nil {
		return fmt.Errorf("%s: probe: %w", Name, err)
	}
	undo.Push("test directory", func() error { return driverkit.RemoveDirUnmounted(dir) })
	if err := driverkit.BusyboxRootfs(rootfs, bb); err != nil {
		return fmt.Errorf("%s: probe: %w", Name, err)
	}
	conf, err := buildConfig(configParams{
		ID: id, Includes: res.includes, Rootfs: rootfs, ConsoleLog: consoleLog, LogFile: lxcLog,
		Cgroup: res.cgroup, Owner: fmt.Sprintf("isobench process %d (probe)", os.Getpid()),
	})
	if err != nil {
		return fmt.Errorf("%s: probe: %w", Name, err)
	}
	mark := "isobench-probe-" + suffix
	// lxc.init.cmd is split at spaces: the mark must have none.
	conf = strings.Replace(conf, "lxc.init.cmd = /sbin/init\n", "lxc.init.cmd = /bin/busybox echo "+mark+"\n", 1)
	if err := os.MkdirAll(res.tools.lxcpath, 0o755); err != nil {
		return fmt.Errorf("%s: probe: making the LXC path: %w", Name, err)
	}
	if err := os.Mkdir(confDir, 0o750); err != nil {
		return fmt.Errorf("%s: probe: defining the test container: %w", Name, err)
	}
	undo.Push("test container definition", func() error { return removeDefinition(confDir, lockPath(res.tools.lxcpath, id)) })
	if err := os.WriteFile(filepath.Join(confDir, "config"), []byte(conf), 0o640); err != nil {
		return fmt.Errorf("%s: probe: %w", Name, err)
	}
	undo.Push("test container", func() error {
		tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := teardown(tctx, res, id, dir)
		return err
	})
	rctx, cancel := context.WithTimeout(ctx, d.opt.probeTimeout)
	defer cancel()
	t := res.tools
	cmd := t.command(rctx, t.start, "-n", id, "-F", "-C")
	out := driverkit.NewTailBuffer(4096)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error {
		killTree(cmd.Process.Pid)
		return nil
	}
	runErr := cmd.Run()
	console, _ := os.ReadFile(consoleLog)
	if runErr == nil && strings.Contains(string(console), mark) {
		return nil
	}
	said := strings.TrimSpace(out.String()) + lxcLogErrors(lxcLog)
	if said == "" {
		said = "(it said nothing)"
	}
	if err := driverkit.ProbeRunFailure(ctx, rctx, Name, "test container (busybox echo)", d.opt.probeTimeout, runErr, said); err != nil {
		return err
	}
	return driver.NotSupported(Name, "test container (busybox echo) ran but its mark is not on its console: %s", said)
}

// lxcLogErrors returns the ERROR lines of an LXC log, or "".
func lxcLogErrors(path string) string {
	in := instance{lxcLog: path}
	return in.lxcErrors()
}
