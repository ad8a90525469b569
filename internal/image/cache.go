package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Names inside the cache's images directory and inside one image.
const (
	imagesName   = "images"
	lockName     = ".lock"
	buildPrefix  = ".build-" // an image being written
	oldPrefix    = ".old-"   // an image being removed
	rootfsName   = "rootfs"
	manifestName = "manifest.json"
	// maxManifest bounds the manifest file Open reads.
	maxManifest = 64 << 20
	// idLen is the length of an image ID: a hex SHA-256.
	idLen = 64
	// lockPoll is how often a waiting Build retries the cache lock.
	lockPoll = 100 * time.Millisecond
)

// manifestFile is the JSON stored as manifest.json in an image directory.
// It is written last, so its presence marks the image complete.
type manifestFile struct {
	Recipe   string    `json:"recipe"`
	ID       string    `json:"id"`
	Built    time.Time `json:"built"`
	Manifest Manifest  `json:"manifest"`
}

// imagesDir is where the images of a cache directory live.
func imagesDir(cacheDir string) string { return filepath.Join(cacheDir, imagesName) }

// isID reports whether s looks like an image ID.
func isID(s string) bool { return len(s) == idLen && isHex(s) }

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// lockCache takes the exclusive lock of the images directory, waiting for
// another process that holds it until ctx is done. It returns the unlock
// function.
func lockCache(ctx context.Context, images string, log io.Writer) (func(), error) {
	f, err := openLock(images)
	if err != nil {
		return nil, err
	}
	waiting := false
	for {
		err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { unlockFile(f) }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock image cache %s: %w", images, err)
		}
		if !waiting {
			waiting = true
			logf(log, "image: waiting for another isobench process to release the image cache")
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("lock image cache %s: %w", images, ctx.Err())
		case <-t.C:
		}
	}
}

// tryLockCache takes the cache lock or fails at once when another process
// holds it.
func tryLockCache(images string) (func(), error) {
	f, err := openLock(images)
	if err != nil {
		return nil, err
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock image cache %s: another isobench process is using it", images)
		}
		return nil, fmt.Errorf("lock image cache %s: %w", images, err)
	}
	return func() { unlockFile(f) }, nil
}

func openLock(images string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(images, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock image cache: %w", err)
	}
	return f, nil
}

// flock calls flock(2), retrying when interrupted by a signal.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func unlockFile(f *os.File) {
	flock(f, syscall.LOCK_UN)
	f.Close()
}

// removeLeftovers removes what interrupted builds and removals left in the
// images directory. The caller holds the cache lock, so nothing else is
// writing there.
func removeLeftovers(images string) error {
	ents, err := os.ReadDir(images)
	if err != nil {
		return fmt.Errorf("read image cache: %w", err)
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, buildPrefix) || strings.HasPrefix(n, oldPrefix) {
			if err := os.RemoveAll(filepath.Join(images, n)); err != nil {
				return fmt.Errorf("remove leftover %s: %w", n, err)
			}
		}
	}
	return nil
}

