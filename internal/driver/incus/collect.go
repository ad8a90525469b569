package incus

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
)

// Collect removes what earlier isobench processes left in Incus after a
// crash or SIGKILL, and returns a line for each thing it removed:
//
//   - private daemons whose owner no longer runs (from their state
//     records): the daemon is reached (started again on its directory if
//     it is gone), every instance in it deleted, the daemon stopped and
//     its directory removed;
//   - in the system's daemon, when one answers: instances and custom
//     volumes named with driver.IDPrefix, marked as made from this
//     driver's RunDir by an isobench process that no longer runs.
//
// Nothing else is touched: daemons of live isobench processes, and in the
// system's daemon, anything without isobench's marks or of another RunDir.
func (d *Driver) Collect(ctx context.Context) ([]string, error) {
	var lines []string
	var errs []error
	records, err := readDaemonRecords(d.env.StateDir)
	if err != nil {
		errs = append(errs, err)
	}
	self := os.Getpid()
	for _, r := range records {
		if r.OwnerPID == self {
			continue // this process's daemons: their drivers' Close stops them
		}
		if r.ownerAlive() {
			continue
		}
		l, err := d.collectDaemon(ctx, r)
		lines = append(lines, l...)
		if err != nil {
			errs = append(errs, fmt.Errorf("private daemon in %s: %w", r.Dir, err))
		}
	}
	l, err := collectLinks(ctx, d.env.StateDir)
	lines = append(lines, l...)
	if err != nil {
		errs = append(errs, err)
	}
	if d.opt.socket != "" || answers(ctx, SystemSocket) {
		socket := d.opt.socket
		if socket == "" {
			socket = SystemSocket
		}
		l, err := d.collectShared(ctx, socket)
		lines = append(lines, l...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return lines, fmt.Errorf("%s: collect: %w", d.Name(), errors.Join(errs...))
	}
	return lines, nil
}

// collectDaemon removes a private daemon a crashed isobench left.
func (d *Driver) collectDaemon(ctx context.Context, r daemonRecord) ([]string, error) {
	if filepath.Dir(r.Dir) != filepath.Clean(d.env.RunDir) || !strings.HasPrefix(filepath.Base(r.Dir), daemonDirPrefix) {
		return nil, fmt.Errorf("state record names directory %q, not a private daemon's under %s; not touching it", r.Dir, d.env.RunDir)
	}
	var lines []string
	var errs []error
	socket := filepath.Join(r.Dir, "unix.socket")
	alive := driverkit.Identity{PID: r.DaemonPID, Start: r.DaemonStart}.Alive()
	if _, err := os.Stat(r.Dir); err == nil {
		var dm *daemon
		if !alive {
			// Incus removes its instances best: start it again there.
			incusd, err := findIncusd(d.opt.incusd)
			if err == nil {
				dm, err = restartDaemon(ctx, incusd, r.Dir)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("starting the daemon again to remove its instances: %w", err))
			} else {
				lines = append(lines, "started the Incus daemon left in "+r.Dir+" again")
			}
		}
		if alive || dm != nil {
			c := newClient(socket, d.opt.observe)
			cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			l, err := deleteAllInstances(cctx, c)
			cancel()
			c.close()
			lines = append(lines, l...)
			if err != nil {
				errs = append(errs, err)
			}
		}
		if dm != nil {
			if err := dm.stop(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if alive {
		if err := killAndWait(r.DaemonPID, r.DaemonStart, daemonStopGrace); err != nil {
			errs = append(errs, err)
		} else {
			lines = append(lines, fmt.Sprintf("stopped the Incus daemon (pid %d)", r.DaemonPID))
		}
	}
	l, err := removeDaemonDir(r.Dir)
	lines = append(lines, l...)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return lines, errors.Join(errs...)
	}
	if err := os.Remove(daemonRecordPath(d.env.StateDir, r.Dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return lines, err
	}
	return append(lines, "removed the state record of the daemon in "+r.Dir), nil
}

// restartDaemon starts incusd again on an existing directory.
func restartDaemon(ctx context.Context, incusd, dir string) (*daemon, error) {
	return startDaemonIn(ctx, incusd, dir, nil)
}

// collectShared removes isobench's leftovers in a daemon isobench did not
// start.
func (d *Driver) collectShared(ctx context.Context, socket string) ([]string, error) {
	c := newClient(socket, d.opt.observe)
	defer c.close()
	var lines []string
	var errs []error
	var insts []struct {
		Name    string                       `json:"name"`
		Config  map[string]string            `json:"config"`
		Devices map[string]map[string]string `json:"devices"`
	}
	if err := c.get(ctx, apiPath("instances"), url.Values{"recursion": {"1"}}, &insts); err != nil {
		return nil, err
	}
	for _, in := range insts {
		if !d.leftBehind(in.Name, in.Config) {
			continue
		}
		if err := forceDelete(ctx, c, in.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		lines = append(lines, "deleted Incus instance "+in.Name)
		// A volume scratch is a custom volume named like the instance,
		// on its root disk's pool.
		if pool := in.Devices["root"]["pool"]; pool != "" && in.Devices["scratch"]["source"] == in.Name {
			if _, err := c.doWait(ctx, "DELETE", apiPath("storage-pools", pool, "volumes", "custom", in.Name), nil, nil); err != nil && !isNotFound(err) {
				errs = append(errs, err)
			} else if err == nil {
				lines = append(lines, "deleted Incus storage volume "+pool+"/"+in.Name)
			}
		}
	}
	return lines, errors.Join(errs...)
}

// leftBehind reports whether an instance or volume is isobench's, of this
// RunDir, made by a process that no longer runs and not open here.
func (d *Driver) leftBehind(name string, config map[string]string) bool {
	own, ok := config[keyOwner]
	return ok && strings.HasPrefix(name, driver.IDPrefix) && config[keyRunDir] == d.env.RunDir &&
		!ownerAlive(own) && !d.open.Has(name)
}
