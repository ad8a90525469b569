package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// NotRegularError says that a path names something other than a regular
// file. Its text is "PATH: a KIND, not a regular file", so that a caller
// can put the flag in front: "--file /dev/zero: a character device, not a
// regular file".
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s: %s, not a regular file", e.Path, Kind(e.Mode))
}

// TooLargeError says that a file is larger than its reader takes.
type TooLargeError struct {
	Path string
	Max  int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: larger than %d bytes", e.Path, e.Max)
}

// Kind names the type of file a mode says, with its article: "a regular
// file", "a directory", "a FIFO (named pipe)", "a character device", "a
// block device", "a socket", "a symbolic link".
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeDir != 0:
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}

// Check says whether path names a regular file, following symbolic links,
// without opening it. A path that does not exist is the *fs.PathError of
// os.Stat (errors.Is(err, fs.ErrNotExist)), so that a caller to whom a
// missing file is fine (a database about to be made) can tell.
func Check(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	return nil
}

// CheckIfExists is Check where a missing path is fine.
func CheckIfExists(path string) error {
	if err := Check(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Open opens path for reading if it names a regular file: it is checked
// before it is opened (Check), opened without blocking (O_NONBLOCK, which
// a FIFO swapped in meanwhile would otherwise block on, and which does
// nothing to a regular file's reads), and its descriptor checked again
// (OpenChecked).
func Open(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return OpenChecked(path, fi, func(flag int) (*os.File, error) { return os.OpenFile(path, flag, 0) })
}

// OpenChecked opens, with open and the flags it is given (read-only,
// without blocking, no controlling terminal, close-on-exec), the regular
// file that fi (from Stat, or Lstat where a link must not be followed)
// describes, and makes sure the descriptor is that very file: something
// other than a regular file is a *NotRegularError, and a file swapped in
// between is refused. open lets a caller open within an os.Root.
func OpenChecked(name string, fi fs.FileInfo, open func(flag int) (*os.File, error)) (*os.File, error) {
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Path: name, Mode: fi.Mode()}
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
		return nil, &NotRegularError{Path: name, Mode: st.Mode()}
	}
	if !os.SameFile(fi, st) {
		f.Close()
		return nil, fmt.Errorf("%s changed while it was being opened", name)
	}
	return f, nil
}

// Read returns the contents of the regular file at path (see Open), of at
// most max bytes: a larger file is a *TooLargeError, found from its size
// before reading and by reading no more than max+1 bytes.
func Read(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		return nil, &TooLargeError{Path: path, Max: max}
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, &TooLargeError{Path: path, Max: max}
	}
	return b, nil
}
