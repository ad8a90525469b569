package guesttest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/guest"
	"github.com/isobench/isobench/internal/testutil"
)

// CacheDir is the cache directory the test kernel lives in.
func CacheDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(testutil.ModuleRoot(t), "bin", "test", "cache")
}

// Kernel returns the test guest kernel, fetching it on first use. It skips
// the test, with the reason, where the distribution's kernel cannot be
// fetched (no Debian package tools, no package lists).
func Kernel(t testing.TB) *guest.Kernel {
	t.Helper()
	cache := CacheDir(t)
	if k, err := guest.DefaultKernel(cache); err == nil {
		return k
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	// One test process fetches; the others wait for it.
	lock, err := os.OpenFile(filepath.Join(cache, ".fetch.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	for {
		err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if k, err := guest.DefaultKernel(cache); err == nil {
		return k
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	k, err := guest.FetchKernel(ctx, guest.FetchOptions{CacheDir: cache, Log: testLog{t}})
	if err != nil {
		t.Skipf("no guest kernel for this test: %v", err)
	}
	t.Logf("fetched guest kernel %s in %s", k.Release, time.Since(start).Round(time.Millisecond))
	return k
}

type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s", p)
	return len(p), nil
}
