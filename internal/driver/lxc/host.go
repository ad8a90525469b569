package lxc

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// lxcCgroupNames are the cgroups LXC makes for a container name: the
// container's own (payload) and its monitor's.
func lxcCgroupNames(name string) []string {
	return []string{"lxc.payload." + name, "lxc.monitor." + name}
}

// cgroupDirs returns the existing cgroup directories LXC made for the
// container name, directly under each cgroup mount (where LXC puts them
// when started from the root cgroup) or one or two levels below (when
// started from a nested cgroup).
func cgroupDirs(mounts []string, name string) []string {
	want := map[string]bool{}
	for _, n := range lxcCgroupNames(name) {
		want[n] = true
	}
	var out []string
	for _, m := range mounts {
		var walk func(dir string, depth int)
		walk = func(dir string, depth int) {
			ents, err := os.ReadDir(dir)
			if err != nil {
				return
			}
			for _, e := range ents {
				if !e.IsDir() {
					continue
				}
				p := filepath.Join(dir, e.Name())
				if want[e.Name()] {
					out = append(out, p)
					continue
				}
				if depth < 2 && !strings.HasPrefix(e.Name(), "lxc.") {
					walk(p, depth+1)
				}
			}
		}
		walk(m, 0)
	}
	return out
}

// removeCgroups kills what is left in the container's cgroups and removes
// them, retrying briefly while the last tasks exit. It returns the
// directories it removed.
func removeCgroups(mounts []string, name string, wait time.Duration) ([]string, error) {
	return driverkit.RemoveCgroups(func() []string { return cgroupDirs(mounts, name) }, true, wait)
}

// procsMentioning returns the processes (other than this one) whose command
// line contains id, also inside a longer word (LXC's monitor names the
// container as "[lxc monitor] <lxcpath> <name>"), or whose working
// directory is dir or below it.
func procsMentioning(id, dir string) []driverkit.Proc {
	return driverkit.ProcsMentioning(id, dir, driverkit.ContainsID)
}
