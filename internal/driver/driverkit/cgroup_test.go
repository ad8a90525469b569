package driverkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestRemoveCgroups makes real cgroups (a parent and a nested child, in
// the first cgroup hierarchy of this host) with a process in the child,
// and removes them as the drivers do: killing first, or only after the
// caller ended the process.
func TestRemoveCgroups(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making cgroups needs root")
	}
	table, err := ReadMountInfo()
	if err != nil {
		t.Fatal(err)
	}
	cg := Cgroups(table)
	if len(cg.Mounts) == 0 {
		t.Skip("no cgroup hierarchy mounted")
	}
	// A v1 hierarchy when there is one: an empty cgroup2 beside v1
	// controllers (hybrid) takes processes too, but keep to the common case.
	mount := cg.Mounts[0]
	for _, m := range cg.Mounts {
		if !slices.Contains(cg.Unified, m) {
			mount = m
			break
		}
	}
	for _, kill := range []bool{true, false} {
		t.Run(fmt.Sprintf("kill=%v", kill), func(t *testing.T) {
			dir := filepath.Join(mount, fmt.Sprintf("isobench-driverkit-%d-%v", os.Getpid(), kill))
			child := filepath.Join(dir, "nested")
			if err := os.MkdirAll(child, 0o755); err != nil {
				t.Skipf("cannot make a cgroup in %s: %v", mount, err)
			}
			t.Cleanup(func() { _ = RemoveCgroupTree(dir) })
			cmd := exec.Command("sleep", "60")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			if err := os.WriteFile(filepath.Join(child, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
				t.Skipf("cannot move a process into a cgroup of %s: %v", mount, err)
			}
			if got := CgroupProcs([]string{dir}); !slices.Equal(got, []int{cmd.Process.Pid}) {
				t.Errorf("CgroupProcs = %v, want [%d]", got, cmd.Process.Pid)
			}
			if !kill {
				// The caller ends what runs; the removal waits for it.
				go func() { time.Sleep(100 * time.Millisecond); _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			}
			removed, err := RemoveCgroups(func() []string { return []string{dir} }, kill, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(removed, []string{dir}) {
				t.Errorf("removed %q, want [%s]", removed, dir)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("cgroup still there: %v", err)
			}
			if kill {
				deadline := time.Now().Add(5 * time.Second)
				for Alive(cmd.Process.Pid) && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if Alive(cmd.Process.Pid) {
					t.Error("the process in the cgroup was not killed")
				}
			}
		})
	}
	// A cgroup already gone is not an error.
	if err := RemoveCgroupTree(filepath.Join(mount, "isobench-driverkit-none")); err != nil {
		t.Errorf("removing a missing cgroup: %v", err)
	}
}
