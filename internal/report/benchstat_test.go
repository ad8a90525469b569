package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/builtin"
)

// TestBenchstatReads runs benchstat itself, at the version of
// golang.org/x/perf this module requires, on a bench report: it must read
// every runtime and unit, and show the medians isobench computed. It skips
// when the go command or the module cannot be had.
func TestBenchstatReads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds benchstat with the go command")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	mod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`golang.org/x/perf (v\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod does not require golang.org/x/perf")
	}
	rep := Build(loadRun(t, "cpu-4runtimes"), builtin.Workloads())
	dir := t.TempDir()
	file := filepath.Join(dir, "run.bench")
	var buf bytes.Buffer
	if err := rep.Bench(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "run", "golang.org/x/perf/cmd/benchstat@"+string(m[1]), "-col", "runtime", file)
	cmd.Dir = dir // outside this module: go run pkg@version
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "go: ") {
			t.Skipf("cannot build benchstat here: %v: %s", err, strings.TrimSpace(stderr.String()))
		}
		t.Fatalf("benchstat: %v\n%s", err, stderr.Bytes())
	}
	text := string(out)
	for _, want := range []string{"host", "runc", "crun", "runsc", "vs base", "latency-avg-sec", "latency-min-sec", "events/s",
		"2.385m", "735.0µ", "415.4"} {
		if !strings.Contains(text, want) {
			t.Errorf("benchstat output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "parsing") || strings.Contains(stderr.String(), "syntax") {
		t.Errorf("benchstat complained: %s", stderr.Bytes())
	}
}
