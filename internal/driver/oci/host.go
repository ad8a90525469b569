package oci

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// cgroupParent is the cgroup every sandbox's cgroup is made under.
const cgroupParent = "isobench"

// cgroupsPath is the OCI cgroupsPath of a sandbox.
func cgroupsPath(id string) string { return "/" + cgroupParent + "/" + id }

// cgroupDirs returns the existing cgroup directories of a sandbox id in every
// hierarchy.
func cgroupDirs(mounts []string, id string) []string {
	var out []string
	for _, m := range mounts {
		p := filepath.Join(m, cgroupParent, id)
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

// removeCgroupDirs removes the cgroup directories of id, retrying briefly
// while their last tasks exit (teardown has killed them). It returns the
// directories it removed.
func removeCgroupDirs(mounts []string, id string, wait time.Duration) ([]string, error) {
	return driverkit.RemoveCgroups(func() []string { return cgroupDirs(mounts, id) }, false, wait)
}

// procsMentioning returns the processes (other than this one) whose command
// line mentions id as a whole word (runsc's gofer and sandbox name the
// bundle and the id; "isobench-a1" is not mentioned by "isobench-a10") or
// whose working directory is dir or below it.
func procsMentioning(id, dir string) []driverkit.Proc {
	return driverkit.ProcsMentioning(id, dir, driverkit.MentionsID)
}

// killProcs sends SIGKILL to the processes mentioning id (see
// procsMentioning) and waits up to wait for them to be gone, killing again
// what is still there. It returns those it killed and an error naming any
// that stayed.
func killProcs(id, dir string, wait time.Duration) ([]driverkit.Proc, error) {
	found := procsMentioning(id, dir)
	for _, p := range found {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
	if len(found) == 0 {
		return nil, nil
	}
	deadline := time.Now().Add(wait)
	for {
		left := procsMentioning(id, dir)
		if len(left) == 0 {
			return found, nil
		}
		if time.Now().After(deadline) {
			var names []string
			for _, p := range left {
				names = append(names, fmt.Sprintf("pid %d (%s)", p.PID, driverkit.Clip(p.Cmdline, 120)))
			}
			return found, fmt.Errorf("processes of %s still running after SIGKILL: %s", id, strings.Join(names, ", "))
		}
		for _, p := range left {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
