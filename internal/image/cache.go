package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/cachedir"
)

// Names inside the cache's images directory and inside one image.
const (
	imagesName   = "images"
	rootfsName   = "rootfs"
	manifestName = "manifest.json"
	// maxManifest bounds the manifest file Open reads.
	maxManifest = 64 << 20
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
		err = cachedir.SyncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
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
	if !cachedir.IsID(mf.ID) {
		return nil, fmt.Errorf("open image %s: manifest id %q is not a %d-digit hex digest", dir, mf.ID, cachedir.IDLen)
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
	if id == "" || len(id) > cachedir.IDLen || !cachedir.IsHex(id) {
		return nil, fmt.Errorf("look up image %q: an image ID is 1 to %d lowercase hex digits", id, cachedir.IDLen)
	}
	images := imagesDir(cacheDir)
	if len(id) == cachedir.IDLen {
		img, err := Open(filepath.Join(images, id))
		if err != nil {
			return nil, fmt.Errorf("look up image %s in %s: %w", cachedir.ShortID(id), cacheDir, err)
		}
		if img.ID != id {
			return nil, fmt.Errorf("look up image %s in %s: its directory holds image %s", cachedir.ShortID(id), cacheDir, img.ID)
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
		if !e.IsDir() || !cachedir.IsID(e.Name()) {
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
	if img == nil || !cachedir.IsID(img.ID) || filepath.Base(img.Dir) != img.ID {
		return nil, errors.New("hold image: not an image of the cache")
	}
	f, err := os.OpenFile(img.Dir+holdSuffix, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("hold image %s: %w", cachedir.ShortID(img.ID), err)
	}
	if err := cachedir.Flock(f, syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("hold image %s: %w", cachedir.ShortID(img.ID), err)
	}
	// A removal that held the lock first has taken the image away.
	if cur, err := Open(img.Dir); err != nil || cur.ID != img.ID {
		os.Remove(f.Name())
		cachedir.Unlock(f)
		return nil, fmt.Errorf("hold image %s: it was removed from the cache", cachedir.ShortID(img.ID))
	}
	return func() { cachedir.Unlock(f) }, nil
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
	if err := cachedir.Flock(hold, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return r, errInUse
		}
		return r, err
	}
	dir := filepath.Join(images, id)
	r.Bytes = diskUsage(dir)
	old := filepath.Join(images, cachedir.OldPrefix+id)
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
		case cachedir.IsLeftover(n):
			p := filepath.Join(images, n)
			r := Removed{Name: n, Bytes: diskUsage(p)}
			if err := os.RemoveAll(p); err != nil {
				return out, fmt.Errorf("remove leftover %s: %w", n, err)
			}
			out = append(out, r)
		case strings.HasSuffix(n, holdSuffix) && cachedir.IsID(strings.TrimSuffix(n, holdSuffix)):
			// The hold file of an image no longer there, unless held.
			id := strings.TrimSuffix(n, holdSuffix)
			if _, err := os.Lstat(filepath.Join(images, id)); errors.Is(err, fs.ErrNotExist) {
				if f, err := os.OpenFile(filepath.Join(images, n), os.O_RDWR|syscall.O_NOFOLLOW, 0); err == nil {
					if cachedir.Flock(f, syscall.LOCK_EX|syscall.LOCK_NB) == nil {
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
		if !cachedir.IsID(k) {
			return nil, fmt.Errorf("prune images: keep %q is not a full image ID (%d hex digits)", k, cachedir.IDLen)
		}
		keepSet[k] = true
	}
	images := imagesDir(cacheDir)
	if _, err := os.Stat(images); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	unlock, err := cachedir.TryLock(images)
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
		if !e.IsDir() || !cachedir.IsID(id) || keepSet[id] {
			continue
		}
		r, err := removeImageDir(images, id)
		if errors.Is(err, errInUse) {
			inUse = append(inUse, cachedir.ShortID(id))
			continue
		}
		if err != nil {
			return removed, fmt.Errorf("prune image %s: %w", cachedir.ShortID(id), err)
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
	unlock, err := cachedir.TryLock(images)
	if err != nil {
		return Removed{}, fmt.Errorf("remove image %s: %w", cachedir.ShortID(img.ID), err)
	}
	defer unlock()
	r, err := removeImageDir(images, img.ID)
	if errors.Is(err, errInUse) {
		return Removed{}, fmt.Errorf("remove image %s: %w", cachedir.ShortID(img.ID), &InUseError{IDs: []string{cachedir.ShortID(img.ID)}})
	}
	if err != nil {
		return Removed{}, fmt.Errorf("remove image %s: %w", cachedir.ShortID(img.ID), err)
	}
	return r, nil
}
