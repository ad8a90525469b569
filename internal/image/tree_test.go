package image

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/cachedir"
)

// baseTree is a small tree; each call gives a fresh copy.
func baseTree(t *testing.T) *tree {
	t.Helper()
	tr := newTree()
	adds := []struct {
		p string
		e *entry
	}{
		{"/usr", &entry{kind: dirEntry, mode: 0o755}},
		{"/usr/lib", &entry{kind: dirEntry, mode: 0o755}},
		{"/usr/lib/libfoo.so.1.2", &entry{kind: fileEntry, mode: 0o644, source: "/src/libfoo", size: 3, digest: "aa"}},
		{"/usr/lib/libfoo.so.1", &entry{kind: symlinkEntry, target: "libfoo.so.1.2"}},
		{"/lib", &entry{kind: symlinkEntry, target: "usr/lib"}},
		{"/tmp", &entry{kind: dirEntry, mode: 0o777 | fs.ModeSticky}},
	}
	for _, a := range adds {
		if err := tr.add(a.p, a.e); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func TestTreeID(t *testing.T) {
	base := baseTree(t).id(recipe)
	if again := baseTree(t).id(recipe); again != base {
		t.Fatalf("same tree, IDs %s and %s", base, again)
	}
	if len(base) != 64 || !cachedir.IsID(base) {
		t.Fatalf("ID %q is not 64 hex digits", base)
	}
	changes := []struct {
		name   string
		change func(tr *tree)
		recipe string
	}{
		{name: "recipe", change: func(*tree) {}, recipe: recipe + "x"},
		{name: "content", change: func(tr *tree) { tr.entries["/usr/lib/libfoo.so.1.2"].digest = "ab" }},
		{name: "mode", change: func(tr *tree) { tr.entries["/usr/lib/libfoo.so.1.2"].mode = 0o755 }},
		{name: "sticky", change: func(tr *tree) { tr.entries["/tmp"].mode = 0o777 }},
		{name: "link target", change: func(tr *tree) { tr.entries["/lib"].target = "/usr/lib" }},
		{name: "path", change: func(tr *tree) {
			tr.entries["/usr/lib/libfoo.so.1.3"] = tr.entries["/usr/lib/libfoo.so.1.2"]
			delete(tr.entries, "/usr/lib/libfoo.so.1.2")
		}},
		{name: "kind", change: func(tr *tree) { tr.entries["/lib"] = &entry{kind: dirEntry, mode: 0o755} }},
		{name: "new dir", change: func(tr *tree) { tr.entries["/scratch"] = &entry{kind: dirEntry, mode: 0o755} }},
		// Only content counts, not where on the host it came from.
		{name: "source", change: func(tr *tree) { tr.entries["/usr/lib/libfoo.so.1.2"].source = "/elsewhere" }, recipe: "same"},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			tr := baseTree(t)
			c.change(tr)
			r := recipe
			if c.recipe != "" && c.recipe != "same" {
				r = c.recipe
			}
			got := tr.id(r)
			if c.recipe == "same" {
				if got != base {
					t.Errorf("changing the %s changed the ID", c.name)
				}
				return
			}
			if got == base {
				t.Errorf("changing the %s kept the ID %s", c.name, base)
			}
		})
	}
}

func TestTreeAdd(t *testing.T) {
	cases := []struct {
		name string
		p    string
		e    *entry
		err  string
	}{
		{name: "same file again", p: "/usr/lib/libfoo.so.1.2", e: &entry{kind: fileEntry, mode: 0o644, source: "/other", digest: "aa"}},
		{name: "same link again", p: "/lib", e: &entry{kind: symlinkEntry, target: "usr/lib"}},
		{name: "dir again", p: "/usr", e: &entry{kind: dirEntry, mode: 0o700}},
		{name: "other content", p: "/usr/lib/libfoo.so.1.2", e: &entry{kind: fileEntry, mode: 0o644, source: "/other", digest: "bb"},
			err: "image path /usr/lib/libfoo.so.1.2: a copy of /other would replace a copy of /src/libfoo"},
		{name: "file over link", p: "/lib", e: &entry{kind: fileEntry, mode: 0o644, data: []byte("x"), digest: "cc"},
			err: "image path /lib: a generated file would replace a symlink to usr/lib"},
		{name: "link over dir", p: "/usr", e: &entry{kind: symlinkEntry, target: "x"},
			err: "a symlink to x would replace a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := baseTree(t)
			err := tr.add(tc.p, tc.e)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("add: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("add = %v, want error containing %q", err, tc.err)
			}
		})
	}
	if err := newTree().setDirMode("/nope", 0o755); err == nil {
		t.Error("setDirMode of a missing directory gave no error")
	}
}
