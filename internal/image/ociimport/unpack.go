package ociimport

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Limits bound what an imported image may hold. A zero field takes the
// default.
type Limits struct {
	// MaxEntrySize bounds one file of a layer (default 8 GiB).
	MaxEntrySize int64
	// MaxTotalSize bounds the bytes of all files of all layers (default
	// 64 GiB).
	MaxTotalSize int64
	// MaxEntries bounds the entries of all layers (default 1,000,000).
	MaxEntries int
	// MinFreeSpace is what an import leaves free on the cache's file
	// system (default 1 GiB): an image whose layers, as stored, do not fit
	// above it is refused before it is unpacked, and unpacking stops when
	// the free space falls below it.
	MinFreeSpace int64
}

// Default limits of imported images.
const (
	DefaultMaxEntrySize = 8 << 30
	DefaultMaxTotalSize = 64 << 30
	DefaultMaxEntries   = 1_000_000
	// maxNameLen bounds an entry's name and a link's target.
	maxNameLen = 4096
	// maxDepth bounds the elements of an entry's path: every entry costs
	// a look at each of its parents, here and when the image is verified,
	// and real images stay far below it.
	maxDepth = 256
)

// WithDefaults returns l with the default in each zero field.
func (l Limits) WithDefaults() Limits {
	if l.MaxEntrySize <= 0 {
		l.MaxEntrySize = DefaultMaxEntrySize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = DefaultMaxTotalSize
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MinFreeSpace <= 0 {
		l.MinFreeSpace = DefaultMinFreeSpace
	}
	return l
}

// UnpackError says which entry of which layer an import refused, and why.
type UnpackError struct {
	Layer  int    // 1-based
	Layers int    // how many the image has
	Digest string // the layer's digest, shortened
	Entry  string // the entry's name as the layer gives it
	Reason string
}

func (e *UnpackError) Error() string {
	return fmt.Sprintf("layer %d of %d (%s): entry %q: %s", e.Layer, e.Layers, e.Digest, e.Entry, e.Reason)
}

// Whiteout names of the OCI image layer format.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// unpacker applies the layers of an image, lowest first, to a root
// filesystem directory, refusing whatever could reach outside it or put
// something on the host that has no place in a workload image.
//
// Every file operation goes through an os.Root, which cannot leave the
// directory, and every entry is checked before it is applied:
//
//   - names are relative paths without ".." elements;
//   - no entry is written through a symbolic link (its parent directories
//     must be directories of the image);
//   - a symbolic link whose target climbs out of the image is refused; an
//     absolute target, which inside the sandbox means the image's own
//     root, is rewritten as the equivalent relative one, so that the link
//     cannot point at the host's files from the host's side either;
//   - a hard link must name a regular file already in the image;
//   - device nodes and named pipes are refused;
//   - names deeper than maxDepth elements are refused;
//   - files larger than Limits.MaxEntrySize, and layers adding up to more
//     than Limits.MaxTotalSize or Limits.MaxEntries, are refused, by the
//     size the header gives (a sparse file's full size) before anything
//     is written; runs of zeros are written as holes, so a sparse file
//     stays sparse;
//   - set-user-ID and set-group-ID bits are dropped: the cache directory
//     is readable by everyone, and such a file owned by root would be a
//     way to root for any user of the host;
//   - write permission for group and others is dropped from files and
//     directories, except from sticky directories (/tmp, 1777, which a
//     sandbox needs as it is): no user of the host may change the files
//     of the root-owned cache that sandboxes run.
//
// Whiteouts follow the OCI layer format: ".wh.NAME" removes NAME of the
// layers below, ".wh..wh..opq" empties its directory of what the layers
// below put there.
type unpacker struct {
	root    *os.Root
	lim     Limits
	chown   bool
	total   int64
	entries int
	// space, when set, watches the free space of the cache.
	space *SpaceGuard

	layer, layers int
	digest        string
	// added holds the paths the current layer wrote, which its own opaque
	// whiteouts keep.
	added map[string]bool
}

func newUnpacker(root *os.Root, lim Limits, chown bool) *unpacker {
	return &unpacker{root: root, lim: lim.WithDefaults(), chown: chown}
}

// refuse makes the error for an entry.
func (u *unpacker) refuse(entry, format string, args ...any) error {
	return &UnpackError{Layer: u.layer, Layers: u.layers, Digest: u.digest, Entry: entry, Reason: fmt.Sprintf(format, args...)}
}

// applyLayer applies one layer's uncompressed tar stream.
func (u *unpacker) applyLayer(ctx context.Context, r io.Reader, layer, layers int, digest string) error {
	u.layer, u.layers, u.digest = layer, layers, digest
	u.added = map[string]bool{}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("layer %d of %d (%s): reading the layer: %w", layer, layers, digest, err)
		}
		u.entries++
		if u.entries > u.lim.MaxEntries {
			return u.refuse(hdr.Name, "the image has more than %d entries", u.lim.MaxEntries)
		}
		if err := u.space.wrote(0, 1); err != nil {
			return u.refuse(hdr.Name, "%v", err)
		}
		if err := u.apply(hdr, tr); err != nil {
			var ue *UnpackError
			if errors.As(err, &ue) {
				return err
			}
			return u.refuse(hdr.Name, "%v", err)
		}
	}
}

