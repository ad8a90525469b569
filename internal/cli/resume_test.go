package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/host"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/store"
	"github.com/isobench/isobench/internal/testutil"
)

// TestKillAndResume runs isobench (the built binary) on the host baseline,
// kills it with SIGKILL once some trials are stored, and resumes the run:
// the resumed process must run exactly the trials the run lacked, so that
// every planned trial is stored OK once, and what the kill left on the
// host must be tracked and removable.
func TestKillAndResume(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "sysbench")
	agent := testutil.Agent(t)
	dir := t.TempDir()
	bin := buildIsobench(t, dir)
	db := filepath.Join(dir, "isobench.db")
	cache := filepath.Join(dir, "cache")
	stateDir := filepath.Join(dir, "state")
	global := []string{"--db", db, "--cache-dir", cache, "--state-dir", stateDir}
	const (
		trials  = 4
		warmups = 1
		planned = trials + warmups
		killAt  = 2
	)
	runArgs := append(append([]string{}, global...), "run", "--runtimes", "host", "--workloads", "cpu",
		"--set", "cpu.time=1", "--trials", fmt.Sprint(trials), "--warmups", fmt.Sprint(warmups), "--seed", "7", "--agent", agent)

	// Start, and SIGKILL once killAt trials are committed.
	cmd := exec.Command(bin, runArgs...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	id := waitForTrials(t, db, killAt, exited, &out)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	waitNoProcessUnder(t, dir)

	s, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	killed, err := s.GetRun(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.DoneTrials(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if killed.Status != result.RunRunning || len(before.Keys) < killAt || len(before.Keys) >= planned {
		t.Fatalf("after SIGKILL: status %s, %d of %d trials done; want running with at least %d and fewer than all", killed.Status, len(before.Keys), planned, killAt)
	}
	t.Logf("killed run %s with %d of %d trials stored", id, len(before.Keys), planned)

	// What the kill left on the host (the killed trial's scratch directory)
	// is tracked, and removed by the host driver's collector, as isobench
	// gc does; only this test's state directory is looked at.
	hd, err := host.New(driver.Env{StateDir: filepath.Join(stateDir, "state"), RunDir: filepath.Join(stateDir, "run")}, "")
	if err != nil {
		t.Fatal(err)
	}
	removed, err := hd.(driver.Collector).Collect(t.Context())
	if err != nil {
		t.Fatalf("collecting what the killed isobench left: %v", err)
	}
	t.Logf("collected: %v", removed)
	if left, _ := filepath.Glob(filepath.Join(stateDir, "state", "*")); len(left) > 0 {
		t.Errorf("state records left after collecting: %v", left)
	}
	if left, _ := filepath.Glob(filepath.Join(stateDir, "run", "*")); len(left) > 0 {
		t.Errorf("files left after collecting: %v", left)
	}

	// Resume: only the missing trials run.
	resume := exec.Command(bin, append(append([]string{}, global...), "run", "--resume", id[:len(id)-2], "--agent", agent)...)
	b, err := resume.CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, b)
	}
	if !strings.Contains(string(b), fmt.Sprintf("%d trials still to run", planned-len(before.Keys))) {
		t.Errorf("resume did not say it runs the %d missing trials:\n%s", planned-len(before.Keys), b)
	}
	final, err := s.GetRun(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != result.RunFinished {
		t.Errorf("status after resume: %s", final.Status)
	}
	ok := map[store.TrialKey]int{}
	seqs := map[int]bool{}
	added := 0
	for _, tr := range final.Trials {
		if seqs[tr.Seq] {
			t.Errorf("sequence number %d used twice", tr.Seq)
		}
		seqs[tr.Seq] = true
		if tr.Seq >= before.NextSeq {
			added++
		}
		if tr.Status == result.StatusOK {
			ok[store.KeyOf(tr)]++
		}
	}
	if len(ok) != planned {
		t.Errorf("%d distinct trials done after resume, want %d", len(ok), planned)
	}
	for k, n := range ok {
		if n != 1 {
			t.Errorf("trial %+v done %d times", k, n)
		}
	}
	if want := planned - len(before.Keys); added != want {
		t.Errorf("the resume stored %d trials, want the %d missing", added, want)
	}
	for _, tr := range final.Trials[:len(final.Trials)-added] {
		if tr.Seq >= before.NextSeq {
			t.Errorf("trial %d out of order", tr.Seq)
		}
	}
	// Resuming a complete run runs nothing more.
	again := exec.Command(bin, append(append([]string{}, global...), "run", "--resume", id, "--agent", agent)...)
	if b, err := again.CombinedOutput(); err != nil || !strings.Contains(string(b), "0 trials still to run") {
		t.Errorf("resuming a finished run: %v\n%s", err, b)
	}
	// Flags that would change the plan are refused.
	bad := exec.Command(bin, append(append([]string{}, global...), "run", "--resume", id, "--trials", "9")...)
	if b, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(b), "--trials cannot be given with --resume") {
		t.Errorf("--resume with --trials: %v\n%s", err, b)
	}
}

