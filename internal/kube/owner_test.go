package kube

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

func TestOwner(t *testing.T) {
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseOwner(self.String())
	if err != nil || back != self {
		t.Fatalf("ParseOwner(%q) = %+v, %v; want %+v", self.String(), back, err, self)
	}
	if self.Gone(self.Host) {
		t.Error("the running test process is taken for gone")
	}
	// The same pid with another start time is another process.
	reused := self
	reused.Start++
	if !reused.Gone(self.Host) {
		t.Error("a reused pid is taken for the owner")
	}
	// On another host nothing is known.
	if self.Gone("some-other-host") {
		t.Error("an owner on another host is taken for gone")
	}
	// A pid that no longer runs.
	dead := Owner{Host: self.Host, PID: deadPID(t), Start: 1}
	if !dead.Gone(self.Host) {
		t.Errorf("pid %d, which does not run, is taken for alive", dead.PID)
	}
	// A host name with slashes still parses.
	o := Owner{Host: "host/with/slashes", PID: 7, Start: 9}
	if back, err := ParseOwner(o.String()); err != nil || back != o {
		t.Errorf("ParseOwner(%q) = %+v, %v", o.String(), back, err)
	}
	for _, bad := range []string{"", "host", "host/1", "host/x/2", "host/1/x", "/1/2", "host/-1/2"} {
		if _, err := ParseOwner(bad); err == nil {
			t.Errorf("ParseOwner(%q) accepted", bad)
		}
	}
}

// deadPID returns a pid that no process has.
func deadPID(t *testing.T) int {
	t.Helper()
	for pid := 4194000; pid > 1000; pid -= 7919 {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); os.IsNotExist(err) {
			return pid
		}
	}
	t.Skip("no free pid found")
	return 0
}

// TestOwnerZombie checks that an isobench that ended but was not yet
// reaped by its parent (a zombie, as right after a kill) is gone.
func TestOwnerZombie(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "exit 0")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	pid := cmd.Process.Pid
	defer cmd.Wait()
	host, _ := os.Hostname()
	for i := 0; i < 100; i++ {
		if state, start, ok := procStat(pid); ok && state == "Z" {
			// The right start time: only the state says it is gone.
			o := Owner{Host: host, PID: pid, Start: start}
			if !o.Gone(host) {
				t.Fatal("a zombie owner is taken for alive")
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Skip("the child did not become a zombie in time")
}
