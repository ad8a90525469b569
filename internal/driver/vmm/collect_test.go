package vmm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
)

// stubFamily is a Family that is never launched: Collect and Leftovers
// work from state records alone.
type stubFamily struct{}

func (stubFamily) Name() string      { return "stub-vmm" }
func (stubFamily) VMM() string       { return "qemu-microvm" }
func (stubFamily) Transport() string { return TransportMMIO }
func (stubFamily) NeedsKVM() bool    { return false }
func (stubFamily) Resolve(context.Context) (string, string, error) {
	return "", "", driver.NotSupported("stub-vmm", "a stub")
}
func (stubFamily) RootDisk(context.Context, string, string) (string, error) { return "", nil }
func (stubFamily) KernelArgs(*Machine, int64) []string                      { return nil }
func (stubFamily) Launch(*Machine) (*exec.Cmd, Controller, error)           { return nil, nil, nil }
func (stubFamily) NetBackend(*Machine) string                               { return "" }

// leakedVMM starts a stand-in for a VMM process that a crashed isobench
// left running: a process group of its own, like the real ones.
func leakedVMM(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd
}

func TestCollect(t *testing.T) {
	base := t.TempDir()
	env := driver.Env{StateDir: filepath.Join(base, "state"), RunDir: filepath.Join(base, "run")}
	d, err := New(env, stubFamily{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	selfStart, _ := driverkit.ProcStartTime(os.Getpid())
	dead := record{Version: recordVersion, Runtime: "stub-vmm", OwnerPID: 1 << 30, OwnerStart: 1, Created: time.Now()}

	orphan := leakedVMM(t)
	orphanStart, _ := driverkit.ProcStartTime(orphan.Process.Pid)
	reused := leakedVMM(t) // a live process whose pid a stale record names, with another start time
	live := leakedVMM(t)
	liveStart, _ := driverkit.ProcStartTime(live.Process.Pid)

	mk := func(id string, r record) record {
		r.ID, r.Dir = id, filepath.Join(env.RunDir, id)
		if err := os.MkdirAll(r.Dir, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(r.Dir, "root.qcow2"), []byte("x"), 0o600)
		if err := stateRecords(env.StateDir).Create(r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r1 := dead
	r1.VMMPID, r1.VMMStart = orphan.Process.Pid, orphanStart
	mk("isobench-collect-orphan", r1)
	r2 := dead
	r2.VMMPID, r2.VMMStart = reused.Process.Pid, 12345
	mk("isobench-collect-reused", r2)
	r3 := dead
	r3.OwnerPID, r3.OwnerStart = os.Getpid(), selfStart
	r3.VMMPID, r3.VMMStart = live.Process.Pid, liveStart
	mk("isobench-collect-live", r3)
	d.open.Add("isobench-collect-live")
	other := dead
	other.Runtime = "another-vmm"
	mk("isobench-collect-other", other)

	left, err := d.Leftovers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 {
		t.Errorf("Leftovers = %v, want the orphan and the stale record", left)
	}

	lines, err := d.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("collect: %q", lines)
	if err := orphan.Wait(); err == nil {
		t.Error("the orphaned VMM was not killed")
	}
	if !driverkit.Alive(reused.Process.Pid) {
		t.Error("a process whose pid a stale record names (another start time) was killed")
	}
	if !driverkit.Alive(live.Process.Pid) {
		t.Error("the VMM of a guest this process holds open was killed")
	}
	for id, gone := range map[string]bool{"isobench-collect-orphan": true, "isobench-collect-reused": true, "isobench-collect-live": false, "isobench-collect-other": false} {
		_, err := os.Stat(filepath.Join(env.RunDir, id))
		if gone != os.IsNotExist(err) {
			t.Errorf("%s: directory gone %v, want %v", id, os.IsNotExist(err), gone)
		}
		_, err = os.Stat(stateRecords(env.StateDir).Path(id))
		if gone != os.IsNotExist(err) {
			t.Errorf("%s: record gone %v, want %v", id, os.IsNotExist(err), gone)
		}
	}
	if !strings.Contains(strings.Join(lines, "\n"), "killed") {
		t.Errorf("collect did not report the kill: %q", lines)
	}
}
