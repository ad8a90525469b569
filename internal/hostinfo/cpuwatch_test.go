package hostinfo

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	cases := []struct {
		name, text string
		ok         bool
		comm       string
		ppid       int
		ticks      uint64
	}{
		{"plain", "1234 (sysbench) S 1200 1234 1200 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 2 0 1 1 1", true, "sysbench", 1200, 280},
		{"spaces and parens", "77 (a (b) c) R 5 77 5 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 1 1 1", true, "a (b) c", 5, 15},
		{"short", "77 (x) R 5", false, "", 0, 0},
		{"no parens", "77 x R 5 77 5 0 -1 0 0 0 0 0 7 8", false, "", 0, 0},
		{"bad number", "77 (x) R 5 77 5 0 -1 0 0 0 0 0 seven 8 0", false, "", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, ok := ParseProcStat([]byte(c.text))
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if ok && (st.comm != c.comm || st.ppid != c.ppid || st.ticks != c.ticks) {
				t.Fatalf("got %+v", st)
			}
		})
	}
}

func FuzzParseProcStat(f *testing.F) {
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("1 (init) S 0 1 1 0 -1 0 0 0 0 0 1 2 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseProcStat(b)
	})
}

// TestCPUWatchSeesOtherLoad burns a CPU in a process that is not isobench's
// and checks the watch counts it, and not a process of our own.
func TestCPUWatchSeesOtherLoad(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no procfs")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	// A busy loop in a shell; its parent is this test process, which the
	// watch must not count as isobench's: pass a self pid that is not ours.
	cmd := exec.Command(sh, "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	w := StartCPUWatch("", -1)
	time.Sleep(1500 * time.Millisecond)
	other := w.Stop()
	if other.Cores < 0.3 {
		t.Fatalf("other load %.2f cores with a busy loop running (top %v)", other.Cores, other.Top)
	}
	if len(other.Top) == 0 || !strings.HasPrefix(other.Top[0], "sh ") {
		t.Logf("busiest other processes: %v", other.Top)
	}

	// The same loop as our own child is not other load.
	w = StartCPUWatch("", os.Getpid())
	time.Sleep(1500 * time.Millisecond)
	ours := w.Stop()
	for _, top := range ours.Top {
		if strings.HasPrefix(top, "sh ") {
			t.Fatalf("our own child counted as other load: %v", ours.Top)
		}
	}
}
