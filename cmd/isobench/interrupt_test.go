package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver/oci"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/runner"
	"github.com/isobench/isobench/internal/store"
	"github.com/isobench/isobench/internal/testutil"
)

// These tests run the real isobench binary, built here, on real runc
// sandboxes, and stop it the ways a user or a crash does: SIGINT once,
// SIGINT twice, SIGTERM, and SIGKILL. After each, nothing isobench made
// may be left on the host once `isobench gc` has run (after SIGINT and
// SIGTERM, not even before it), and every trial that had finished must be
// in the results store.

// binaries builds isobench once per test process into bin/test of the
// checkout (beside the agent testutil builds; ignored by git), and returns
// its path and the agent's.
type binaries struct {
	once           sync.Once
	isobench, errs string
}

func build(t *testing.T, b *binaries) (isobench, agentBin string) {
	t.Helper()
	agentBin = testutil.Agent(t)
	b.once.Do(func() {
		dir := filepath.Join(testutil.ModuleRoot(t), "bin", "test")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.errs = err.Error()
			return
		}
		// Built under a name of this process and renamed into place, so
		// that test processes running at once never see half a binary.
		tmp := filepath.Join(dir, fmt.Sprintf(".isobench-%d", os.Getpid()))
		out := filepath.Join(dir, "isobench")
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", tmp, "./cmd/isobench")
		cmd.Dir = testutil.ModuleRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp)
			b.errs = fmt.Sprintf("building isobench: %v: %s", err, msg)
			return
		}
		if err := os.Rename(tmp, out); err != nil {
			b.errs = err.Error()
			return
		}
		b.isobench = out
	})
	if b.errs != "" {
		t.Fatal(b.errs)
	}
	return b.isobench, agentBin
}

// e2e is one isobench environment: its own state directory and results
// store, and a shared image cache.
type e2e struct {
	t       *testing.T
	bin     string
	agent   string
	base    string // holds the state directory: everything per-sandbox is under it
	cache   string
	db      string
	runtime string
}

var shared binaries

func newE2E(t *testing.T, runtime string) *e2e {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, runtime)
	testutil.RequireBinary(t, "sysbench")
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("no static busybox at /bin/busybox (Debian package busybox-static)")
	}
	bin, agentBin := build(t, &shared)
	base, err := os.MkdirTemp("", "isobench-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	e := &e2e{t: t, bin: bin, agent: agentBin, base: base, cache: filepath.Join(base, "cache"), db: filepath.Join(base, "results.db"), runtime: runtime}
	t.Cleanup(func() {
		// Whatever the test saw, leave the machine clean. gc also looks
		// at the runtimes' own lists, where other isobench processes of
		// the host (tests of other packages) may have sandboxes it cannot
		// judge: its complaints about those are not this test's.
		out, err := e.command(context.Background(), "gc").CombinedOutput()
		if err != nil && strings.Contains(string(out), e.base) {
			t.Errorf("final isobench gc: %v: %s", err, out)
		}
		if t.Failed() {
			t.Logf("kept %s for a look", base)
			return
		}
		os.RemoveAll(base)
	})
	return e
}

func (e *e2e) command(ctx context.Context, args ...string) *exec.Cmd {
	all := append([]string{"--state-dir", filepath.Join(e.base, "state"), "--cache-dir", e.cache, "--db", e.db}, args...)
	cmd := exec.CommandContext(ctx, e.bin, all...)
	cmd.Env = append(os.Environ(), "HOME="+e.base)
	return cmd
}

// runArgs is a run of many short runc trials, so that a signal always
// lands in the middle of one.
func (e *e2e) runArgs(trials int) []string {
	return []string{"run", "--runtimes", e.runtime, "--workloads", "cpu",
		"--set", "cpu.time=1", "--set", "cpu.max-prime=2000",
		"--trials", strconv.Itoa(trials), "--warmups", "0", "--seed", "7", "--agent", e.agent}
}

// running is an isobench run in progress whose stderr is read line by line.
type running struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	runID  string
	ended  int // trial lines seen
	ok     int // of which ended ok
	change chan struct{}
	done   chan struct{}
	stdout bytes.Buffer
}

var (
	runLine   = regexp.MustCompile(`^run (\S+): `)
	trialLine = regexp.MustCompile(`^\[\s*\d+/\d+\]\s+\S+\s+\S+\s+(?:trial|warm-up) \d+\s+[\d.]+s (ok|failed|timeout|interrupted)`)
)

