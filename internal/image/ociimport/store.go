package ociimport

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/isobench/isobench/internal/inputfile"
)

// store holds the files of an image in one of the formats Open reads:
// an OCI layout directory, or a tar archive (an OCI layout or a docker
// archive). Its files are named by slash-separated paths from its root.
type store interface {
	// open opens a regular file, returning its size; anything else is
	// refused before it is read.
	open(name string) (io.ReadCloser, int64, error)
	// size returns the size of a regular file, without reading it.
	size(name string) (int64, error)
	close() error
}

// readSmall reads a whole JSON document of a store, bounded by
// maxImageJSON.
func readSmall(s store, name string) ([]byte, error) {
	rc, n, err := s.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if n > maxImageJSON {
		return nil, &errTooLarge{name: name, size: n, max: maxImageJSON, whatLimits: "a document of an image"}
	}
	return readAllMax(rc, name, maxImageJSON, "a document of an image")
}

// dirStore is an OCI layout directory. Its files are opened through an
// os.Root, so no name leaves the directory, and must be regular files:
// symbolic links, named pipes and devices are refused before they are
// opened.
type dirStore struct {
	root *os.Root
}

func newDirStore(dir string) (*dirStore, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &dirStore{root: root}, nil
}

func (d *dirStore) open(name string) (io.ReadCloser, int64, error) {
	f, err := openInRoot(d.root, name)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

func (d *dirStore) size(name string) (int64, error) {
	fi, err := d.root.Lstat(name)
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, notRegular(name, fi.Mode())
	}
	return fi.Size(), nil
}

func (d *dirStore) close() error { return d.root.Close() }

// tarEntry is what the first pass over an archive learnt of one entry.
type tarEntry struct {
	typ    byte
	size   int64
	link   string
	off    int64 // where its data starts in a plain archive
	sparse bool
}

// tarStore is a tar archive, plain or gzip-compressed, read without
// extracting it. A first pass lists its entries (and, in a plain archive,
// where each one's data starts); a plain archive's file is then read in
// place, a compressed one by a further pass up to the entry.
type tarStore struct {
	file  string
	f     *os.File
	fsize int64
	gz    bool
	ents  map[string]*tarEntry
	// small holds the documents read in the first pass.
	small map[string][]byte
	// links says whether links between entries are followed (a docker
	// archive's layers may be links to another layer's file).
	links bool
}

// archiveName is an entry's name as the archive's readers look it up.
func archiveName(n string) string { return path.Clean(strings.TrimPrefix(n, "./")) }

// maxArchiveEntries bounds the entries of an archive holding an image.
const maxArchiveEntries = 1_000_000

// openTarStore opens the archive file, refusing anything but a regular
// file before opening it, and makes the first pass: every entry is given
// to check (which may refuse it), and the entries named in keep are read
// (each bounded by maxImageJSON).
func openTarStore(file string, check func(hdr *tar.Header) error, keep ...string) (*tarStore, error) {
	f, err := inputfile.Open(file)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	t := &tarStore{file: file, f: f, fsize: fi.Size(), ents: map[string]*tarEntry{}, small: map[string][]byte{}}
	magic := make([]byte, 2)
	if n, _ := f.ReadAt(magic, 0); n == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		t.gz = true
	}
	if err := t.index(check, keep); err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

// stream returns the archive's tar stream from its start.
func (t *tarStore) stream() (*tar.Reader, *io.SectionReader, io.Closer, error) {
	sr := io.NewSectionReader(t.f, 0, t.fsize)
	if !t.gz {
		return tar.NewReader(sr), sr, io.NopCloser(nil), nil
	}
	zr, err := gzip.NewReader(sr)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", t.file, err)
	}
	return tar.NewReader(zr), nil, zr, nil
}

