package outputfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/isobench/isobench/internal/inputfile"
)

// Write writes a file the user asked for (run --json and --report,
// report -o) through a temporary file in the same directory: written,
// synced, made 0644 and renamed into place. The rename replaces what is at
// path, a symbolic link included, rather than writing through it: isobench
// runs as root, and a link planted where its output goes must not make it
// overwrite the file the link names. A failed write leaves no half file.
func Write(path string, write func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".isobench-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriter(tmp)
	if err := write(bw); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := errors.Join(bw.Flush(), tmp.Chmod(0o644), tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	renamed = true
	// The rename lasts once the directory is synced too; a directory that
	// cannot be synced has the file nonetheless.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Check says, before any work, whether Write could write the file a flag
// (or an argument), what, names: its directory exists and takes a new file, and what is
// at the path (if anything) is a regular file or a symbolic link to one, or
// to nothing, which the output then replaces. A directory, FIFO, device or
// socket there, or a link to one, is refused.
func Check(what, path string) error {
	if path == "" {
		return nil
	}
	if strings.HasSuffix(path, "/") {
		return fmt.Errorf("%s %s: names a directory, not a file", what, path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: the directory %s does not exist", what, path, dir)
	case err != nil:
		return fmt.Errorf("%s %s: %w", what, path, err)
	case !fi.IsDir():
		return fmt.Errorf("%s %s: %s is not a directory", what, path, dir)
	}
	if li, err := os.Lstat(path); err == nil {
		if li.Mode()&fs.ModeSymlink != 0 {
			if ti, err := os.Stat(path); err == nil && !ti.Mode().IsRegular() {
				return fmt.Errorf("%s %s: a symbolic link to %s, not a regular file", what, path, inputfile.Kind(ti.Mode()))
			}
		} else if !li.Mode().IsRegular() {
			return fmt.Errorf("%s %s: %s, not a regular file", what, path, inputfile.Kind(li.Mode()))
		}
	}
	probe, err := os.CreateTemp(dir, ".isobench-check-*")
	if err != nil {
		if u := errors.Unwrap(err); u != nil {
			err = u
		}
		return fmt.Errorf("%s %s: cannot write in %s: %w", what, path, dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}