func (e *e2e) start(args ...string) *running {
	e.t.Helper()
	r := &running{cmd: e.command(context.Background(), args...), change: make(chan struct{}, 1), done: make(chan struct{})}
	r.cmd.Stdout = &r.stdout
	pr, err := r.cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			r.mu.Lock()
			r.lines = append(r.lines, line)
			if m := runLine.FindStringSubmatch(line); m != nil {
				r.runID = m[1]
			}
			if m := trialLine.FindStringSubmatch(line); m != nil {
				r.ended++
				if m[1] == "ok" {
					r.ok++
				}
			}
			r.mu.Unlock()
			select {
			case r.change <- struct{}{}:
			default:
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return r
}

// waitTrials waits until n trials have ended.
func (r *running) waitTrials(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(3 * time.Minute)
	for {
		r.mu.Lock()
		ended := r.ended
		r.mu.Unlock()
		if ended >= n {
			return
		}
		select {
		case <-r.change:
		case <-r.done:
			t.Fatalf("isobench ended before %d trials:\n%s", n, r.output())
		case <-deadline:
			t.Fatalf("no %d trials after 3 minutes:\n%s", n, r.output())
		}
	}
}

// waitLine waits until isobench printed a line starting with prefix.
func (r *running) waitLine(t *testing.T, prefix string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		r.mu.Lock()
		for _, l := range r.lines {
			if strings.HasPrefix(l, prefix) {
				r.mu.Unlock()
				return
			}
		}
		r.mu.Unlock()
		select {
		case <-r.change:
		case <-r.done:
			t.Fatalf("isobench ended without printing %q:\n%s", prefix, r.output())
		case <-deadline:
			t.Fatalf("isobench did not print %q:\n%s", prefix, r.output())
		}
	}
}

func (r *running) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// wait waits for isobench to exit and returns its exit status.
func (r *running) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	exited := make(chan error, 1)
	go func() { <-r.done; exited <- r.cmd.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
				return -int(st.Signal())
			}
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(limit):
		_ = r.cmd.Process.Kill()
		t.Fatalf("isobench still runs %s after the signal:\n%s", limit, r.output())
		return 0
	}
}

// sandboxRunning waits until the sandbox of trial seq has a state record
// and the runtime says it runs, so that a signal lands mid-trial.
func (e *e2e) sandboxRunning(t *testing.T, runID string, seq int) {
	t.Helper()
	id := runner.SandboxID(runID, seq, 0)
	record := filepath.Join(e.base, "state", "state", "oci", id+".json")
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(record); err == nil {
			out, err := exec.Command(oci.Binary(e.runtime), "state", id).Output()
			if err == nil && bytes.Contains(out, []byte(`"running"`)) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("sandbox %s never ran", id)
}

// leftovers lists everything of runID, or of this environment, still on
// the host: containers, mounts, cgroup directories, processes, state
// records and sandbox directories.
func (e *e2e) leftovers(runID string) []string {
	var left []string
	marker := "isobench-" + runID
	if out, err := exec.Command(oci.Binary(e.runtime), "list", "--quiet").Output(); err == nil {
		for _, id := range strings.Fields(string(out)) {
			if strings.HasPrefix(id, marker) {
				left = append(left, "container "+id)
			}
		}
	} else {
		left = append(left, "cannot list containers: "+err.Error())
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, marker) || strings.Contains(line, e.base) {
				left = append(left, "mount "+line)
			}
		}
	}
	cgs, _ := filepath.Glob("/sys/fs/cgroup/*/isobench/" + marker + "*")
	cgs2, _ := filepath.Glob("/sys/fs/cgroup/isobench/" + marker + "*")
	for _, c := range append(cgs, cgs2...) {
		left = append(left, "cgroup "+c)
	}
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		cwd, _ := os.Readlink(filepath.Join("/proc", ent.Name(), "cwd"))
		text := string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		if strings.Contains(text, marker) || strings.Contains(cwd, marker) || strings.Contains(text, filepath.Join(e.base, "state")) {
			left = append(left, fmt.Sprintf("process %d: %s", pid, text))
		}
	}
	// State records are files anywhere under the state directory that name
	// a sandbox of the run, by file name or content; sandbox directories
	// are under the run directory. (Drivers keep files of their own there
	// too, such as an engine's lock: those are not the run's.)
	for _, dir := range []string{filepath.Join(e.base, "state", "state"), filepath.Join(e.base, "state", "run")} {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if strings.Contains(d.Name(), marker) {
				left = append(left, "left "+p)
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(marker)) {
					left = append(left, "state record "+p+" (names the run)")
				}
			}
			return nil
		})
	}
	return left
}