// cleanName checks an entry's name (or a hard link's target) and returns
// it as a clean relative path; "." is the root itself.
func cleanName(name string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("empty name")
	case len(name) > maxNameLen:
		return "", fmt.Errorf("name longer than %d bytes", maxNameLen)
	case strings.ContainsRune(name, 0):
		return "", errors.New("name holds a NUL byte")
	case strings.HasPrefix(name, "/"):
		return "", errors.New("absolute path: entries of a layer are relative to its root")
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", errors.New(`path traversal: a ".." element could leave the image`)
		}
	}
	clean := path.Clean(name)
	if d := strings.Count(clean, "/") + 1; d > maxDepth {
		return "", fmt.Errorf("a path %d elements deep, deeper than the limit of %d", d, maxDepth)
	}
	return clean, nil
}

// symlinkTarget checks the target of a symbolic link at name (clean,
// relative) and returns the target to write: clean, relative, and never
// climbing above the image's root.
func symlinkTarget(name, target string) (string, error) {
	switch {
	case target == "":
		return "", errors.New("symbolic link with an empty target")
	case len(target) > maxNameLen:
		return "", fmt.Errorf("symbolic link target longer than %d bytes", maxNameLen)
	case strings.ContainsRune(target, 0):
		return "", errors.New("symbolic link target holds a NUL byte")
	}
	dir := path.Dir(name) // "." at the root
	if path.IsAbs(target) {
		// Inside the sandbox "/" is the image's root: say the same thing
		// relatively, which also holds when the host follows the link.
		return relTo(dir, path.Clean(target)[1:]), nil
	}
	t := path.Clean(target)
	// Only leading ".." elements may climb, and no higher than the root:
	// after them the path only descends.
	depth := 0
	if dir != "." {
		depth = strings.Count(dir, "/") + 1
	}
	els := strings.Split(t, "/")
	up := 0
	for up < len(els) && els[up] == ".." {
		up++
	}
	if up > depth {
		return "", fmt.Errorf("symbolic link to %q escapes the image (it climbs %d directories from %s, which is %d deep)", target, up, "/"+strings.TrimPrefix(dir, "."), depth)
	}
	return t, nil
}

// relTo returns the relative path from directory dir to p, both clean and
// relative to the root ("." for the root itself).
func relTo(dir, p string) string {
	if p == "" {
		p = "."
	}
	var from, to []string
	if dir != "." {
		from = strings.Split(dir, "/")
	}
	if p != "." {
		to = strings.Split(p, "/")
	}
	i := 0
	for i < len(from) && i < len(to) && from[i] == to[i] {
		i++
	}
	var parts []string
	for range from[i:] {
		parts = append(parts, "..")
	}
	parts = append(parts, to[i:]...)
	if len(parts) == 0 {
		return "."
	}
	return strings.Join(parts, "/")
}

// parents makes sure every parent directory of clean path p is a
// directory of the image (made when missing), never a symbolic link.
func (u *unpacker) parents(p string) error { return u.walkParents(p, true) }

