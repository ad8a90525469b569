package image

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// makeRoot lays out a small root file system for resolver tests.
func makeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	mk := func(p string) {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file := func(p string) {
		if err := os.WriteFile(filepath.Join(root, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(p, target string) {
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	mk("usr/lib/triplet")
	mk("usr/lib64")
	file("usr/lib/triplet/libfoo.so.1.2.3")
	file("plain")
	link("lib", "usr/lib")
	link("lib64", "usr/lib64")
	link("usr/lib/triplet/libfoo.so.1", "libfoo.so.1.2.3")
	link("usr/lib64/ld.so", "/lib/triplet/libfoo.so.1") // absolute: stays in root
	link("up", "../../../../usr")                       // ".." stops at root
	link("loop1", "loop2")
	link("loop2", "loop1")
	link("dangling", "/nowhere/x")
	return root
}

func TestResolveIn(t *testing.T) {
	root := makeRoot(t)
	cases := []struct {
		path   string
		want   string
		links  []string // symlinks visited, in order
		err    string
		errIs  error
		isFile bool
	}{
		{path: "/lib/triplet/libfoo.so.1", want: "/usr/lib/triplet/libfoo.so.1.2.3", isFile: true,
			links: []string{"/lib", "/usr/lib/triplet/libfoo.so.1"}},
		{path: "/lib64/ld.so", want: "/usr/lib/triplet/libfoo.so.1.2.3", isFile: true,
			links: []string{"/lib64", "/usr/lib64/ld.so", "/lib", "/usr/lib/triplet/libfoo.so.1"}},
		{path: "/up/lib/./triplet/../triplet/libfoo.so.1.2.3", want: "/usr/lib/triplet/libfoo.so.1.2.3", isFile: true, links: []string{"/up"}},
		{path: "/../../plain", want: "/plain", isFile: true},
		{path: "/", want: "/"},
		{path: "/usr/lib/", want: "/usr/lib"},
		{path: "/lib/..", want: "/usr", links: []string{"/lib"}},
		{path: "/loop1", err: "/loop", errIs: syscall.ELOOP},
		{path: "/dangling", err: "lstat /nowhere", errIs: fs.ErrNotExist},
		{path: "/missing/x", err: "lstat /missing", errIs: fs.ErrNotExist},
		{path: "/plain/x", err: "/plain", errIs: syscall.ENOTDIR},
		{path: "relative", err: "not an absolute path"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			var links []string
			got, fi, err := resolveIn(root, tc.path, func(inside string, _ fs.FileInfo, target string) error {
				if target != "" {
					links = append(links, inside)
				}
				return nil
			})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("resolveIn = %q, %v; want error containing %q", got, err, tc.err)
				}
				if tc.errIs != nil && !errors.Is(err, tc.errIs) {
					t.Errorf("error %v is not %v", err, tc.errIs)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveIn: %v", err)
			}
			if got != tc.want {
				t.Errorf("resolveIn = %q, want %q", got, tc.want)
			}
			if fi.Mode().IsRegular() != tc.isFile {
				t.Errorf("resolved mode %v, want regular file %v", fi.Mode(), tc.isFile)
			}
			if !slices.Equal(links, tc.links) {
				t.Errorf("visited links %q, want %q", links, tc.links)
			}
		})
	}
}

func TestResolveInVisitError(t *testing.T) {
	root := makeRoot(t)
	stop := errors.New("stop here")
	_, _, err := resolveIn(root, "/lib/triplet", func(string, fs.FileInfo, string) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("resolveIn = %v, want the visit error", err)
	}
}
