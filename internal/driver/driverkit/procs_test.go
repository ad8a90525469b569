package driverkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMentionsAndContainsID(t *testing.T) {
	tests := []struct {
		s, id          string
		word, contains bool
	}{
		{"runsc-sandbox boot --bundle=/r/isobench-a1 isobench-a1", "isobench-a1", true, true},
		{"runsc-gofer gofer --bundle /r/isobench-a1/x", "isobench-a1", true, true},
		{"runsc-sandbox boot isobench-a10", "isobench-a1", false, true},
		{"x isobench-a10 isobench-a1", "isobench-a1", true, true},
		{"xisobench-a1", "isobench-a1", false, true},
		{"isobench-a1", "isobench-a1", true, true},
		{"[lxc monitor] /var/lib/lxc isobench-b2", "isobench-b2", true, true},
		{"anything", "", false, false},
		{"", "isobench-a1", false, false},
	}
	for _, tc := range tests {
		if got := MentionsID(tc.s, tc.id); got != tc.word {
			t.Errorf("MentionsID(%q, %q) = %v, want %v", tc.s, tc.id, got, tc.word)
		}
		if got := ContainsID(tc.s, tc.id); got != tc.contains {
			t.Errorf("ContainsID(%q, %q) = %v, want %v", tc.s, tc.id, got, tc.contains)
		}
	}
}

func TestIdentity(t *testing.T) {
	me, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if me.PID != os.Getpid() {
		t.Errorf("Self().PID = %d, want %d", me.PID, os.Getpid())
	}
	back, err := ParseIdentity(me.String())
	if err != nil || back != me {
		t.Fatalf("ParseIdentity(%q) = %v, %v", me.String(), back, err)
	}
	if !back.Alive() || !Alive(me.PID) {
		t.Error("this process is not alive by its identity")
	}
	if (Identity{PID: me.PID, Start: me.Start + 1}).Alive() {
		t.Error("a process with another start time counts as alive")
	}
	for _, pid := range []int{0, -1} {
		if Alive(pid) || (Identity{PID: pid}).Alive() {
			t.Errorf("pid %d counts as alive", pid)
		}
	}
	for _, bad := range []string{"", "12", "x:1", "1:x", "-1:5", "0:3"} {
		if _, err := ParseIdentity(bad); err == nil {
			t.Errorf("ParseIdentity(%q) accepted", bad)
		}
	}
}

// TestProcesses starts real processes and finds them the ways the drivers
// do: by an id on the command line (a whole word or not), by working
// directory, and sees a zombie as gone.
func TestProcesses(t *testing.T) {
	dir := t.TempDir()
	id := "isobench-dk" + strings.Repeat("7", 3) + "-" + filepath.Base(dir)
	sleeper := func(arg0, cwd string) *exec.Cmd {
		// The id rides in argv[0], which the kernel shows as given.
		cmd := exec.Command("sleep", "60")
		cmd.Args[0] = arg0
		cmd.Dir = cwd
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	byID := sleeper("isobench-test "+id, "/")
	longer := sleeper("isobench-test "+id+"0", "/")
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	inDir := sleeper("isobench-test plain", sub)
	pids := func(ps []Proc) []int {
		var out []int
		for _, p := range ps {
			out = append(out, p.PID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(cmds ...*exec.Cmd) []int {
		var out []int
		for _, c := range cmds {
			out = append(out, c.Process.Pid)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name     string
		id, dir  string
		mentions func(string, string) bool
		want     []int
	}{
		{"whole word", id, "", MentionsID, sorted(byID)},
		{"substring", id, "", ContainsID, sorted(byID, longer)},
		{"working directory", "", dir, ContainsID, sorted(inDir)},
		{"both", id, dir, MentionsID, sorted(byID, inDir)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pids(ProcsMentioning(tc.id, tc.dir, tc.mentions)); !slices.Equal(got, tc.want) {
				t.Errorf("ProcsMentioning = %v, want %v", got, tc.want)
			}
		})
	}
	found := ScanProcs(func(p Proc) bool { return p.PID == byID.Process.Pid })
	if len(found) != 1 || !slices.Equal(found[0].Args, []string{"isobench-test " + id, "60"}) || found[0].Cmdline != "isobench-test "+id+" 60" || found[0].Cwd != "/" {
		t.Errorf("ScanProcs found %+v", found)
	}
	if len(ScanProcs(func(p Proc) bool { return p.PID == os.Getpid() })) != 0 {
		t.Error("ScanProcs returned this process")
	}

	// A zombie: exited, not yet waited for.
	z := exec.Command("/bin/true")
	if err := z.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for Alive(z.Process.Pid) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if Alive(z.Process.Pid) {
		t.Error("a zombie counts as alive")
	}
	_ = z.Wait()
}
