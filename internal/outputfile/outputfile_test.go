package outputfile

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/isobench/isobench/internal/testutil/hostile"
)

// TestWriteOutputReplacesSymlink: an output path that is a symbolic link
// is replaced by the new file; the file the link named is left as it was.
func TestWriteOutputReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.json")
	if err := os.Symlink(victim, out); err != nil {
		t.Fatal(err)
	}
	if err := Check("--json", out); err != nil {
		t.Fatalf("a link to a regular file refused: %v", err)
	}
	if err := Write(out, func(w io.Writer) error { _, err := io.WriteString(w, "new\n"); return err }); err != nil {
		t.Fatal(err)
	}
	hostile.AssertReplaced(t, out, victim, "new\n")
	// A failed write leaves what was there and no temporary file.
	err := Write(out, func(w io.Writer) error { io.WriteString(w, "half"); return io.ErrShortWrite })
	if err == nil {
		t.Fatal("a failed write succeeded")
	}
	if b, _ := os.ReadFile(out); string(b) != "new\n" {
		t.Errorf("a failed write changed the file: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("%d entries left in the directory, want 2", len(ents))
	}
}

func TestCheckOutput(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := func(name, to string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(to, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for path, want := range map[string]string{
		filepath.Join(dir, "new.json"):          "",
		regular:                                 "",
		link("dangling", "/nonexistent-target"): "",
		link("to-regular", regular):             "",
		fifo:                                    "a FIFO (named pipe), not a regular file",
		dir:                                     "a directory, not a regular file",
		dir + "/":                               "names a directory",
		"/dev/null":                             "a character device, not a regular file",
		link("to-null", "/dev/null"):            "a symbolic link to a character device, not a regular file",
		link("to-dir", dir):                     "a symbolic link to a directory",
		filepath.Join(regular, "x"):             "is not a directory",
		"/nonexistent-dir/x":                    "the directory /nonexistent-dir does not exist",
	} {
		err := Check("--json", path)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("Check(%s) = %v, want %q", path, err, want)
		}
	}
}