// writeManifest writes img's manifest.json into dir, durably.
func writeManifest(dir string, img *Image) error {
	b, err := json.MarshalIndent(manifestFile{Recipe: recipe, ID: img.ID, Built: img.Built, Manifest: img.Manifest}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	tmp := filepath.Join(dir, manifestName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, manifestName))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// publish renames the finished image directory tmp to final, moving an
// existing final aside and removing it afterwards.
func publish(images, tmp, final string) error {
	var old string
	if _, err := os.Lstat(final); err == nil {
		old = filepath.Join(images, oldPrefix+filepath.Base(final)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("move the old image aside: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("move the new image into place: %w", err)
	}
	if err := syncDir(images); err != nil {
		return err
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("remove the old image: %w", err)
		}
	}
	return nil
}

func syncDir(dir string) error {
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

// Open reads the image in directory dir: its manifest.json and its rootfs
// directory. A directory without a manifest (missing, or an image whose
// build never finished) gives an error wrapping fs.ErrNotExist.
func Open(dir string) (*Image, error) {
	dir = filepath.Clean(dir)
	f, err := os.Open(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, fmt.Errorf("open image %s: %w", dir, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("open image %s: read manifest: %w", dir, err)
	}
	if len(b) > maxManifest {
		return nil, fmt.Errorf("open image %s: manifest larger than %d bytes", dir, maxManifest)
	}
	var mf manifestFile
	if err := json.Unmarshal(b, &mf); err != nil {
		return nil, fmt.Errorf("open image %s: decode %s: %w", dir, manifestName, err)
	}
	if !isID(mf.ID) {
		return nil, fmt.Errorf("open image %s: manifest id %q is not a %d-digit hex digest", dir, mf.ID, idLen)
	}
	rootfs := filepath.Join(dir, rootfsName)
	st, err := os.Stat(rootfs)
	if err != nil {
		return nil, fmt.Errorf("open image %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open image %s: %s is not a directory", dir, rootfs)
	}
	return &Image{ID: mf.ID, Dir: dir, Rootfs: rootfs, Manifest: mf.Manifest, Built: mf.Built}, nil
}

// Lookup finds a complete image in the cache by its ID or by a prefix of
// it that names only one image. An unknown ID gives an error wrapping
// fs.ErrNotExist.
func Lookup(cacheDir, id string) (*Image, error) {
	if id == "" || len(id) > idLen || !isHex(id) {
		return nil, fmt.Errorf("look up image %q: an image ID is 1 to %d lowercase hex digits", id, idLen)
	}
	images := imagesDir(cacheDir)
	if len(id) == idLen {
		img, err := Open(filepath.Join(images, id))
		if err != nil {
			return nil, fmt.Errorf("look up image %s in %s: %w", shortID(id), cacheDir, err)
		}
		if img.ID != id {
			return nil, fmt.Errorf("look up image %s in %s: its directory holds image %s", shortID(id), cacheDir, img.ID)
		}
		return img, nil
	}
	all, err := List(cacheDir)
	if err != nil {
		return nil, fmt.Errorf("look up image %s: %w", id, err)
	}
	var match []*Image
	for _, img := range all {
		if strings.HasPrefix(img.ID, id) {
			match = append(match, img)
		}
	}
	switch len(match) {
	case 0:
		return nil, fmt.Errorf("look up image %s in %s: %w", id, cacheDir, fs.ErrNotExist)
	case 1:
		return match[0], nil
	}
	return nil, fmt.Errorf("look up image %s in %s: the prefix matches %d images", id, cacheDir, len(match))
}

// List returns the complete images in the cache, newest first. A cache
// that does not exist yet holds no image.
func List(cacheDir string) ([]*Image, error) {
	images := imagesDir(cacheDir)
	ents, err := os.ReadDir(images)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []*Image
	for _, e := range ents {
		if !e.IsDir() || !isID(e.Name()) {
			continue
		}
		img, err := Open(filepath.Join(images, e.Name()))
		if err != nil || img.ID != e.Name() {
			continue // incomplete or foreign: not an image
		}
		out = append(out, img)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Built.Equal(out[j].Built) {
			return out[i].Built.After(out[j].Built)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Prune removes every image of the cache whose ID is not in keep (keep
// holds full IDs), and what interrupted builds left behind. It returns the
// IDs of the images removed, sorted. See PruneImages.
func Prune(cacheDir string, keep ...string) ([]string, error) {
	removed, err := PruneImages(cacheDir, keep...)
	var ids []string
	for _, r := range removed {
		if r.ID != "" {
			ids = append(ids, r.ID)
		}
	}
	return ids, err
}

// Removed is what a removal took out of the cache: an image, or what an
// interrupted build, import or removal left behind.
type Removed struct {
	// ID is the image's ID; "" for a leftover.
	ID string
	// Name is the directory's name in the cache's images directory.
	Name string
	// Bytes is what its files took on disk.
	Bytes int64
}

// holdSuffix names the lock file beside an image that Hold keeps a shared
// lock on while the image is in use.
const holdSuffix = ".hold"

// Hold marks the cached image img in use until release is called:
// PruneImages and RemoveImage leave an image alone while any process holds
// it. It fails when the image is no longer in the cache (removed since it
// was looked up).
func Hold(img *Image) (release func(), err error) {
	if img == nil || !isID(img.ID) || filepath.Base(img.Dir) != img.ID {
		return nil, errors.New("hold image: not an image of the cache")
	}
	f, err := os.OpenFile(img.Dir+holdSuffix, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("hold image %s: %w", shortID(img.ID), err)
	}
	if err := flock(f, syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("hold image %s: %w", shortID(img.ID), err)
	}
	// A removal that held the lock first has taken the image away.
	if cur, err := Open(img.Dir); err != nil || cur.ID != img.ID {
		os.Remove(f.Name())
		unlockFile(f)
		return nil, fmt.Errorf("hold image %s: it was removed from the cache", shortID(img.ID))
	}
	return func() { unlockFile(f) }, nil
}

// errInUse says a process holds an image (Hold).
var errInUse = errors.New("in use by a running isobench")

// removeImageDir removes the image directory id of images unless a
// process holds it, and returns what it took on disk. The caller holds
// the cache lock.
func removeImageDir(images, id string) (Removed, error) {
	r := Removed{ID: id, Name: id}
	hold, err := os.OpenFile(filepath.Join(images, id+holdSuffix), os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return r, err
	}
	defer hold.Close()
	if err := flock(hold, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return r, errInUse
		}
		return r, err
	}
	dir := filepath.Join(images, id)
	r.Bytes = diskUsage(dir)
	old := filepath.Join(images, oldPrefix+id)
	if err := os.Rename(dir, old); err != nil {
		return r, err
	}
	if err := os.RemoveAll(old); err != nil {
		return r, err
	}
	// A Hold that opened the file meanwhile finds the image gone.
	os.Remove(hold.Name())
	return r, nil
}

// diskUsage is what the files under dir take on disk (a file with several
// links counted once).
func diskUsage(dir string) int64 {
	var n int64
	seen := map[[2]uint64]bool{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			n += fi.Size()
			return nil
		}
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if st.Nlink > 1 {
			if seen[key] {
				return nil
			}
			seen[key] = true
		}
		n += st.Blocks * 512
		return nil
	})
	return n
}

// removeLeftoversReport removes what interrupted builds and removals left
// in the images directory, and says what each took. The caller holds the
// cache lock.
func removeLeftoversReport(images string) ([]Removed, error) {
	ents, err := os.ReadDir(images)
	if err != nil {
		return nil, fmt.Errorf("read image cache: %w", err)
	}
	var out []Removed
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, buildPrefix) || strings.HasPrefix(n, oldPrefix):
			p := filepath.Join(images, n)
			r := Removed{Name: n, Bytes: diskUsage(p)}
			if err := os.RemoveAll(p); err != nil {
				return out, fmt.Errorf("remove leftover %s: %w", n, err)
			}
			out = append(out, r)
		case strings.HasSuffix(n, holdSuffix) && isID(strings.TrimSuffix(n, holdSuffix)):
			// The hold file of an image no longer there, unless held.
			id := strings.TrimSuffix(n, holdSuffix)
			if _, err := os.Lstat(filepath.Join(images, id)); errors.Is(err, fs.ErrNotExist) {
				if f, err := os.OpenFile(filepath.Join(images, n), os.O_RDWR|syscall.O_NOFOLLOW, 0); err == nil {
					if flock(f, syscall.LOCK_EX|syscall.LOCK_NB) == nil {
						os.Remove(f.Name())
					}
					f.Close()
				}
			}
		}
	}
	return out, nil
}

// PruneImages removes every image of the cache whose ID is not in keep
// (keep holds full IDs) and that no process holds (Hold), and what
// interrupted builds, imports and removals left behind; it says what each
// took on disk, images sorted by ID. It fails at once, removing nothing,
// when another isobench process holds the cache lock (a build or import
// is writing there).
func PruneImages(cacheDir string, keep ...string) ([]Removed, error) {
	keepSet := map[string]bool{}
	for _, k := range keep {
		if !isID(k) {
			return nil, fmt.Errorf("prune images: keep %q is not a full image ID (%d hex digits)", k, idLen)
		}
		keepSet[k] = true
	}
	images := imagesDir(cacheDir)
	if _, err := os.Stat(images); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	unlock, err := tryLockCache(images)
	if err != nil {
		return nil, fmt.Errorf("prune images: %w", err)
	}
	defer unlock()
	removed, err := removeLeftoversReport(images)
	if err != nil {
		return removed, fmt.Errorf("prune images: %w", err)
	}
	ents, err := os.ReadDir(images)
	if err != nil {
		return removed, fmt.Errorf("prune images: %w", err)
	}
	var inUse []string
	for _, e := range ents {
		id := e.Name()
		if !e.IsDir() || !isID(id) || keepSet[id] {
			continue
		}
		r, err := removeImageDir(images, id)
		if errors.Is(err, errInUse) {
			inUse = append(inUse, shortID(id))
			continue
		}
		if err != nil {
			return removed, fmt.Errorf("prune image %s: %w", shortID(id), err)
		}
		removed = append(removed, r)
	}
	if len(inUse) > 0 {
		return removed, &InUseError{IDs: inUse}
	}
	return removed, nil
}

// InUseError names the images a removal left because a running isobench
// holds them.
type InUseError struct{ IDs []string }

func (e *InUseError) Error() string {
	return fmt.Sprintf("image %s %s", strings.Join(e.IDs, ", "), errInUse)
}

// RemoveImage removes one image of the cache, named by its ID or a prefix
// that names only one image, unless a process holds it (Hold). It fails
// at once when another isobench process holds the cache lock.
func RemoveImage(cacheDir, id string) (Removed, error) {
	img, err := Lookup(cacheDir, id)
	if err != nil {
		return Removed{}, fmt.Errorf("remove image: %w", err)
	}
	images := imagesDir(cacheDir)
	unlock, err := tryLockCache(images)
	if err != nil {
		return Removed{}, fmt.Errorf("remove image %s: %w", shortID(img.ID), err)
	}
	defer unlock()
	r, err := removeImageDir(images, img.ID)
	if errors.Is(err, errInUse) {
		return Removed{}, fmt.Errorf("remove image %s: %w", shortID(img.ID), &InUseError{IDs: []string{shortID(img.ID)}})
	}
	if err != nil {
		return Removed{}, fmt.Errorf("remove image %s: %w", shortID(img.ID), err)
	}
	return r, nil
}
