package cachedir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// BuildPrefix starts the name of an entry being written.
	BuildPrefix = ".build-"
	// OldPrefix starts the name of an entry being replaced or removed.
	OldPrefix = ".old-"
	// IDLen is the length of an entry's ID: a hex SHA-256.
	IDLen = 64

	lockName = ".lock"
	// lockPoll is how often a waiting Lock retries.
	lockPoll = 100 * time.Millisecond
)

// IsID reports whether s looks like an entry's ID: IDLen lowercase hex
// digits.
func IsID(s string) bool { return len(s) == IDLen && IsHex(s) }

// IsHex reports whether s holds only lowercase hex digits.
func IsHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ShortID is the first 12 characters of an ID, for messages.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// FileDigest is the hex SHA-256 of the file's contents.
func FileDigest(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Lock takes the exclusive lock of the cache directory dir, waiting for
// another process that holds it until ctx is done; it says once on log
// that it waits. It returns the unlock function.
func Lock(ctx context.Context, dir string, log io.Writer) (func(), error) {
	f, err := openLock(dir)
	if err != nil {
		return nil, err
	}
	waiting := false
	for {
		err := Flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { Unlock(f) }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock image cache %s: %w", dir, err)
		}
		if !waiting {
			waiting = true
			fmt.Fprintf(log, "image: waiting for another isobench process to release the image cache\n")
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("lock image cache %s: %w", dir, ctx.Err())
		case <-t.C:
		}
	}
}

// TryLock takes the lock of the cache directory dir or fails at once when
// another process holds it.
func TryLock(dir string) (func(), error) {
	f, err := openLock(dir)
	if err != nil {
		return nil, err
	}
	if err := Flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock image cache %s: another isobench process is using it", dir)
		}
		return nil, fmt.Errorf("lock image cache %s: %w", dir, err)
	}
	return func() { Unlock(f) }, nil
}

func openLock(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock image cache: %w", err)
	}
	return f, nil
}

// Flock calls flock(2) on f, retrying when interrupted by a signal.
func Flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// Unlock releases f's lock and closes it.
func Unlock(f *os.File) {
	Flock(f, syscall.LOCK_UN)
	f.Close()
}

// RemoveLeftovers removes what interrupted writes and removals left in
// the cache directory dir. The caller holds the lock, so nothing else is
// writing there.
func RemoveLeftovers(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read image cache: %w", err)
	}
	for _, e := range ents {
		if n := e.Name(); IsLeftover(n) {
			if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("remove leftover %s: %w", n, err)
			}
		}
	}
	return nil
}

// IsLeftover reports whether name is that of an interrupted write or
// removal.
func IsLeftover(name string) bool {
	return strings.HasPrefix(name, BuildPrefix) || strings.HasPrefix(name, OldPrefix)
}

// Publish renames the finished entry tmp of the cache directory dir to
// final, moving an existing final aside and removing it afterwards.
func Publish(dir, tmp, final string) error {
	var old string
	if _, err := os.Lstat(final); err == nil {
		old = filepath.Join(dir, OldPrefix+filepath.Base(final)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("move the old image aside: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("move the new image into place: %w", err)
	}
	if err := SyncDir(dir); err != nil {
		return err
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("remove the old image: %w", err)
		}
	}
	return nil
}

// SyncDir makes the entries of dir durable.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