// walkParents checks the parents of p; with create, missing ones are made,
// else they are an error.
func (u *unpacker) walkParents(p string, create bool) error {
	dir := path.Dir(p)
	if dir == "." {
		return nil
	}
	els := strings.Split(dir, "/")
	for i := range els {
		sub := strings.Join(els[:i+1], "/")
		fi, err := u.root.Lstat(sub)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !create:
			return fmt.Errorf("no directory %s in the image", sub)
		case errors.Is(err, fs.ErrNotExist):
			if err := u.root.Mkdir(sub, 0o755); err != nil {
				return fmt.Errorf("making directory %s: %w", sub, err)
			}
			u.added[sub] = true
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := u.root.Readlink(sub)
			return fmt.Errorf("its parent %s is a symbolic link (to %q): entries are never written through links", sub, target)
		case !fi.IsDir():
			return fmt.Errorf("its parent %s is a %s, not a directory", sub, kindOf(fi.Mode()))
		}
	}
	return nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	}
	return "special file"
}

// perm is the mode an entry gets from its tar mode: the permission bits,
// without set-user-ID and set-group-ID, and without write permission for
// group and others; a sticky directory keeps its sticky bit and all its
// permissions (/tmp is 1777 in every image, and a sandbox needs it so).
func perm(mode int64, dir bool) fs.FileMode {
	m := fs.FileMode(mode & 0o777)
	if dir && mode&0o1000 != 0 {
		return m | fs.ModeSticky
	}
	return m &^ 0o022
}

// clear removes what is at p, if anything, for an entry that replaces it.
// A directory stays when the entry is a directory too.
func (u *unpacker) clear(p string, keepDir bool) (exists bool, err error) {
	fi, err := u.root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if keepDir && fi.IsDir() {
		return true, nil
	}
	if err := u.root.RemoveAll(p); err != nil {
		return false, fmt.Errorf("replacing %s: %w", p, err)
	}
	return false, nil
}

func (u *unpacker) apply(hdr *tar.Header, tr io.Reader) error {
	p, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	base := path.Base(p)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(p, base)
	}
	if p == "." {
		// The layer's root directory: the image's root keeps its mode.
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("the root of the image must be a directory")
		}
		return nil
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeRegA, tar.TypeSymlink, tar.TypeLink:
	case tar.TypeGNUSparse:
		// Read as a regular file: archive/tar fills in the holes, and
		// writeFile makes them holes again.
		hdr.Typeflag = tar.TypeReg
	case tar.TypeChar, tar.TypeBlock:
		return fmt.Errorf("device node (%d, %d): a workload image holds no devices; the runtime provides them", hdr.Devmajor, hdr.Devminor)
	case tar.TypeFifo:
		return errors.New("named pipe: a workload image holds none")
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return fmt.Errorf("entry type %q is not a file, directory or link", string(rune(hdr.Typeflag)))
	}
	if err := u.parents(p); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		exists, err := u.clear(p, true)
		if err != nil {
			return err
		}
		if !exists {
			if err := u.root.Mkdir(p, 0o700); err != nil {
				return err
			}
		}
		if err := u.root.Chmod(p, perm(hdr.Mode, true)|fs.ModeDir); err != nil {
			return err
		}
	case tar.TypeReg, tar.TypeRegA:
		if hdr.Size < 0 || hdr.Size > u.lim.MaxEntrySize {
			return fmt.Errorf("file of %d bytes, over the limit of %d bytes for one file", hdr.Size, u.lim.MaxEntrySize)
		}
		if u.total+hdr.Size > u.lim.MaxTotalSize {
			return fmt.Errorf("with this file of %d bytes the image would exceed its limit of %d bytes in all", hdr.Size, u.lim.MaxTotalSize)
		}
		u.total += hdr.Size
		if _, err := u.clear(p, false); err != nil {
			return err
		}
		if err := u.writeFile(p, hdr, tr); err != nil {
			return err
		}
	case tar.TypeSymlink:
		target, err := symlinkTarget(p, hdr.Linkname)
		if err != nil {
			return err
		}
		if _, err := u.clear(p, false); err != nil {
			return err
		}
		if err := u.root.Symlink(target, p); err != nil {
			return err
		}
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		if target == "." || target == p {
			return fmt.Errorf("hard link to %q: not a file of the image", hdr.Linkname)
		}
		if err := u.walkParents(target, false); err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		fi, err := u.root.Lstat(target)
		if err != nil {
			return fmt.Errorf("hard link to %q: no such file in the image (a link must follow its target)", hdr.Linkname)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("hard link to %q, a %s: only regular files may be linked", hdr.Linkname, kindOf(fi.Mode()))
		}
		if _, err := u.clear(p, false); err != nil {
			return err
		}
		if err := u.root.Link(target, p); err != nil {
			return err
		}
	}
	u.added[p] = true
	if u.chown && hdr.Typeflag != tar.TypeLink {
		if err := u.root.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("setting owner %d:%d: %w", hdr.Uid, hdr.Gid, err)
		}
		if hdr.Typeflag != tar.TypeSymlink {
			// chown clears set-ID bits; the mode is set again after it.
			mode := perm(hdr.Mode, hdr.Typeflag == tar.TypeDir)
			if hdr.Typeflag == tar.TypeDir {
				mode |= fs.ModeDir
			}
			if err := u.root.Chmod(p, mode); err != nil {
				return err
			}
		}
	}
	return nil
}

