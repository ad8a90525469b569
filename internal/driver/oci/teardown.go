package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// teardown removes what the runtime and the kernel hold of a sandbox: the
// container (killed and deleted), processes left of it (runsc's gofer and
// sandbox after a failed start, anything in its cgroups), its cgroups and,
// for runsc, the lock file of a container that never got a state file. It
// returns a line for each thing it removed.
func teardown(ctx context.Context, rt runtime, cg driverkit.CgroupInfo, id, dir string) ([]string, error) {
	var lines []string
	var errs []error
	_, exists, err := rt.state(ctx, id)
	if err != nil {
		// The runtime may be half-broken for this id; deleting is still
		// the way to ask it to let go.
		exists = true
	}
	if exists {
		_, _ = rt.run(ctx, "kill", id, "KILL")
		if _, err := rt.run(ctx, "delete", "--force", id); err != nil {
			var re *runError
			if !errors.As(err, &re) || !saysNotExist(re.stderr) {
				errs = append(errs, err)
			}
		} else {
			lines = append(lines, fmt.Sprintf("%s: deleted container %s", rt.fl.name, id))
		}
	}
	for _, pid := range driverkit.CgroupProcs(cgroupDirs(cg.Mounts, id)) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			lines = append(lines, fmt.Sprintf("killed pid %d in the cgroup of %s", pid, id))
		}
	}
	killed, err := killProcs(id, dir, 5*time.Second)
	for _, p := range killed {
		lines = append(lines, fmt.Sprintf("killed leftover process %d of %s: %s", p.PID, id, driverkit.Clip(p.Cmdline, 160)))
	}
	if err != nil {
		errs = append(errs, err)
	}
	removed, err := removeCgroupDirs(cg.Mounts, id, 5*time.Second)
	for _, p := range removed {
		lines = append(lines, "removed cgroup "+p)
	}
	if err != nil {
		errs = append(errs, err)
	}
	if rt.fl.stateRoot != "" {
		locks, err := removeStaleLocks(rt.fl.stateRoot, id)
		for _, p := range locks {
			lines = append(lines, "removed stale runtime lock file "+p)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return lines, errors.Join(errs...)
}

// removeStaleLocks removes runsc's lock file of the sandbox id (a sandbox
// of one container, named like it) when no state file goes with it: a
// start that died before writing its state, which `runsc delete` does not
// know and leaves.
func removeStaleLocks(root, id string) ([]string, error) {
	base := filepath.Join(root, id+"_sandbox:"+id)
	if _, err := os.Lstat(base + ".state"); err == nil {
		return nil, nil
	}
	err := os.Remove(base + ".lock")
	switch {
	case err == nil:
		return []string{base + ".lock"}, nil
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	}
	return nil, fmt.Errorf("removing runtime lock file: %w", err)
}
