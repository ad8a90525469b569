package driverkit

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestTexts(t *testing.T) {
	tests := []struct {
		name string
		f    func(string, int) string
		in   string
		n    int
		want string
	}{
		{"clip short", Clip, "  short \n", 100, "short"},
		{"clip long", Clip, "abcdef", 3, "abc…"},
		{"tail at a line", Tail, "line1\nline2\nline3", 9, "…line3"},
		{"tail short", Tail, "  short \n", 100, "short"},
		{"tail no line", Tail, "abcdefgh", 3, "…fgh"},
		{"tail bytes", TailBytes, "line1\nline2\nline3", 9, "…ne2\nline3"},
		{"tail bytes short", TailBytes, " short\n", 10, "short"},
	}
	for _, tc := range tests {
		if got := tc.f(tc.in, tc.n); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestReadTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(p, []byte(strings.Repeat("x", 100)+"\nlast line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The last 20 bytes, trimmed: short enough not to be cut again.
	if got := ReadTail(p, 20); got != "xxxxxxxxx\nlast line" {
		t.Errorf("ReadTail = %q", got)
	}
	if got := ReadTail(p, 1000); !strings.HasSuffix(got, "x\nlast line") || strings.HasPrefix(got, "…") {
		t.Errorf("ReadTail of the whole file = %q", got)
	}
	if got := ReadTail(filepath.Join(t.TempDir(), "none"), 10); got != "" {
		t.Errorf("ReadTail of a missing file = %q", got)
	}
}

func TestTailBuffer(t *testing.T) {
	r := NewTailBuffer(8)
	r.Write([]byte("0123456789"))
	r.Write([]byte("ab"))
	if r.String() != "456789ab" {
		t.Errorf("ring = %q", r.String())
	}
	// Writers at once (a command's stdout and stderr) keep it whole.
	r = NewTailBuffer(64)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				r.Write([]byte("ab"))
			}
		}()
	}
	wg.Wait()
	if got := r.String(); got != strings.Repeat("ab", 32) {
		t.Errorf("after concurrent writes: %q", got)
	}
}

func TestLXCLogErrors(t *testing.T) {
	log := "lxc-start isobench-x 20240101 INFO     conf - conf.c:run_script:340 - Executing script\n" +
		"lxc-start isobench-x 20240101 ERROR    start - start.c:start:2197 - No such file or directory - Failed to exec \"/sbin/init\"  \n" +
		"lxc-start isobench-x 20240101 ERROR    sync - sync.c:sync_wait:34 - An error occurred in another process\n"
	tests := []struct {
		log  string
		n    int
		want string
	}{
		{log, 8, ` (LXC's log: lxc-start isobench-x 20240101 ERROR    start - start.c:start:2197 - No such file or directory - Failed to exec "/sbin/init"; lxc-start isobench-x 20240101 ERROR    sync - sync.c:sync_wait:34 - An error occurred in another process)`},
		{log, 1, ` (LXC's log: lxc-start isobench-x 20240101 ERROR    sync - sync.c:sync_wait:34 - An error occurred in another process)`},
		{"lxc-start isobench-x 20240101 INFO     all fine\n", 8, ""},
		{"", 8, ""},
	}
	for _, tc := range tests {
		if got := LXCLogErrors([]byte(tc.log), tc.n); got != tc.want {
			t.Errorf("LXCLogErrors(n=%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
