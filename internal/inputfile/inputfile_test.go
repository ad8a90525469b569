package inputfile

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within fails the test when f takes longer than a few seconds: opening a
// FIFO for reading would block for good.
func within(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("blocked")
		return nil
	}
}

func TestRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	link := filepath.Join(dir, "link-to-fifo")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	for path, kind := range map[string]string{
		"/dev/zero": "a character device",
		"/dev/null": "a character device",
		fifo:        "a FIFO (named pipe)",
		link:        "a FIFO (named pipe)",
		sock:        "a socket",
		dir:         "a directory",
	} {
		for name, f := range map[string]func() error{
			"Check": func() error { return Check(path) },
			"Open": func() error {
				f, err := Open(path)
				if err == nil {
					f.Close()
				}
				return err
			},
			"Read": func() error { _, err := Read(path, 1<<20); return err },
		} {
			err := within(t, f)
			var nr *NotRegularError
			if !errors.As(err, &nr) || err.Error() != path+": "+kind+", not a regular file" {
				t.Errorf("%s(%s) = %v, want %q", name, path, err, kind)
			}
		}
	}
}

func TestReadsRegularFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "suite.yaml")
	if err := os.WriteFile(file, []byte("workloads: [cpu]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, link} {
		b, err := Read(p, 100)
		if err != nil || string(b) != "workloads: [cpu]\n" {
			t.Errorf("Read(%s) = %q, %v", p, b, err)
		}
	}
	var tl *TooLargeError
	if _, err := Read(file, 5); !errors.As(err, &tl) || !strings.Contains(err.Error(), "larger than 5 bytes") {
		t.Errorf("Read of a too large file: %v", err)
	}
	missing := filepath.Join(dir, "missing")
	if err := Check(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Check(missing) = %v", err)
	}
	if err := CheckIfExists(missing); err != nil {
		t.Errorf("CheckIfExists(missing) = %v", err)
	}
	if err := CheckIfExists("/dev/zero"); err == nil {
		t.Error("CheckIfExists(/dev/zero) took a device")
	}
}
