package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// entryKind is the kind of one path in an image tree.
type entryKind uint8

const (
	dirEntry entryKind = iota + 1
	fileEntry
	symlinkEntry
)

func (k entryKind) String() string {
	switch k {
	case dirEntry:
		return "dir"
	case fileEntry:
		return "file"
	case symlinkEntry:
		return "symlink"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// entry is one path of an image tree.
type entry struct {
	kind entryKind
	// mode holds the permission bits, and fs.ModeSticky for a directory.
	mode fs.FileMode
	// source is the host path a file is copied from; data is the content of
	// a generated file (source == "").
	source string
	data   []byte
	size   int64
	// digest is the hex SHA-256 of a file's content.
	digest string
	// target is a symlink's target, exactly as on the host.
	target string
}

// describe says what e is, for conflict messages.
func (e *entry) describe() string {
	switch e.kind {
	case fileEntry:
		if e.source != "" {
			return "a copy of " + e.source
		}
		return "a generated file"
	case symlinkEntry:
		return "a symlink to " + e.target
	}
	return "a directory"
}

// same reports whether adding e where o already is changes nothing.
func (e *entry) same(o *entry) bool {
	if e.kind != o.kind {
		return false
	}
	switch e.kind {
	case fileEntry:
		return e.digest == o.digest && e.mode == o.mode
	case symlinkEntry:
		return e.target == o.target
	}
	return true
}

// unixMode gives the mode bits that go into the image ID.
func (e *entry) unixMode() uint32 {
	m := uint32(e.mode.Perm())
	if e.mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}

// tree is an image's root file system laid out in memory before anything
// is written: every path is clean, absolute and free of symlinks in its
// parent directories, and every parent directory has its own entry.
type tree struct {
	entries map[string]*entry
}

func newTree() *tree {
	return &tree{entries: map[string]*entry{"/": {kind: dirEntry, mode: 0o755}}}
}

// add puts e at p. Adding what is already there is a no-op; anything else
// at a taken path is an error that names both.
func (t *tree) add(p string, e *entry) error {
	if old, ok := t.entries[p]; ok {
		if old.same(e) {
			return nil
		}
		return fmt.Errorf("image path %s: %s would replace %s", p, e.describe(), old.describe())
	}
	t.entries[p] = e
	return nil
}

// setDirMode sets the mode of the directory at p.
func (t *tree) setDirMode(p string, mode fs.FileMode) error {
	e, ok := t.entries[p]
	if !ok || e.kind != dirEntry {
		return fmt.Errorf("image path %s: not a directory of the image", p)
	}
	e.mode = mode
	return nil
}

// sorted returns every path, sorted; a parent sorts before its children.
func (t *tree) sorted() []string {
	out := make([]string, 0, len(t.entries))
	for p := range t.entries {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// id returns the image ID: the hex SHA-256 of the recipe and of every
// entry (path, kind, mode, content digest or link target), in path order.
// Each field is length-prefixed, so no two trees hash the same input.
func (t *tree) id(recipe string) string {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s,", len(s), s) }
	field(recipe)
	for _, p := range t.sorted() {
		e := t.entries[p]
		field(p)
		field(e.kind.String())
		field(strconv.FormatUint(uint64(e.unixMode()), 8))
		switch e.kind {
		case fileEntry:
			field(e.digest)
		case symlinkEntry:
			field(e.target)
		default:
			field("")
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// files lists the tree's files for the manifest, in path order.
func (t *tree) files() []File {
	var out []File
	for _, p := range t.sorted() {
		if e := t.entries[p]; e.kind == fileEntry {
			out = append(out, File{Path: p, Source: e.source, SHA256: e.digest})
		}
	}
	return out
}

// totals returns the number of files and their total size.
func (t *tree) totals() (n int, size int64) {
	for _, e := range t.entries {
		if e.kind == fileEntry {
			n++
			size += e.size
		}
	}
	return n, size
}

// write creates the tree under root, an existing empty directory. Each
// copied file is checked against the digest taken when it was planned, so
// a host file that changes meanwhile fails the build instead of giving an
// image that does not match its ID.
func (t *tree) write(ctx context.Context, root string) error {
	for _, p := range t.sorted() {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := t.entries[p]
		dst := filepath.Join(root, p)
		switch e.kind {
		case dirEntry:
			if p != "/" {
				if err := os.Mkdir(dst, 0o700); err != nil {
					return fmt.Errorf("write image: %w", err)
				}
			}
			if err := os.Chmod(dst, e.mode); err != nil {
				return fmt.Errorf("write image: %w", err)
			}
		case symlinkEntry:
			if err := os.Symlink(e.target, dst); err != nil {
				return fmt.Errorf("write image: %w", err)
			}
		case fileEntry:
			if err := writeEntry(dst, p, e); err != nil {
				return fmt.Errorf("write image: %w", err)
			}
		}
	}
	return nil
}

// writeEntry writes one file at dst (p inside the image) and checks it.
func writeEntry(dst, p string, e *entry) error {
	var src io.Reader = bytes.NewReader(e.data)
	if e.source != "" {
		f, err := os.Open(e.source)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), src)
	if err == nil {
		err = checkDigest(h, n, e)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst, e.mode)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

func checkDigest(h hash.Hash, n int64, e *entry) error {
	if got := hex.EncodeToString(h.Sum(nil)); got != e.digest || n != e.size {
		return fmt.Errorf("host file %s changed during the build (%d bytes, sha256 %s; planned %d bytes, sha256 %s)",
			e.source, n, got, e.size, e.digest)
	}
	return nil
}
