package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/testutil"
)

func TestSuiteCheck(t *testing.T) {
	state := t.TempDir()
	examples, _ := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "examples", "*.yaml"))
	if len(examples) == 0 {
		t.Fatal("no example suites")
	}
	code, out, errOut := isobench(t, append([]string{"--state-dir", state, "suite", "check"}, examples...)...)
	if code != ExitOK {
		t.Fatalf("suite check of the examples: exit %d\n%s%s", code, out, errOut)
	}
	for _, f := range examples {
		if !strings.Contains(out, f+": ok: ") {
			t.Errorf("no ok line for %s:\n%s", f, out)
		}
	}
	if !strings.Contains(out, "study.yaml: ok: 5 runtimes (host, runc, runsc, incus, firecracker) × 3 workloads (cpu, memory, fileio)") {
		t.Errorf("the study suite is not described:\n%s", out)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("workloads:\n  - name: cpu\n    params: {threads: lots}\nruntimes: [host, runx]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = isobench(t, "--state-dir", state, "suite", "check", examples[0], bad)
	if code != ExitUsage {
		t.Errorf("suite check of a bad file: exit %d, want %d", code, ExitUsage)
	}
	for _, want := range []string{
		"1 of 2 suite files have problems",
		bad + `:3:23: workloads[0].params.threads: parameter threads: "lots" is not an integer`,
		bad + `:4:18: runtimes[1]: unknown runtime "runx"`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("suite check says:\n%s\nwant %q", errOut, want)
		}
	}
}

// TestRunFileFlags: a suite file and flags that would contradict it are
// refused before anything runs.
func TestRunFileFlags(t *testing.T) {
	state := t.TempDir()
	suite := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(suite, []byte("workloads: [cpu]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", suite, "--workloads", "memory"}, "--workloads cannot be given with -f"},
		{[]string{"-f", suite, "--set", "cpu.threads=2"}, "--set cannot be given with -f"},
		{[]string{"-f", suite, "--runtimes", "host,nope"}, `--runtimes: unknown runtime "nope"`},
		{[]string{"-f", suite, "--profile", "slow"}, `unknown profile "slow"`},
		{[]string{"-f", filepath.Join(state, "missing.yaml")}, "reading suite file"},
		{[]string{"--timeout", "-5s"}, "--timeout -5s is negative"},
	} {
		code, _, errOut := isobench(t, append([]string{"--state-dir", state, "--db", filepath.Join(state, "db"), "run"}, c.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("run %v: exit %d, %q; want usage error %q", c.args, code, errOut, c.want)
		}
	}
}

// TestInterruptedExitStatus: whatever fails after an interrupt, the exit
// status says interrupted.
func TestInterruptedExitStatus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut strings.Builder
	code := Main(ctx, []string{"--state-dir", t.TempDir(), "--cache-dir", t.TempDir(), "run", "--runtimes", "host", "--agent", "/nonexistent/agent"}, Env{
		Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Version: "test",
	})
	if code != ExitInterrupted {
		t.Errorf("exit %d after an interrupt, want %d:\n%s", code, ExitInterrupted, errOut.String())
	}
}