func (u *unpacker) writeFile(p string, hdr *tar.Header, tr io.Reader) error {
	f, err := u.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := u.copySparse(f, io.LimitReader(tr, hdr.Size))
	if err == nil && n != hdr.Size {
		err = fmt.Errorf("the layer ends %d bytes into a file of %d", n, hdr.Size)
	}
	if err == nil {
		err = f.Chmod(perm(hdr.Mode, false))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// whiteout applies a whiteout entry at clean path p whose base name is base.
func (u *unpacker) whiteout(p, base string) error {
	dir := path.Dir(p)
	if err := u.parents(p); err != nil {
		return err
	}
	if base == whiteoutOpaque {
		// Empty dir of what lower layers put there.
		var names []string
		if dir == "." {
			f, err := u.root.Open(".")
			if err != nil {
				return err
			}
			names, err = f.Readdirnames(-1)
			f.Close()
			if err != nil {
				return err
			}
		} else {
			fi, err := u.root.Lstat(dir)
			if err != nil || !fi.IsDir() {
				return nil
			}
			f, err := u.root.Open(dir)
			if err != nil {
				return err
			}
			names, err = f.Readdirnames(-1)
			f.Close()
			if err != nil {
				return err
			}
		}
		for _, n := range names {
			child := path.Join(dir, n)
			if u.added[child] {
				continue
			}
			if err := u.root.RemoveAll(child); err != nil {
				return fmt.Errorf("opaque whiteout: removing %s: %w", child, err)
			}
		}
		return nil
	}
	if strings.HasPrefix(base, whiteoutPrefix+whiteoutPrefix) {
		// Other ".wh..wh." names are the aufs driver's own bookkeeping.
		return nil
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("whiteout of %q: not a name", name)
	}
	target := path.Join(dir, name)
	if err := u.root.RemoveAll(target); err != nil {
		return fmt.Errorf("whiteout: removing %s: %w", target, err)
	}
	return nil
}

// sparseBlock is the unit copySparse writes or leaves as a hole.
const sparseBlock = 64 << 10

// copySparse copies r to f, leaving every block of zeros a hole: a sparse
// file of a layer (which archive/tar hands over with its holes filled in)
// takes no more room than in the layer, and neither does any other run of
// zeros. The free space of the cache is watched as blocks are written.
func (u *unpacker) copySparse(f *os.File, r io.Reader) (int64, error) {
	buf := make([]byte, sparseBlock)
	var n int64
	hole := false
	for {
		m, err := io.ReadFull(r, buf)
		if m > 0 {
			b := buf[:m]
			if isZero(b) {
				if _, err := f.Seek(int64(m), io.SeekCurrent); err != nil {
					return n, err
				}
				hole = true
			} else {
				if _, err := f.Write(b); err != nil {
					return n, err
				}
				hole = false
				if err := u.space.wrote(int64(m), 0); err != nil {
					return n, err
				}
			}
			n += int64(m)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return n, err
		}
	}
	if hole {
		// A file that ends in a hole gets its length.
		if err := f.Truncate(n); err != nil {
			return n, err
		}
	}
	return n, nil
}

var zeroBlock = make([]byte, sparseBlock)

func isZero(b []byte) bool { return bytes.Equal(b, zeroBlock[:len(b)]) }
