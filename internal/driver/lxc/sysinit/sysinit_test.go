package sysinit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/agent"
)

// The console logs in testdata are real: captured from LXC containers of
// the workload image booted with this package's init layer (CRLF line ends
// and leading carriage returns are the console's).

func TestScanConsole(t *testing.T) {
	tests := []struct {
		file        string
		wantReady   bool
		wantFailure string
	}{
		{"boot-shutdown.log", true, ""},
		{"no-agent.log", false, "can't run '/.isobench/agent': No such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			c, err := ScanConsole(b)
			if err != nil {
				t.Fatal(err)
			}
			if (c.Ready != nil) != tc.wantReady {
				t.Errorf("ready = %v, want %v", c.Ready, tc.wantReady)
			}
			if c.Ready != nil && (c.Ready.Hostname != "isobench-capture1" || c.Ready.PID <= 1) {
				t.Errorf("ready message %+v", *c.Ready)
			}
			if c.Failure != tc.wantFailure {
				t.Errorf("failure %q, want %q", c.Failure, tc.wantFailure)
			}
		})
	}
}

func TestScanConsolePartial(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "boot-shutdown.log"))
	if err != nil {
		t.Fatal(err)
	}
	// Until the Ready line is complete, it is not read.
	i := strings.Index(string(b), "\n")
	for _, n := range []int{0, 10, i} {
		c, err := ScanConsole(b[:n])
		if err != nil || c.Ready != nil {
			t.Errorf("first %d bytes: %+v, %v", n, c, err)
		}
	}
	if c, err := ScanConsole(b[:i+1]); err != nil || c.Ready == nil {
		t.Errorf("first line: %+v, %v", c, err)
	}
}

func TestScanConsoleBad(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"other protocol", `{"type":"ready","version":"999","pid":4}` + "\n", "speaks protocol"},
		{"broken json", `{"type":"ready","version":` + "\n", "agent ready message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ScanConsole([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzScanConsole(f *testing.F) {
	for _, name := range []string{"boot-shutdown.log", "no-agent.log"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\r{\"type\":\"ready\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ScanConsole(b)
		if err != nil {
			return
		}
		if c.Ready != nil && c.Ready.Version != agent.Version {
			t.Errorf("accepted a Ready of version %q", c.Ready.Version)
		}
		if c.Failure != "" && !strings.HasPrefix(c.Failure, canRun) {
			t.Errorf("failure %q does not start with %q", c.Failure, canRun)
		}
	})
}

// mkroot makes a root filesystem from a list of entries: "dir/", "file",
// or "link -> target".
func mkroot(t *testing.T, entries ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, e := range entries {
		switch {
		case strings.Contains(e, " -> "):
			name, target, _ := strings.Cut(e, " -> ")
			p := filepath.Join(root, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		case strings.HasSuffix(e, "/"):
			if err := os.MkdirAll(filepath.Join(root, e), 0o755); err != nil {
				t.Fatal(err)
			}
		default:
			p := filepath.Join(root, e)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		path    string
		want    string
		wantErr string
	}{
		{"plain", []string{"sbin/"}, "/sbin/init", "/sbin/init", ""},
		{"missing directory", nil, "/sbin/init", "/sbin/init", ""},
		{"merged usr, relative", []string{"usr/sbin/", "sbin -> usr/sbin"}, "/sbin/init", "/usr/sbin/init", ""},
		{"absolute link stays inside", []string{"usr/sbin/", "sbin -> /usr/sbin"}, "/sbin/init", "/usr/sbin/init", ""},
		{"link out of the root", []string{"sbin -> ../../../host"}, "/sbin/init", "/host/init", ""},
		{"chain", []string{"a/b/", "x -> a", "sbin -> x/b"}, "/sbin/init", "/a/b/init", ""},
		{"last element not followed", []string{"sbin/", "sbin/init -> /elsewhere"}, "/sbin/init", "/sbin/init", ""},
		{"loop", []string{"sbin -> sbin2", "sbin2 -> sbin"}, "/sbin/init", "", "too many symlinks"},
		{"file in the way", []string{"sbin"}, "/sbin/init", "", "not a directory"},
		{"relative path", nil, "sbin/init", "", "not absolute"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := mkroot(t, tc.entries...)
			got, err := Resolve(root, tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Resolve = %q, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Resolve = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestLayer(t *testing.T) {
	t.Run("merged usr", func(t *testing.T) {
		root := mkroot(t, "usr/bin/busybox", "bin -> usr/bin", "sbin -> usr/sbin", "usr/sbin/", "etc/")
		files, err := Layer(root)
		if err != nil {
			t.Fatal(err)
		}
		upper := t.TempDir()
		if err := Write(upper, files); err != nil {
			t.Fatal(err)
		}
		tab, err := os.ReadFile(filepath.Join(upper, "etc", "inittab"))
		if err != nil || string(tab) != Inittab {
			t.Errorf("inittab: %q, %v", tab, err)
		}
		if fi, err := os.Stat(filepath.Join(upper, "etc", "inittab")); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("inittab mode: %v, %v", fi, err)
		}
		link, err := os.Readlink(filepath.Join(upper, "usr", "sbin", "init"))
		if err != nil || link != BusyboxPath {
			t.Errorf("init link: %q, %v", link, err)
		}
		// The image's /sbin symlink is not shadowed by a directory.
		if _, err := os.Lstat(filepath.Join(upper, "sbin")); err == nil {
			t.Error("the layer made /sbin, which would hide the image's /sbin symlink")
		}
	})
	tests := []struct {
		name    string
		entries []string
		wantErr string
	}{
		{"no busybox", []string{"etc/"}, "no busybox"},
		{"busybox is a directory", []string{"bin/busybox/"}, "not a regular file"},
		{"has an init", []string{"bin/busybox", "sbin/init"}, "already has an init"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Layer(mkroot(t, tc.entries...))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestInittab(t *testing.T) {
	// Every action line has four fields; the agent runs once, in init mode.
	var actions []string
	for _, l := range strings.Split(Inittab, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.SplitN(l, ":", 4)
		if len(f) != 4 {
			t.Fatalf("inittab line %q does not have 4 fields", l)
		}
		actions = append(actions, f[2]+" "+f[3])
	}
	want := []string{"once /.isobench/agent init", "shutdown /bin/busybox sync"}
	if strings.Join(actions, "|") != strings.Join(want, "|") {
		t.Errorf("actions %q, want %q", actions, want)
	}
}