// stored returns the run and its trials from the results store.
func (e *e2e) stored(t *testing.T, runID string) *result.Run {
	t.Helper()
	db, err := store.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run, err := db.GetRun(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// gc runs isobench gc. It fails the test when gc reports a problem with
// something of this environment; problems with other processes'
// sandboxes (seen in the runtimes' lists) are logged.
func (e *e2e) gc(t *testing.T) string {
	t.Helper()
	out, err := e.command(context.Background(), "gc").CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), e.base) {
			t.Fatalf("isobench gc: %v: %s", err, out)
		}
		t.Logf("isobench gc: %v (about other processes' sandboxes): %s", err, out)
	}
	return string(out)
}

// checkKept checks that the store holds every trial isobench reported
// ok before it stopped.
func checkKept(t *testing.T, r *running, run *result.Run) {
	t.Helper()
	ok := 0
	for _, tr := range run.Trials {
		if tr.Status == result.StatusOK {
			ok++
			if len(tr.Samples) == 0 {
				t.Errorf("stored trial %d has no samples", tr.Seq)
			}
		}
	}
	if ok != r.ok || ok < 2 {
		t.Errorf("the store holds %d ok trials, isobench reported %d (want at least 2):\n%s", ok, r.ok, r.output())
	}
}

func TestSIGINTLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		runtime string
		signals []os.Signal
	}{
		{"SIGINT", "runc", []os.Signal{syscall.SIGINT}},
		{"SIGTERM", "runc", []os.Signal{syscall.SIGTERM}},
		// gVisor takes a second to stop a sandbox, time enough for the
		// second signal to land while the first is being handled.
		{"SIGINT twice", "runsc", []os.Signal{syscall.SIGINT, syscall.SIGINT}},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			e := newE2E(t, tc.runtime)
			r := e.start(e.runArgs(40)...)
			r.waitTrials(t, 2)
			r.mu.Lock()
			runID := r.runID
			r.mu.Unlock()
			e.sandboxRunning(t, runID, 2)
			start := time.Now()
			// A second signal goes once isobench says it handles the first,
			// as from a user pressing Ctrl-C again (signals sent back to
			// back would merge into one).
			for i, sig := range tc.signals {
				if i > 0 {
					r.waitLine(t, "isobench: interrupted:")
				}
				if err := r.cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
			}
			code := r.wait(t, 90*time.Second)
			t.Logf("%s: isobench exited %d in %.2fs", tc.name, code, time.Since(start).Seconds())
			if code != 130 {
				t.Errorf("exit status %d, want 130 (interrupted):\n%s", code, r.output())
			}
			out := r.output()
			if !strings.Contains(out, "interrupted") {
				t.Errorf("isobench did not say it was interrupted:\n%s", out)
			}
			if len(tc.signals) > 1 && !strings.Contains(out, "interrupted again") {
				t.Errorf("isobench did not say it hurried on the second signal:\n%s", out)
			}
			// Interrupted, isobench removes everything itself.
			if left := e.leftovers(runID); len(left) > 0 {
				t.Errorf("left on the host after %s, before any gc:\n%s", tc.name, strings.Join(left, "\n"))
			}
			if got := e.gc(t); strings.Contains(got, runID) {
				t.Errorf("isobench gc found things of the run after a clean interrupt:\n%s", got)
			}
			run := e.stored(t, runID)
			if run.Status != result.RunInterrupted {
				t.Errorf("stored run status %q, want %q", run.Status, result.RunInterrupted)
			}
			checkKept(t, r, run)
			last := run.Trials[len(run.Trials)-1]
			if last.Status != result.StatusInterrupted {
				t.Errorf("last stored trial %d is %s (%s), want interrupted", last.Seq, last.Status, last.Error)
			}
		})
	}
}

