package image

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseLdSoConf(t *testing.T) {
	cases := []struct {
		dir  string // under testdata/ldconf, the root of the file system
		want []string
		err  string
	}{
		{dir: "basic", want: []string{"/usr/local/lib", "/opt/lib", "/usr/lib/x86_64-linux-gnu", "/tab/indented", "/with space/lib"}},
		{dir: "include", want: []string{"/a1", "/a2", "/b", "/c", "/after"}},
		{dir: "relative-include", want: []string{"/x"}},
		{dir: "debian", want: []string{"/usr/local/lib", "/usr/local/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"}},
		{dir: "missing", want: nil},
		{dir: "loop", err: "/etc/ld.so.conf: include loop: /etc/ld.so.conf -> /etc/ld.so.conf.d/back.conf -> /etc/ld.so.conf"},
		{dir: "relative-dir", err: `/etc/ld.so.conf:2: library directory "lib" is not an absolute path`},
		{dir: "bad-pattern", err: "/etc/ld.so.conf:1: include /etc/[: syntax error in pattern"},
		{dir: "empty-include", err: "/etc/ld.so.conf:2: include without a pattern"},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			got, err := parseLdSoConf(os.DirFS(filepath.Join("testdata", "ldconf", tc.dir)), ldSoConf)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseLdSoConf = %q, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseLdSoConf: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("parseLdSoConf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseLdSoConfInputs(t *testing.T) {
	cases := []struct {
		name string
		fsys fs.FS
		file string
		err  string
	}{
		{name: "relative file name", fsys: fstest.MapFS{}, file: "etc/ld.so.conf", err: "not an absolute path"},
		{name: "line too long", fsys: fstest.MapFS{"etc/ld.so.conf": {Data: []byte("/" + strings.Repeat("a", maxConfLine+1))}},
			file: ldSoConf, err: "/etc/ld.so.conf:1: bufio.Scanner: token too long"},
		{name: "top-level is a directory", fsys: fstest.MapFS{"etc/ld.so.conf/x": {Data: []byte("/x")}}, file: ldSoConf, err: "read /etc/ld.so.conf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLdSoConf(tc.fsys, tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("parseLdSoConf = %q, %v; want error containing %q", got, err, tc.err)
			}
		})
	}
}

func TestParseLdSoConfDepth(t *testing.T) {
	fsys := fstest.MapFS{}
	for i := 0; i <= maxIncludeDepth; i++ {
		fsys["etc/c"+strings.Repeat("x", i)] = &fstest.MapFile{Data: []byte("include /etc/c" + strings.Repeat("x", i+1) + "\n")}
	}
	_, err := parseLdSoConf(fsys, "/etc/c")
	if err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Fatalf("deep includes: %v, want a nesting error", err)
	}
}

// FuzzParseLdSoConf checks that no input makes the parser panic, and that
// whatever it returns is a list of clean absolute directories without
// repeats, the same on every call.
func FuzzParseLdSoConf(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "ldconf", "*", "etc", "ld.so.conf"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b, []byte("/inc\n"))
		}
	}
	f.Add([]byte("include d/*.conf\n/a # c\n"), []byte("include /etc/ld.so.conf\n"))
	f.Add([]byte("/x=libc6\n\thwcap 1 x\n"), []byte("include ../d/a.conf"))
	f.Fuzz(func(t *testing.T, top, inc []byte) {
		fsys := fstest.MapFS{
			"etc/ld.so.conf":   {Data: top},
			"etc/d/a.conf":     {Data: inc},
			"etc/d/b.conf":     {Data: []byte("/b\n")},
			"etc/d/sub/c.conf": {Data: top},
		}
		dirs, err := parseLdSoConf(fsys, ldSoConf)
		if err != nil {
			if dirs != nil || err.Error() == "" {
				t.Fatalf("error %q with dirs %q", err, dirs)
			}
			return
		}
		seen := map[string]bool{}
		for _, d := range dirs {
			if !path.IsAbs(d) || path.Clean(d) != d {
				t.Errorf("directory %q is not clean and absolute", d)
			}
			if seen[d] {
				t.Errorf("directory %q listed twice", d)
			}
			seen[d] = true
		}
		again, err := parseLdSoConf(fsys, ldSoConf)
		if err != nil || !slices.Equal(dirs, again) {
			t.Errorf("second parse gave %q, %v; first %q", again, err, dirs)
		}
	})
}
