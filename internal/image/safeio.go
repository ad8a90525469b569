package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/isobench/isobench/internal/inputfile"
)

// Reading files of an imported image. Whatever path the user names, and
// whatever file a layout directory holds, may be a named pipe (opening it
// for reading would block until a writer comes), a device (/dev/zero never
// ends), a socket or a symbolic link to any of these or to a file of the
// host. Every such file is looked at with Lstat or Stat before it is
// opened, opened without blocking, and checked again on the open
// descriptor: it must be the same regular file.

// notRegular is the error for a file that is not a regular file: "NAME: a
// named pipe (FIFO), not a regular file", as for every input file.
func notRegular(name string, m fs.FileMode) error {
	return &inputfile.NotRegularError{Path: name, Mode: m}
}

// openChecked opens the regular file that fi (from Stat or Lstat) describes,
// with open, without blocking, and makes sure the descriptor is that very
// file: a file swapped in between is refused.
func openChecked(name string, fi fs.FileInfo, open func(flag int) (*os.File, error)) (*os.File, error) {
	if !fi.Mode().IsRegular() {
		return nil, notRegular(name, fi.Mode())
	}
	f, err := open(os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY | syscall.O_CLOEXEC)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, notRegular(name, st.Mode())
	}
	if !os.SameFile(fi, st) {
		f.Close()
		return nil, fmt.Errorf("%s changed while it was being opened", name)
	}
	return f, nil
}

// openRegularPath opens a file the user named, following symbolic links
// (the user chose the path), but only when it ends at a regular file.
func openRegularPath(name string) (*os.File, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	return openChecked(name, fi, func(flag int) (*os.File, error) { return os.OpenFile(name, flag, 0) })
}

// openInRoot opens the regular file name inside root. A symbolic link is
// refused: the files of an image layout are the layout's own, never a
// way to some other file.
func openInRoot(root *os.Root, name string) (*os.File, error) {
	fi, err := root.Lstat(name)
	if err != nil {
		return nil, err
	}
	return openChecked(name, fi, func(flag int) (*os.File, error) { return root.OpenFile(name, flag, 0) })
}

// errTooLarge says a file is over its size limit.
type errTooLarge struct {
	name       string
	size, max  int64
	whatLimits string
}

func (e *errTooLarge) Error() string {
	if e.size < 0 {
		return fmt.Sprintf("%s is larger than %d bytes, the limit for %s", e.name, e.max, e.whatLimits)
	}
	return fmt.Sprintf("%s is %d bytes, over the limit of %d bytes for %s", e.name, e.size, e.max, e.whatLimits)
}

// readAllMax reads r to its end, refusing more than max bytes.
func readAllMax(r io.Reader, name string, max int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if int64(len(b)) > max {
		return nil, &errTooLarge{name: name, size: -1, max: max, whatLimits: what}
	}
	return b, nil
}

// errIsNotExist reports whether err says a file is missing.
func errIsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
