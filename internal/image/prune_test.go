package image_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/image/ociimport"
	"github.com/isobench/isobench/internal/testutil"
)

// TestPruneAndRemove fills a cache with two imported images and a
// leftover, and removes them: an image held by a run stays, the cache lock
// is respected, and each removal says what it freed.
func TestPruneAndRemove(t *testing.T) {
	testutil.Agent(t)
	work := t.TempDir()
	cache := filepath.Join(work, "cache")
	writeFiles(t, work, map[string][]byte{
		"a.tar": dockerArchive(t, "a:1", tarOf(t, []ent{file("a", strings.Repeat("a", 100000))})),
		"b.tar": dockerArchive(t, "b:1", tarOf(t, []ent{file("b", strings.Repeat("b", 100000))})),
	})
	a, err := importFrom(t, cache, filepath.Join(work, "a.tar"), ociimport.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := importFrom(t, cache, filepath.Join(work, "b.tar"), ociimport.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(cache, "images", ".build-12345")
	writeFiles(t, leftover, map[string][]byte{"rootfs/x": []byte(strings.Repeat("x", 50000))})

	// Another process holds the cache lock: nothing is removed.
	lock, err := os.OpenFile(filepath.Join(cache, "images", ".lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := image.PruneImages(cache); err == nil || !strings.Contains(err.Error(), "another isobench process is using it") {
		t.Errorf("prune while the cache is locked: %v", err)
	}
	if _, err := image.RemoveImage(cache, a.ID[:10]); err == nil || !strings.Contains(err.Error(), "another isobench process is using it") {
		t.Errorf("rm while the cache is locked: %v", err)
	}
	lock.Close()
	if _, err := os.Stat(leftover); err != nil {
		t.Fatalf("the leftover went while the cache was locked: %v", err)
	}

	// A run holds image a: prune leaves it, and says so.
	release, err := image.Hold(a)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := image.PruneImages(cache)
	var inUse *image.InUseError
	if !errors.As(err, &inUse) || len(inUse.IDs) != 1 || !strings.HasPrefix(a.ID, inUse.IDs[0]) {
		t.Errorf("prune with a held image: %v, want it named in use", err)
	}
	if len(removed) != 2 || removed[0].Name != ".build-12345" || removed[0].Bytes < 50000 || removed[1].ID != b.ID || removed[1].Bytes < 100000 {
		t.Errorf("prune removed %+v, want the leftover and image b with their sizes", removed)
	}
	if _, err := image.RemoveImage(cache, a.ID[:12]); !errors.As(err, &inUse) {
		t.Errorf("rm of a held image: %v", err)
	}
	release()

	r, err := image.RemoveImage(cache, a.ID[:12])
	if err != nil || r.ID != a.ID || r.Bytes < 100000 {
		t.Fatalf("rm: %+v %v", r, err)
	}
	if _, err := image.Hold(a); err == nil {
		t.Error("Hold of a removed image succeeded")
	}
	if _, err := image.RemoveImage(cache, a.ID[:12]); err == nil {
		t.Error("a second rm succeeded")
	}
	if left := cachedImages(t, cache); len(left) > 0 {
		t.Errorf("the cache keeps %v", left)
	}
}
