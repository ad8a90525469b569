package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/isobench/isobench/internal/testutil"
)

// resident counts the pages of a file that are in the page cache.
func resident(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	vec := make([]byte, (len(mem)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestDropCaches writes a file, reads it into the page cache, and checks
// that DropCaches leaves none of its pages there.
func TestDropCaches(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type == 0x01021994 || st.Type == 0x858458F6 {
		t.Skip("the test directory is on tmpfs or ramfs, whose pages are the files and are never dropped")
	}
	path := filepath.Join(dir, "cached")
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(i)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	before := resident(t, path)
	if before == 0 {
		t.Fatal("the file just read has no page in the cache; cannot test dropping")
	}
	if err := (HostOps{}).DropCaches(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := resident(t, path); after != 0 {
		t.Errorf("%d of the file's pages still cached after DropCaches (%d before)", after, before)
	}
}

func TestDropCachesCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (HostOps{}).DropCaches(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
