package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/isobench/isobench/internal/image"
)

type agentBuild struct {
	once sync.Once
	path string
	err  error
	dir  string
}

var agentOnce agentBuild // set once per test binary; read-only afterwards

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testutil: cannot find own source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Agent builds the static agent binary once per test process and returns its
// path.
func Agent(t testing.TB) string {
	t.Helper()
	root := ModuleRoot(t)
	agentOnce.once.Do(func() {
		dir, err := os.MkdirTemp("", "isobench-test-agent-")
		if err != nil {
			agentOnce.err = err
			return
		}
		agentOnce.dir = dir
		out := filepath.Join(dir, "isobench-agent")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/isobench-agent")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			agentOnce.err = &buildError{out: string(b), err: err}
			return
		}
		agentOnce.path = out
	})
	if agentOnce.err != nil {
		t.Fatalf("building agent: %v", agentOnce.err)
	}
	return agentOnce.path
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.out) }

// RequireRoot skips the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// RequireBinary skips the test unless name is in PATH, and returns its path.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (in PATH)", name)
	}
	return p
}

// MinimalImage makes a small workload image in a temporary directory: the
// agent, and the host's static busybox with its applets as /bin/*. It skips
// the test when no static busybox is installed.
func MinimalImage(t testing.TB) *image.Image {
	t.Helper()
	bb := "/bin/busybox"
	if _, err := os.Stat(bb); err != nil {
		t.Skip("no static busybox at /bin/busybox (Debian package busybox-static)")
	}
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "scratch", filepath.Dir(image.AgentPath)[1:]} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, Agent(t), filepath.Join(rootfs, image.AgentPath))
	copyFile(t, bb, filepath.Join(rootfs, "bin", "busybox"))
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	return &image.Image{ID: "test-minimal", Dir: dir, Rootfs: rootfs, Manifest: image.Manifest{Source: "test"}}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
