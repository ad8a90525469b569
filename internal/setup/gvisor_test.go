package setup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGvisorPatchesApply checks the patches against the pinned gVisor
// source, where the module cache has it (CI's gVisor build step downloads
// it; elsewhere the test skips): each text to change is there exactly once.
func TestGvisorPatchesApply(t *testing.T) {
	goBin, err := findGo(os.Getenv)
	if err != nil {
		t.Skip(err)
	}
	src := filepath.Join(goModCache(t, goBin), "gvisor.dev", "gvisor@"+gvisorVersion)
	if _, err := os.Stat(src); err != nil {
		t.Skipf("gVisor %s is not in the module cache (isobench setup --gvisor downloads it)", gvisorVersion)
	}
	dir, err := patchedCopy(src, t.TempDir(), gvisorPatches())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range gvisorPatches() {
		b, err := os.ReadFile(filepath.Join(dir, p.file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), p.new) || strings.Contains(string(b), p.old) {
			t.Errorf("%s is not patched", p.file)
		}
	}
}

func goModCache(t *testing.T, goBin string) string {
	t.Helper()
	out, err := exec.Command(goBin, "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skip(err)
	}
	return strings.TrimSpace(string(out))
}

// TestPatchedCopy checks the copy-and-patch step on a made-up module: the
// module itself is left as it was, a patch that does not apply is an error
// naming the file, and a finished copy is reused.
func TestPatchedCopy(t *testing.T) {
	src := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.test/m\n")
	write("pkg/a/a.go", "//go:build go1.25\n\npackage a\n")
	write("pkg/b/b.go", "package b\n")
	patches := []gvisorPatch{{file: "pkg/a/a.go", old: "//go:build go1.25\n", new: "//go:build go1.25 && !go1.26\n", why: "test"}}

	build := t.TempDir()
	dir, err := patchedCopy(src, build, patches)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "pkg/a/a.go"))
	if !strings.HasPrefix(string(b), "//go:build go1.25 && !go1.26\n") {
		t.Errorf("copy not patched: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(src, "pkg/a/a.go")); !strings.HasPrefix(string(b), "//go:build go1.25\n") {
		t.Errorf("the module itself was changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "pkg/b/b.go")); err != nil {
		t.Errorf("unpatched files not copied: %v", err)
	}
	// Reused: a second call does not copy again (a file removed from the
	// copy stays removed).
	os.Remove(filepath.Join(dir, "pkg/b/b.go"))
	if dir2, err := patchedCopy(src, build, patches); err != nil || dir2 != dir {
		t.Fatalf("second call: %q, %v", dir2, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pkg/b/b.go")); err == nil {
		t.Error("a finished copy was made again")
	}
	// A patch that does not apply.
	bad := []gvisorPatch{{file: "pkg/b/b.go", old: "not there", new: "x", why: "test"}}
	if _, err := patchedCopy(src, t.TempDir(), bad); err == nil || !strings.Contains(err.Error(), "pkg/b/b.go") || !strings.Contains(err.Error(), "0 times") {
		t.Errorf("a patch that does not apply: %v", err)
	}
}

// TestGvisorInstalled checks what Gvisor decides before it builds: a
// directory with the stamp of this version and patches and both binaries
// executable is left alone; anything else is a build, which a dry run only
// names.
func TestGvisorInstalled(t *testing.T) {
	stamp := gvisorModule + "@" + gvisorVersion + " patches " + patchesDigest(gvisorPatches()) + "\n"
	tests := []struct {
		name   string
		stamp  string // "" writes none
		mode   os.FileMode
		skip   string // a binary not made
		wantOK bool
	}{
		{name: "built", stamp: stamp, mode: 0o755, wantOK: true},
		{name: "no stamp", mode: 0o755},
		{name: "other version", stamp: gvisorModule + "@v0.0.0-20240101000000-000000000000 patches " + patchesDigest(gvisorPatches()) + "\n", mode: 0o755},
		{name: "other patches", stamp: gvisorModule + "@" + gvisorVersion + " patches 000000000000\n", mode: 0o755},
		{name: "not executable", stamp: stamp, mode: 0o644},
		{name: "no shim", stamp: stamp, mode: 0o755, skip: "containerd-shim-runsc-v1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.stamp != "" {
				if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte(tc.stamp), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, b := range gvisorBinaries {
				if b[0] == tc.skip {
					continue
				}
				if err := os.WriteFile(filepath.Join(dir, b[0]), []byte("#!/bin/sh\n"), tc.mode); err != nil {
					t.Fatal(err)
				}
			}
			var out strings.Builder
			// No cache directory: a build would fail, so a dry run must not start one.
			if err := Gvisor(context.Background(), &out, GvisorOptions{Dir: dir, DryRun: true}); err != nil {
				t.Fatal(err)
			}
			want := "ok       gvisor           " + gvisorVersion + " in " + dir + "\n"
			if !tc.wantOK {
				want = "missing  gvisor           runsc and containerd-shim-runsc-v1 " + gvisorVersion + ", built from its Go module into " + dir + "\n" +
					"would build " + gvisorModule + "@" + gvisorVersion + " with the Go toolchain\n"
			}
			if out.String() != want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), want)
			}
		})
	}
}
