package driverkit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cgroup layouts of a host.
const (
	CgroupV1     = "v1"
	CgroupV2     = "v2"
	CgroupHybrid = "hybrid" // v1 controllers beside a cgroup2 hierarchy
	CgroupNone   = "none"
)

// CgroupInfo is what the mount table says about cgroups.
type CgroupInfo struct {
	// Layout is CgroupV1, CgroupV2, CgroupHybrid or CgroupNone.
	Layout string
	// Mounts are every cgroup (v1) and cgroup2 mount point, once each, in
	// the table's order.
	Mounts []string
	// Unified are the cgroup2 mount points; on a hybrid host these are
	// what crun must not see.
	Unified []string
}

// Cgroups reads the cgroup layout from a mount table.
func Cgroups(table []Mount) CgroupInfo {
	var ci CgroupInfo
	v1 := false
	seen := map[string]bool{}
	for _, m := range table {
		switch m.FSType {
		case "cgroup":
			v1 = true
		case "cgroup2":
			ci.Unified = append(ci.Unified, m.Point)
		default:
			continue
		}
		if !seen[m.Point] {
			seen[m.Point] = true
			ci.Mounts = append(ci.Mounts, m.Point)
		}
	}
	switch {
	case v1 && len(ci.Unified) > 0:
		ci.Layout = CgroupHybrid
	case v1:
		ci.Layout = CgroupV1
	case len(ci.Unified) > 0:
		ci.Layout = CgroupV2
	default:
		ci.Layout = CgroupNone
	}
	return ci
}

// HybridUnified returns the cgroup2 mount points of a hybrid host, where
// crun refuses to run; nil on any other layout.
func (c CgroupInfo) HybridUnified() []string {
	if c.Layout != CgroupHybrid {
		return nil
	}
	return c.Unified
}

// RemoveCgroupTree removes a cgroup directory and the cgroups below it,
// deepest first. cgroupfs allows only rmdir (the control files go with the
// directory). A directory already gone is not an error.
func RemoveCgroupTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("reading cgroup %s: %w", dir, err)
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := RemoveCgroupTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("removing cgroup %s: %w", dir, err)
	}
	return nil
}

// CgroupProcs returns the pids (other than this process's) in the given
// cgroup directories and the cgroups below them, each once.
func CgroupProcs(dirs []string) []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() || e.Name() != "cgroup.procs" {
				return nil
			}
			b, err := os.ReadFile(p)
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

// RemoveCgroups removes the cgroup directories that dirs returns (it is
// asked again on each try), retrying for up to wait while their last tasks
// exit. With kill, what still runs in them is sent SIGKILL before each try;
// without, the caller has ended it. It returns the directories it removed.
func RemoveCgroups(dirs func() []string, kill bool, wait time.Duration) ([]string, error) {
	var removed []string
	deadline := time.Now().Add(wait)
	for {
		ds := dirs()
		if kill {
			for _, pid := range CgroupProcs(ds) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		var errs []error
		for _, d := range ds {
			// Nested cgroups (a runtime may make some) go first.
			if err := RemoveCgroupTree(d); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, d)
		}
		if len(errs) == 0 {
			return removed, nil
		}
		if time.Now().After(deadline) {
			return removed, errors.Join(errs...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
