package ociimport

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

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

// openInRoot opens the regular file name inside root. A symbolic link is
// refused: the files of an image layout are the layout's own, never a
// way to some other file.
func openInRoot(root *os.Root, name string) (*os.File, error) {
	fi, err := root.Lstat(name)
	if err != nil {
		return nil, err
	}
	return inputfile.OpenChecked(name, fi, func(flag int) (*os.File, error) { return root.OpenFile(name, flag, 0) })
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
