package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseSyscallReport reads reports the agent wrote in real sandboxes
// (captured from isobench runs on each runtime) and refuses broken ones.
func TestParseSyscallReport(t *testing.T) {
	files, err := filepath.Glob("testdata/syscalls-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured reports: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := ParseSyscallReport(string(b))
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Ops) != len(SyscallOps()) || rep.Calls < 1 {
				t.Fatalf("report %+v: want every operation", rep)
			}
			for i, op := range rep.Ops {
				if op.Op != SyscallOps()[i] || op.MedianNanos <= 0 {
					t.Errorf("operation %d: %+v", i, op)
				}
			}
		})
	}
	good, _ := os.ReadFile(files[0])
	bad := []struct{ name, text string }{
		{"empty", ""},
		{"two lines", string(good) + string(good)},
		{"not json", "getpid 12ns"},
		{"other type", strings.Replace(string(good), `"type":"syscalls"`, `"type":"result"`, 1)},
		{"negative", `{"type":"syscalls","file":"/x","calls":10,"ops":[{"op":"getpid","round_ns":[-1],"median_ns":-1}]}`},
		{"median not of rounds", `{"type":"syscalls","file":"/x","calls":10,"ops":[{"op":"getpid","round_ns":[1,2,3],"median_ns":3}]}`},
		{"no rounds", `{"type":"syscalls","file":"/x","calls":10,"ops":[{"op":"getpid","round_ns":[],"median_ns":3}]}`},
		{"twice", `{"type":"syscalls","file":"/x","calls":10,"ops":[{"op":"getpid","round_ns":[1],"median_ns":1},{"op":"getpid","round_ns":[1],"median_ns":1}]}`},
		{"unknown field", `{"type":"syscalls","file":"/x","calls":10,"ops":[],"extra":1}`},
		{"no ops", `{"type":"syscalls","file":"/x","calls":10,"ops":[]}`},
	}
	for _, c := range bad {
		if _, err := ParseSyscallReport(c.text); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// FuzzParseSyscallReport: no input panics, and what is accepted has the
// promised shape.
func FuzzParseSyscallReport(f *testing.F) {
	files, _ := filepath.Glob("testdata/syscalls-*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		rep, err := ParseSyscallReport(s)
		if err != nil {
			return
		}
		if rep.Type != TypeSyscalls || rep.Calls < 1 || len(rep.Ops) == 0 {
			t.Fatalf("accepted %+v", rep)
		}
		for _, op := range rep.Ops {
			if op.MedianNanos <= 0 || len(op.RoundNanos) == 0 {
				t.Fatalf("accepted %+v", op)
			}
		}
	})
}

// TestSyscallsMode runs the mode on this host: one report line that
// parses, every operation timed, and bad flags refused.
func TestSyscallsMode(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"syscalls", "-n", "2000", "-rounds", "3"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	rep, err := ParseSyscallReport(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Calls != 2000 || len(rep.Ops) != 3 || len(rep.Ops[0].RoundNanos) != 3 {
		t.Errorf("report %+v", rep)
	}
	for _, args := range [][]string{{"-n", "0"}, {"-rounds", "0"}, {"-ops", "fork"}, {"-file", "/nonexistent/x"}, {"extra"}} {
		out.Reset()
		errOut.Reset()
		if code := Main(append([]string{"syscalls", "-n", "10"}, args...), nil, &out, &errOut); code == 0 || errOut.Len() == 0 {
			t.Errorf("syscalls %v: exit %d, stderr %q", args, code, errOut.String())
		}
	}
}