func (t *tarStore) index(check func(hdr *tar.Header) error, keep []string) error {
	tr, sr, c, err := t.stream()
	if err != nil {
		return err
	}
	defer c.Close()
	want := map[string]bool{}
	for _, k := range keep {
		want[k] = true
	}
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		if n >= maxArchiveEntries {
			return fmt.Errorf("the archive has more than %d entries", maxArchiveEntries)
		}
		if check != nil {
			if err := check(hdr); err != nil {
				return err
			}
		}
		if len(hdr.Name) > maxNameLen {
			return fmt.Errorf("archive entry %.64q...: name longer than %d bytes", hdr.Name, maxNameLen)
		}
		name := archiveName(hdr.Name)
		if hdr.Typeflag == tar.TypeDir {
			continue
		}
		if _, dup := t.ents[name]; dup {
			return fmt.Errorf("archive entry %q: a second entry of the same name (which one is the image's?)", hdr.Name)
		}
		e := &tarEntry{typ: hdr.Typeflag, size: hdr.Size, link: hdr.Linkname, off: -1}
		if hdr.Typeflag == tar.TypeGNUSparse || hasSparseRecords(hdr) {
			e.sparse = true
		}
		if sr != nil {
			if e.off, err = sr.Seek(0, io.SeekCurrent); err != nil {
				return err
			}
		}
		t.ents[name] = e
		if want[name] && isRegType(hdr.Typeflag) && !e.sparse {
			if hdr.Size > maxImageJSON {
				return &errTooLarge{name: hdr.Name, size: hdr.Size, max: maxImageJSON, whatLimits: "a document of an image"}
			}
			b, err := readAllMax(tr, hdr.Name, maxImageJSON, "a document of an image")
			if err != nil {
				return err
			}
			t.small[name] = b
		}
	}
}

func isRegType(t byte) bool { return t == tar.TypeReg || t == tar.TypeRegA }

// hasSparseRecords reports whether a header describes a GNU sparse file
// in the PAX format.
func hasSparseRecords(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// has reports whether the archive holds an entry (of any type) of that
// name.
func (t *tarStore) has(name string) bool { _, ok := t.ents[name]; return ok }

// resolve finds the regular file an entry name stands for, following
// links between entries when the store allows it.
func (t *tarStore) resolve(name string) (string, *tarEntry, error) {
	orig := name
	for hops := 0; ; hops++ {
		e, ok := t.ents[name]
		if !ok {
			if name != orig {
				return "", nil, fmt.Errorf("archive entry %q: a link to %q, which the archive does not hold", orig, name)
			}
			return "", nil, fmt.Errorf("archive entry %q: %w", orig, os.ErrNotExist)
		}
		switch {
		case isRegType(e.typ) && e.sparse:
			return "", nil, fmt.Errorf("archive entry %q is a sparse file; an image's files are plain", name)
		case isRegType(e.typ):
			return name, e, nil
		case (e.typ == tar.TypeSymlink || e.typ == tar.TypeLink) && t.links && hops < 8:
			if e.typ == tar.TypeSymlink && !path.IsAbs(e.link) {
				name = archiveName(path.Join(path.Dir(name), e.link))
			} else {
				name = archiveName(strings.TrimPrefix(e.link, "/"))
			}
			continue
		}
		return "", nil, fmt.Errorf("archive entry %q is a %s, not a regular file", name, tarKind(e.typ))
	}
}

func (t *tarStore) size(name string) (int64, error) {
	_, e, err := t.resolve(name)
	if err != nil {
		return 0, err
	}
	return e.size, nil
}

func (t *tarStore) open(name string) (io.ReadCloser, int64, error) {
	if b, ok := t.small[name]; ok {
		return io.NopCloser(strings.NewReader(string(b))), int64(len(b)), nil
	}
	real, e, err := t.resolve(name)
	if err != nil {
		return nil, 0, err
	}
	if !t.gz {
		return io.NopCloser(io.NewSectionReader(t.f, e.off, e.size)), e.size, nil
	}
	// A compressed archive is read again from its start.
	tr, _, c, err := t.stream()
	if err != nil {
		return nil, 0, err
	}
	for {
		hdr, err := tr.Next()
		if err != nil {
			c.Close()
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("archive entry %q vanished from the archive", real)
			}
			return nil, 0, err
		}
		if hdr.Typeflag != tar.TypeDir && archiveName(hdr.Name) == real {
			return readCloser{Reader: io.LimitReader(tr, e.size), Closer: c}, e.size, nil
		}
	}
}

func (t *tarStore) close() error { return t.f.Close() }
