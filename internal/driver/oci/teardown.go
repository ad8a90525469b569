package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cleanup is one undo step, registered when the thing it undoes is made.
type cleanup struct {
	name string
	fn   func() error
	done bool
	// last marks the state record's removal: it runs only when every
	// other step succeeded, so that a record stays for whatever is left.
	last bool
}

// cleanups is a stack of undo steps, run newest first, each at most once.
type cleanups struct {
	steps  []*cleanup
	failed bool // a step failed, in this run or an earlier one
}

func (c *cleanups) push(name string, fn func() error) *cleanup {
	s := &cleanup{name: name, fn: fn}
	c.steps = append(c.steps, s)
	return s
}

// pushLast registers the step that must only run when all others
// succeeded (removing the state record).
func (c *cleanups) pushLast(name string, fn func() error) *cleanup {
	s := c.push(name, fn)
	s.last = true
	return s
}

// run runs every step not yet done, newest first, and joins their errors.
// A failed step is not retried by a later run: its error is reported once.
// A step pushed with pushLast is kept (not run, not done) when another
// step failed.
func (c *cleanups) run() error {
	var errs []error
	for i := len(c.steps) - 1; i >= 0; i-- {
		s := c.steps[i]
		if s.done {
			continue
		}
		if s.last && (c.failed || len(errs) > 0) {
			errs = append(errs, fmt.Errorf("%s: kept, so that isobench gc can remove what is left", s.name))
			continue
		}
		s.done = true
		if err := s.fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	if len(errs) > 0 {
		c.failed = true
	}
	return errors.Join(errs...)
}

// teardown removes what the runtime and the kernel hold of a sandbox: the
// container (killed and deleted), processes left of it (runsc's gofer and
// sandbox after a failed start, anything in its cgroups), its cgroups and,
// for runsc, the lock file of a container that never got a state file. It
// returns a line for each thing it removed.
func teardown(ctx context.Context, rt runtime, cg cgroupInfo, id, dir string) ([]string, error) {
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
	for _, pid := range cgroupProcs(cg.Mounts, id) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			lines = append(lines, fmt.Sprintf("killed pid %d in the cgroup of %s", pid, id))
		}
	}
	killed, err := killProcs(id, dir, 5*time.Second)
	for _, p := range killed {
		lines = append(lines, fmt.Sprintf("killed leftover process %d of %s: %s", p.PID, id, clip(p.Cmdline, 160)))
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

// cgroupProcs returns the pids in the cgroups of id (and below them).
func cgroupProcs(mounts []string, id string) []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range cgroupDirs(mounts, id) {
		_ = filepath.WalkDir(d, func(path string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() || e.Name() != "cgroup.procs" {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 0 && pid != os.Getpid() && !seen[pid] {
					seen[pid] = true
					out = append(out, pid)
				}
			}
			return nil
		})
	}
	return out
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

// unmount unmounts path, retrying briefly while it is busy. A path that is
// not a mount point is not an error.
func unmount(path string) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := syscall.Unmount(path, 0)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.ENOENT):
			table, terr := readMountInfo()
			if terr != nil {
				return fmt.Errorf("unmounting %s: %w", path, err)
			}
			if !contains(mountsAt(table, path), path) {
				return nil
			}
			return fmt.Errorf("unmounting %s: %w", path, err)
		case errors.Is(err, syscall.EBUSY) && time.Now().Before(deadline):
			time.Sleep(20 * time.Millisecond)
		default:
			return fmt.Errorf("unmounting %s: %w", path, err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// removeInstanceDir removes an instance directory, refusing while anything
// is mounted in it (removing through a mount would reach what is mounted).
func removeInstanceDir(dir string) error {
	table, err := readMountInfo()
	if err != nil {
		return err
	}
	if m := mountsAt(table, dir); len(m) > 0 {
		return fmt.Errorf("not removing %s: still mounted there: %s", dir, strings.Join(m, ", "))
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}