// buildIsobench builds the isobench binary into dir and returns its path.
func buildIsobench(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "isobench")
	build := exec.Command("go", "build", "-o", bin, "./cmd/isobench")
	build.Dir = testutil.ModuleRoot(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building isobench: %v\n%s", err, out)
	}
	return bin
}

// waitForTrials polls the database until a run has n trials done, and
// returns the run's identifier.
func waitForTrials(t *testing.T, db string, n int, exited <-chan error, out *strings.Builder) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	for {
		select {
		case err := <-exited:
			t.Fatalf("isobench ended before it was killed: %v\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatalf("no %d trials stored in time\n%s", n, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := os.Stat(db); err != nil {
			continue
		}
		s, err := store.Open(ctx, db)
		if err != nil {
			continue
		}
		runs, err := s.ListRuns(ctx)
		if err == nil && len(runs) == 1 {
			d, err := s.DoneTrials(ctx, runs[0].ID)
			if err == nil && len(d.Keys) >= n {
				s.Close()
				return runs[0].ID
			}
		}
		s.Close()
	}
}

// waitNoProcessUnder waits until no process runs a program under dir (the
// workload tools a killed isobench left running end on their own, within
// their time limit).
func waitNoProcessUnder(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var left []string
		procs, _ := filepath.Glob("/proc/[0-9]*/exe")
		for _, p := range procs {
			if exe, err := os.Readlink(p); err == nil && strings.HasPrefix(exe, dir) {
				left = append(left, filepath.Dir(p)+" "+exe)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes still running from %s after 30s: %v", dir, left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestResumeRuntimeGone: a run resumed where one of its runtimes no longer
// works (here runc, broken) skips that runtime's cells with the
// reason, keeps their stored trials and finishes; the run is not left
// marked running. A run that measured nothing exits with ExitUnjudged, and
// an adaptive run keeps its target in its stored suite.
func TestResumeRuntimeGone(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "sysbench")
	testutil.RequireBinary(t, "runc")
	agent := testutil.Agent(t)
	dir := t.TempDir()
	bin := buildIsobench(t, dir)
	db := filepath.Join(dir, "isobench.db")
	global := []string{"--db", db, "--cache-dir", filepath.Join(dir, "cache"), "--state-dir", filepath.Join(dir, "state")}
	isobench := func(env []string, args ...string) (string, int) {
		cmd := exec.Command(bin, append(append([]string{}, global...), args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	out, code := isobench(nil, "run", "--runtimes", "host,runc", "--workloads", "cpu", "--set", "cpu.time=1",
		"--trials", "2", "--warmups", "0", "--target-ci", "50%", "--max-trials", "3", "--agent", agent)
	if code != 0 {
		t.Fatalf("run exited %d:\n%s", code, out)
	}
	s, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.ListRuns(t.Context())
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v, %v", runs, err)
	}
	id := runs[0].ID
	first, err := s.GetRun(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first.Suite, `"TargetCI":0.5`) || !strings.Contains(first.Suite, `"MaxTrials":3`) {
		t.Errorf("the stored suite lacks the adaptive stop: %s", first.Suite)
	}

	// A runc that no longer works: first in PATH, it fails as a broken
	// install would.
	broken := filepath.Join(dir, "broken")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "runc"), []byte("#!/bin/sh\necho 'runc: broken for this test' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, code = isobench([]string{"PATH=" + broken + ":" + os.Getenv("PATH")}, "run", "--resume", id, "--agent", agent)
	if code != 0 {
		t.Fatalf("resume without runc exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "skipping runc") {
		t.Errorf("the resume does not say it skips runc:\n%s", out)
	}
	final, err := s.GetRun(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != result.RunFinished || len(final.Trials) != len(first.Trials) {
		t.Errorf("after the resume: status %s, %d trials; want finished with the %d stored", final.Status, len(final.Trials), len(first.Trials))
	}

	out, code = isobench(nil, "run", "--runtimes", "host", "--workloads", "cpu", "--set", "cpu.time=5",
		"--trials", "1", "--warmups", "0", "--timeout", "1s", "--agent", agent)
	if code != ExitUnjudged || !strings.Contains(out, "no trial of run") {
		t.Errorf("a run whose every trial timed out exited %d, want %d naming it:\n%s", code, ExitUnjudged, out)
	}
}
