package testutil

import (
	"fmt"
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
}

// agentOnce builds the agent once per test binary. It is the one package
// variable of the test helpers: a build cache, written once.
var agentOnce agentBuild

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
// path. The binary goes to bin/test/ in the checkout (ignored by git), not to
// a temporary directory that nobody would remove; the Go build cache makes
// later builds cheap.
func Agent(t testing.TB) string {
	t.Helper()
	root := ModuleRoot(t)
	agentOnce.once.Do(func() {
		dir := filepath.Join(root, "bin", "test")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			agentOnce.err = err
			return
		}
		// Each test process builds to its own name and renames into place,
		// so that packages tested in parallel never see a half-written file.
		tmp := filepath.Join(dir, fmt.Sprintf(".isobench-agent-%d", os.Getpid()))
		out := filepath.Join(dir, "isobench-agent")
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", tmp, "./cmd/isobench-agent")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			agentOnce.err = &buildError{out: string(b), err: err}
			_ = os.Remove(tmp)
			return
		}
		if err := os.Rename(tmp, out); err != nil {
			agentOnce.err = err
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

// MinimalImage makes a small workload image in a temporary directory, built
// from this host's own files as Build's are (image.SourceHost): the
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
	return &image.Image{ID: "test-minimal", Dir: dir, Rootfs: rootfs, Manifest: image.Manifest{Source: image.SourceHost}}
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
