package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/image"
)

func TestParseRunscFlags(t *testing.T) {
	b, err := os.ReadFile("testdata/runsc-flags-20221219.txt")
	if err != nil {
		t.Fatal(err)
	}
	got := parseRunscFlags(string(b), "platform", "overlay2", "network", "file-access", "file-access-mounts", "debug-log-format")
	// overlay2, network and file-access have no default in this release's
	// help text ("exclusive (default), shared" is prose).
	want := map[string]string{"platform": "ptrace", "file-access-mounts": "shared", "debug-log-format": "text"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseRunscFlags = %v, want %v", got, want)
	}
	tests := []struct {
		name, in string
		want     map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"unquoted default", "  -platform string\n    \tthe platform (default systrap)\n", map[string]string{"platform": "systrap"}},
		{"one-letter flag on one line", "  -p\tthe platform (default \"kvm\")\n", map[string]string{}},
		{"description over lines", "  -platform string\n    \tfirst line\n    \tsecond (default \"kvm\")\n  -other\n    \tx (default 1)\n", map[string]string{"platform": "kvm"}},
		{"no default", "  -platform string\n    \twhich platform\n", map[string]string{}},
		{"empty default", "  -platform string\n    \twhich (default \"\")\n", map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseRunscFlags(tc.in, "platform"); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParseRunscFlags(f *testing.F) {
	if b, err := os.ReadFile("testdata/runsc-flags-20221219.txt"); err == nil {
		f.Add(string(b))
	}
	f.Add("  -platform string\n    \t(default \"ptrace\")\n")
	f.Add("  -platform\n(default ")
	f.Fuzz(func(t *testing.T, s string) {
		got := parseRunscFlags(s, "platform", "overlay2")
		for k, v := range got {
			if k != "platform" && k != "overlay2" {
				t.Errorf("unasked flag %q", k)
			}
			if v == "" {
				t.Errorf("empty default for %q", k)
			}
		}
	})
}

func TestImageTag(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	tests := []struct{ id, want string }{
		{"36b68137ea359d7ca4c4b555231721540bfac54efd7cafb5c17b64b9bb5d8ebe", "36b68137ea359d7ca4c4b555231721540bfac54efd7cafb5c17b64b9bb5d8ebe-abababababab"},
		{"test-minimal", "test-minimal-abababababab"},
		{"Test Minimal/../x", "testminimal..x-abababababab"},
		{"..--", "image-abababababab"},
		{"", "image-abababababab"},
		{strings.Repeat("x", 200), strings.Repeat("x", 64) + "-abababababab"},
	}
	for _, tc := range tests {
		got := imageTag(tc.id, fp)
		if got != tc.want {
			t.Errorf("imageTag(%q) = %q, want %q", tc.id, got, tc.want)
		}
		if len(got) > 128 {
			t.Errorf("imageTag(%q) is %d long, more than a tag may be", tc.id, len(got))
		}
	}
}

func TestFlagValue(t *testing.T) {
	tests := []struct {
		args []string
		name string
		want string
	}{
		{[]string{"--network=none"}, "network", "none"},
		{[]string{"--platform", "kvm"}, "platform", "kvm"},
		{[]string{"-platform=ptrace", "--network=none"}, "platform", "ptrace"},
		{[]string{"--network-x=1"}, "network", ""},
		{nil, "network", ""},
	}
	for _, tc := range tests {
		if got := flagValue(tc.args, tc.name); got != tc.want {
			t.Errorf("flagValue(%q, %s) = %q, want %q", tc.args, tc.name, got, tc.want)
		}
	}
}

func TestDockerfileQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":         `"plain"`,
		`/a b/"c"\d`:    `"/a b/\"c\"\\d"`,
		"two\nlines":    `"two\nlines"`,
		"":              `""`,
		"isobench.kind": `"isobench.kind"`,
	} {
		if got := dockerfileQuote(in); got != want {
			t.Errorf("dockerfileQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestWriteTree checks the tar stream an engine imports: every kind of
// entry the image builder makes, with modes, targets, hard links and
// contents as on disk.
func TestWriteTree(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "bin"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "tmp"), 0o777))
	must(os.Chmod(filepath.Join(root, "tmp"), 0o777|os.ModeSticky))
	must(os.WriteFile(filepath.Join(root, "bin", "busybox"), []byte("#!binary"), 0o755))
	must(os.Symlink("busybox", filepath.Join(root, "bin", "sh")))
	must(os.Link(filepath.Join(root, "bin", "busybox"), filepath.Join(root, "bin", "hard")))
	must(os.WriteFile(filepath.Join(root, "etc"), []byte("x"), 0o600))
	must(syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644))

	var buf bytes.Buffer
	if err := image.WriteRootfsTar(context.Background(), &buf, root); err != nil {
		t.Fatal(err)
	}
	type ent struct {
		typ  byte
		mode int64
		link string
		body string
	}
	got := map[string]ent{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = ent{h.Typeflag, h.Mode & 0o7777, h.Linkname, string(b)}
	}
	want := map[string]ent{
		"bin/":        {tar.TypeDir, 0o755, "", ""},
		"bin/busybox": {tar.TypeReg, 0o755, "", "#!binary"},
		"bin/hard":    {tar.TypeLink, 0o755, "bin/busybox", ""},
		"bin/sh":      {tar.TypeSymlink, 0o777, "busybox", ""},
		"etc":         {tar.TypeReg, 0o600, "", "x"},
		"fifo":        {tar.TypeFifo, 0o644, "", ""},
		"tmp/":        {tar.TypeDir, 0o1777, "", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tar entries:\n got %v\nwant %v", got, want)
	}

	if err := image.WriteRootfsTar(context.Background(), io.Discard, filepath.Join(root, "missing")); err == nil {
		t.Error("WriteRootfsTar of a missing directory returned nil")
	}
}

// TestFingerprint checks that the image tag follows the files: the same
// tree gives the same fingerprint, a changed file a new one.
func TestFingerprint(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "f")
	if err := os.WriteFile(p, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := fingerprint(root)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := fingerprint(root)
	if a != b {
		t.Error("fingerprint of the same tree differs")
	}
	if err := os.WriteFile(p, []byte("two!"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if c, _ := fingerprint(root); c == a {
		t.Error("fingerprint did not change with the file")
	}
}

func TestUserFile(t *testing.T) {
	me, err := driverkit.Self()
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := parseUserFile(userFile(me, "tok-en")); !ok || id != me {
		t.Errorf("parseUserFile(userFile) = %v, %v", id, ok)
	}
}

// TestRunscDate reads the release date in the version lines of the runsc
// builds seen: Debian's, gVisor's releases, and a build from its Go module.
func TestRunscDate(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int
	}{
		{"runsc version 0.0~20221219.0", 20221219},
		{"runsc version release-20240513.0", 20240513},
		{"runsc version v0.0.0-20251011013117-af7a19336e55", 20251011},
		{"runsc version 9920251011", 0},
		{"runsc version 20251399.0", 0},
		{"runsc version", 0},
		{"", 0},
	} {
		if got := runscDate(tc.line); got != tc.want {
			t.Errorf("runscDate(%q) = %d, want %d", tc.line, got, tc.want)
		}
	}
}

// TestRuntimeArgs checks the flags a private daemon gives runsc: a runsc
// as old as Debian's runs with --network=none, one at least as new as
// runscNetworkSince without; other runtimes get their own flags only.
func TestRuntimeArgs(t *testing.T) {
	dir := t.TempDir()
	fake := func(name, version string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho '"+version+"'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	runsc, _ := lookupRuntime("runsc")
	runc, _ := lookupRuntime("runc")
	for _, tc := range []struct {
		name string
		r    ociRuntime
		path string
		want string
	}{
		{"old runsc", runsc, fake("old", "runsc version 0.0~20221219.0"), "--network=none"},
		{"new runsc", runsc, fake("new", "runsc version v0.0.0-20251011013117-af7a19336e55"), ""},
		{"unreadable runsc", runsc, fake("odd", "runsc, built by hand"), "--network=none"},
		{"runc", runc, fake("runc", "runc version 1.1.5"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(runtimeArgs(tc.r, tc.path), " "); got != tc.want {
				t.Errorf("runtimeArgs = %q, want %q", got, tc.want)
			}
		})
	}
}
