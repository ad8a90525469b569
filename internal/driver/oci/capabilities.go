package oci

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
)

var (
	_ driver.StartTimer    = (*instance)(nil)
	_ driver.HostProcesses = (*instance)(nil)
	_ driver.HostCgroups   = (*instance)(nil)
	_ driver.Networker     = (*instance)(nil)
)

// Network implements driver.Networker: the veth link into the sandbox's
// network namespace, for a sandbox made with Spec.Network.
func (in *instance) Network() (driver.Network, bool) {
	if in.link == nil {
		return driver.Network{}, false
	}
	n := in.link.Network()
	n.Note = in.netNote
	return n, true
}

// StartTiming implements driver.StartTimer: Launched is when `<runtime>
// run --detach` exited, Ready when the Ready line was read from the
// sandbox log (polled at most readyPoll apart).
func (in *instance) StartTiming() (driver.StartTiming, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.timing, !in.timing.Ready.IsZero()
}

// HostPIDs implements driver.HostProcesses: every process in the sandbox's
// cgroup, which holds all of it: the agent and what it runs for runc, crun
// and youki (which leave no shim when detached); the sentry, the gofer and
// the platform's stub processes for runsc.
func (in *instance) HostPIDs() []int {
	in.mu.Lock()
	running := in.phase == driverkit.PhaseRunning
	in.mu.Unlock()
	if !running {
		return nil
	}
	dirs := cgroupDirs(in.cg.Mounts, in.spec.ID)
	// One hierarchy holds every process; the first found is enough.
	for _, d := range dirs {
		if pids := treeProcs(d); len(pids) > 0 {
			return pids
		}
	}
	return nil
}

// HostCgroups implements driver.HostCgroups: the sandbox's cgroup in each
// hierarchy.
func (in *instance) HostCgroups() []string {
	in.mu.Lock()
	running := in.phase == driverkit.PhaseRunning
	in.mu.Unlock()
	if !running {
		return nil
	}
	return cgroupDirs(in.cg.Mounts, in.spec.ID)
}

// treeProcs returns the pids listed in cgroup.procs of dir and the cgroups
// below it.
func treeProcs(dir string) []int {
	var out []int
	seen := map[int]bool{}
	_ = filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() != "cgroup.procs" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 0 && !seen[pid] {
				seen[pid] = true
				out = append(out, pid)
			}
		}
		return nil
	})
	return out
}