func TestSIGKILLThenGC(t *testing.T) {
	e := newE2E(t, "runc")
	r := e.start(e.runArgs(40)...)
	r.waitTrials(t, 2)
	r.mu.Lock()
	runID := r.runID
	r.mu.Unlock()
	e.sandboxRunning(t, runID, 2)
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(t, 30*time.Second); code != -int(syscall.SIGKILL) {
		t.Fatalf("isobench ended with %d, want killed", code)
	}
	// A crash leaves the sandbox in flight: the test must see it, or it
	// proves nothing.
	left := e.leftovers(runID)
	if len(left) == 0 {
		t.Fatal("nothing left after SIGKILL mid-trial: the test did not hit a trial")
	}
	t.Logf("left after SIGKILL:\n%s", strings.Join(left, "\n"))

	// The next run warns, and leaves the leftovers alone.
	out, err := e.command(context.Background(), e.runArgs(1)...).CombinedOutput()
	if err != nil {
		t.Fatalf("a run after the crash failed: %v\n%s", err, out)
	}
	crashed := runner.SandboxID(runID, 2, 0)
	if !strings.Contains(string(out), "warning: isobench processes that no longer run left") || !strings.Contains(string(out), crashed) {
		t.Errorf("the next run did not warn of %s:\n%s", crashed, out)
	}
	if len(e.leftovers(runID)) == 0 {
		t.Errorf("the next run removed the leftovers; only gc may")
	}

	got := e.gc(t)
	if !strings.Contains(got, crashed) {
		t.Errorf("isobench gc did not name %s:\n%s", crashed, got)
	}
	if left := e.leftovers(runID); len(left) > 0 {
		t.Errorf("left on the host after isobench gc:\n%s", strings.Join(left, "\n"))
	}
	if got := e.gc(t); strings.Contains(got, runID) {
		t.Errorf("a second isobench gc found more:\n%s", got)
	}
	run := e.stored(t, runID)
	checkKept(t, r, run)
	for _, tr := range run.Trials {
		if tr.Seq >= 2 {
			t.Errorf("trial %d, in flight when killed, is in the store", tr.Seq)
		}
	}
}

// TestTimeoutKillsHungTrial runs trials that would take an hour (sysbench
// told to run for 3600 s) through the real binary: the trial is killed at --timeout and kept as timed out, the run
// goes on to the next trial, and nothing is left.
func TestTimeoutKillsHungTrial(t *testing.T) {
	e := newE2E(t, "runc")
	args := []string{"run", "--runtimes", e.runtime, "--workloads", "cpu",
		"--set", "cpu.time=3600",
		"--trials", "2", "--warmups", "0", "--seed", "3", "--timeout", "4s", "--agent", e.agent}
	start := time.Now()
	r := e.start(args...)
	code := r.wait(t, 3*time.Minute)
	t.Logf("two timed-out trials took %.1fs", time.Since(start).Seconds())
	r.mu.Lock()
	runID := r.runID
	r.mu.Unlock()
	// Timed-out trials are results, kept; a run none of whose trials
	// succeeded exits 4 (cli.ExitUnjudged), so that no one takes it for a
	// measurement.
	if code != 4 {
		t.Fatalf("exit status %d, want 4 (every trial timed out):\n%s", code, r.output())
	}
	run := e.stored(t, runID)
	if len(run.Trials) != 2 {
		t.Fatalf("%d trials stored, want both (the run goes on after a timeout)", len(run.Trials))
	}
	for _, tr := range run.Trials {
		if tr.Status != result.StatusTimeout || !strings.Contains(tr.Error, "timed out after 4s") {
			t.Errorf("trial %d: %s (%s), want timeout after 4s", tr.Seq, tr.Status, tr.Error)
		}
		if d := tr.End.Sub(tr.Start); d > 30*time.Second {
			t.Errorf("trial %d took %s: the hung command was not killed at the limit", tr.Seq, d)
		}
	}
	if left := e.leftovers(runID); len(left) > 0 {
		t.Errorf("left on the host after timed-out trials:\n%s", strings.Join(left, "\n"))
	}
	if procs := procsWith("--time=3600"); len(procs) > 0 {
		t.Errorf("the hung sysbench still runs: %s", strings.Join(procs, "; "))
	}
}

// procsWith lists the processes (but this one) whose command line holds s.
func procsWith(s string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if cmd := string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})); strings.Contains(cmd, s) {
			out = append(out, fmt.Sprintf("pid %d: %s", pid, cmd))
		}
	}
	return out
}
