package ociimport

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzUnpackLayer applies arbitrary bytes as a layer to an empty root, and
// then checks what the unpacker guarantees whatever it was given: no
// panic, nothing outside the root, no symbolic link that leaves the root
// or is absolute, no device node, named pipe or set-ID bit. The seeds are
// tar streams of every kind of entry, hostile ones included.
func FuzzUnpackLayer(f *testing.F) {
	seed := func(hdrs ...*tar.Header) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range hdrs {
			h.ModTime = time.Unix(0, 0)
			if h.Typeflag == tar.TypeReg {
				h.Size = 3
			}
			if tw.WriteHeader(h) == nil && h.Size > 0 {
				tw.Write([]byte("abc"))
			}
		}
		tw.Close()
		f.Add(buf.Bytes())
	}
	seed(&tar.Header{Name: "a", Typeflag: tar.TypeReg, Mode: 0o4755})
	seed(&tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755}, &tar.Header{Name: "d/f", Typeflag: tar.TypeReg, Mode: 0o644})
	seed(&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc"}, &tar.Header{Name: "l/passwd", Typeflag: tar.TypeReg})
	seed(&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../x"})
	seed(&tar.Header{Name: "f", Typeflag: tar.TypeReg}, &tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "f"})
	seed(&tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../etc/shadow"})
	seed(&tar.Header{Name: "../x", Typeflag: tar.TypeReg})
	seed(&tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3})
	seed(&tar.Header{Name: "d/", Typeflag: tar.TypeDir}, &tar.Header{Name: "d/.wh..wh..opq", Typeflag: tar.TypeReg}, &tar.Header{Name: ".wh.d", Typeflag: tar.TypeReg})
	seed(&tar.Header{Name: "a/b/c/d", Typeflag: tar.TypeSymlink, Linkname: "../../../y"})
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		dir := filepath.Join(base, "rootfs")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		u := newUnpacker(root, Limits{MaxEntrySize: 1 << 20, MaxTotalSize: 4 << 20, MaxEntries: 1000}, false)
		_ = u.applyLayer(context.Background(), bytes.NewReader(data), 1, 1, "fuzz")
		ents, _ := os.ReadDir(base)
		if len(ents) != 1 {
			t.Fatalf("the layer wrote beside the root: %v", ents)
		}
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			m := fi.Mode()
			rel, _ := filepath.Rel(dir, p)
			switch {
			case m&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0:
				t.Fatalf("%s is a special file (%v)", rel, m)
			case m&(fs.ModeSetuid|fs.ModeSetgid) != 0:
				t.Fatalf("%s has set-ID bits (%v)", rel, m)
			case m&fs.ModeSymlink != 0:
				target, _ := os.Readlink(p)
				if path.IsAbs(target) {
					t.Fatalf("%s -> %s is absolute", rel, target)
				}
				resolved := path.Join(path.Dir(filepath.ToSlash(rel)), target)
				if resolved == ".." || strings.HasPrefix(resolved, "../") {
					t.Fatalf("%s -> %s leaves the root", rel, target)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
