package hostile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// FIFO makes a named pipe called name in dir and returns its path.
func FIFO(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// LinkToZero makes a symbolic link called name in dir to /dev/zero and
// returns its path.
func LinkToZero(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.Symlink("/dev/zero", p); err != nil {
		t.Fatal(err)
	}
	return p
}

// AssertReplaced checks what an output written onto a symbolic link must
// leave: out a regular file of mode 0644 holding want, and victim, the
// file the link named (which held "keep\n"), untouched.
func AssertReplaced(t testing.TB, out, victim, want string) {
	t.Helper()
	fi, err := os.Lstat(out)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("%s is %s, want a regular file of mode 0644", out, fi.Mode())
	}
	if b, _ := os.ReadFile(out); string(b) != want {
		t.Errorf("%s holds %q, want %q", out, b, want)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("the file the link named was written through: %q", b)
	}
}
