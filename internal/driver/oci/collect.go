package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
)

// Collect removes what earlier isobench processes left of this runtime's
// sandboxes after a crash or SIGKILL, and returns a line for each thing it
// removed. It works from two sources:
//
//   - the state records of this runtime in the StateDir: for each whose
//     owner no longer runs (or is this process, for a sandbox this Driver
//     does not hold open), it kills and deletes the container, kills what
//     is left of its processes, removes its cgroups, unmounts the recorded
//     mounts, removes the instance directory, and last the record;
//   - the runtime's own list: a container whose id starts with
//     driver.IDPrefix, whose bundle is under this driver's RunDir and
//     which no live record claims, is killed and deleted.
//
// Nothing else is touched: containers of other ids or other RunDirs,
// records of other runtimes, and sandboxes of isobench processes that
// still run are left alone. Collect must not run while another Driver
// value of this process holds sandboxes it wants to keep in the same
// StateDir.
func (d *Driver) Collect(ctx context.Context) ([]string, error) {
	var lines []string
	var errs []error
	records, err := stateRecords(d.env.StateDir).ReadAll()
	if err != nil {
		errs = append(errs, err)
	}
	res, err := d.resolve()
	if err != nil {
		// A runtime that is not installed has nothing to collect unless
		// isobench recorded sandboxes of it, which it then cannot remove.
		for _, r := range records {
			if r.Runtime == d.fl.name {
				return nil, fmt.Errorf("%s: collect %s: %w", d.Name(), r.ID, err)
			}
		}
		return nil, errors.Join(errs...)
	}
	live := map[string]bool{}
	done := map[string]bool{}
	self := os.Getpid()
	for _, r := range records {
		if r.Runtime != d.fl.name {
			continue
		}
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

	rt := d.runtimeFor(res, "", false)
	ids, err := rt.list(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, driver.IDPrefix) || live[id] || done[id] {
			continue
		}
		st, exists, err := rt.state(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !exists {
			continue
		}
		bundle := st.Bundle
		if bundle == "" || !driverkit.Under(bundle, d.env.RunDir) {
			// Another isobench environment's sandbox, or not isobench's.
			continue
		}
		l, err := teardown(ctx, rt, res.cg, id, filepath.Join(d.env.RunDir, id))
		lines = append(lines, l...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
	}
	// The networks of dead owners' sandboxes, now that their containers
	// are gone (every driver of this state directory may do it).
	l, err := sandboxnet.Collect(ctx, d.env.StateDir)
	lines = append(lines, l...)
	if err != nil {
		errs = append(errs, err)
	}
	if len(live) == 0 {
		// The parent cgroups go when empty; rmdir refuses otherwise.
		for _, m := range res.cg.Mounts {
			p := filepath.Join(m, cgroupParent)
			if err := syscall.Rmdir(p); err == nil {
				lines = append(lines, "removed empty cgroup "+p)
			}
		}
	}
	if len(errs) > 0 {
		return lines, fmt.Errorf("%s: collect: %w", d.Name(), errors.Join(errs...))
	}
	return lines, nil
}

// collectRecord removes everything a record names.
func (d *Driver) collectRecord(ctx context.Context, res *resolved, r record) ([]string, error) {
	if r.Dir != filepath.Join(d.env.RunDir, r.ID) {
		return nil, fmt.Errorf("state record names directory %q, not %q under this run directory; not touching it", r.Dir, r.ID)
	}
	rt := runtime{fl: d.fl, binary: res.binary, globals: r.Globals, hide: res.hide, sh: res.sh}
	lines, err := teardown(ctx, rt, res.cg, r.ID, r.Dir)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	removed, rerrs := driverkit.RemoveRecorded(r.Mounts, r.Dir)
	lines, errs = append(lines, removed...), append(errs, rerrs...)
	if len(errs) > 0 {
		// The record stays, so a later collect can try again.
		return lines, errors.Join(errs...)
	}
	if err := stateRecords(d.env.StateDir).Remove(r.ID); err != nil {
		return lines, err
	}
	return append(lines, "removed state record of "+r.ID), nil
}
