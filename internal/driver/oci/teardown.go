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
	// A runtime may hang deleting a sandbox that never started (runsc on
	// a platform that cannot run here waits on a sandbox process that
	// never answers): its processes are then killed and the delete tried
	// once more, each attempt with its own bound.
	deleted, deleteErr := true, error(nil)
	if exists {
		kctx, cancel := context.WithTimeout(ctx, killTimeout)
		_, _ = rt.run(kctx, "kill", id, "KILL")
		cancel()
		deleted, deleteErr = deleteContainer(ctx, rt, id)
	}
	killAll := func() error {
		for _, pid := range driverkit.CgroupProcs(cgroupDirs(cg.Mounts, id)) {
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				lines = append(lines, fmt.Sprintf("killed pid %d in the cgroup of %s", pid, id))
			}
		}
		killed, err := killProcs(id, dir, 5*time.Second)
		for _, p := range killed {
			lines = append(lines, fmt.Sprintf("killed leftover process %d of %s: %s", p.PID, id, driverkit.Clip(p.Cmdline, 160)))
		}
		return err
	}
	killErr := killAll()
	if deleteErr != nil && ctx.Err() == nil {
		deleted, deleteErr = deleteContainer(ctx, rt, id)
		killErr = killAll()
	}
	if deleteErr != nil {
		errs = append(errs, deleteErr)
	} else if exists && deleted {
		lines = append(lines, fmt.Sprintf("%s: deleted container %s", rt.fl.name, id))
	}
	if killErr != nil {
		errs = append(errs, killErr)
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

// killTimeout and deleteTimeout bound one `kill` and one `delete --force`
// of teardown.
const (
	killTimeout   = 5 * time.Second
	deleteTimeout = 15 * time.Second
)

// deleteContainer asks the runtime to delete the container id, within
// deleteTimeout. It reports whether the runtime deleted one; a container
// the runtime does not know is no error.
func deleteContainer(ctx context.Context, rt runtime, id string) (bool, error) {
	dctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	_, err := rt.run(dctx, "delete", "--force", id)
	if err == nil {
		return true, nil
	}
	var re *runError
	if errors.As(err, &re) && saysNotExist(re.stderr) {
		return false, nil
	}
	return false, err
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
