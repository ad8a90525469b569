package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/store"
	"github.com/isobench/isobench/internal/testutil"
	"github.com/isobench/isobench/internal/testutil/hostile"
)

// isobenchWithin runs the CLI as isobench does, failing the test when it
// has not returned within d (a FIFO opened for reading would block it for
// good, a plan of a trillion steps would run the host out of memory).
func isobenchWithin(t *testing.T, d time.Duration, args ...string) (int, string) {
	t.Helper()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), args, Env{
			Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
			Version: "test", Executable: "/nonexistent-isobench/isobench",
		})
		done <- result{code, stderr.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.stderr
	case <-time.After(d):
		t.Fatalf("isobench %s did not return within %s", strings.Join(args, " "), d)
		return 0, ""
	}
}

// TestRunRefusesBadFlags: a run flag out of bounds, an empty or repeated
// list, an unknown baseline, a bad --target-ci or --max-trials, an output
// file that cannot be written, a number that is not one: each is a usage
// error (exit status 2) found before the image is built, a runtime probed
// or the run recorded. None needs a runtime: the checks come first.
func TestRunRefusesBadFlags(t *testing.T) {
	fifoDir := t.TempDir()
	fifo := hostile.FIFO(t, fifoDir, "fifo")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--trials", "1000000000000"}, `--trials "1000000000000": out of range: want 1 to 10000`},
		{[]string{"--warmups", "100000000000"}, `--warmups "100000000000": out of range: want 0 to 1000`},
		{[]string{"--set", "cpu.threads=100000000"}, "workload cpu: parameter threads: 100000000 is above the maximum 1024"},
		{[]string{"--set", "memory.total-size=100000T", "--workloads", "memory"}, "parameter total-size"},
		{[]string{"--warmups", "-5"}, `--warmups "-5": out of range`},
		{[]string{"--trials", "0"}, `--trials "0": out of range`},
		{[]string{"--runtimes", ""}, "--runtimes is empty"},
		{[]string{"--runtimes", "host,,runc"}, "--runtimes host,,runc: an empty name"},
		{[]string{"--runtimes", "host,host"}, "--runtimes: host is listed twice"},
		{[]string{"--runtimes", "hots"}, `--runtimes: unknown runtime "hots"`},
		{[]string{"--workloads", "cpu,cpu"}, "--workloads: cpu is listed twice"},
		{[]string{"--workloads", ""}, "--workloads is empty"},
		{[]string{"--baseline", "nosuch"}, `--baseline "nosuch" is not among the runtimes`},
		{[]string{"--runtimes", "host,runc", "--baseline", "crun"}, `--baseline "crun" is not among the runtimes of the run (host, runc)`},
		{[]string{"--target-ci", "5x"}, `--target-ci: "5x" is not a percentage`},
		{[]string{"--target-ci", ""}, `--target-ci: "" is not a percentage`},
		{[]string{"--max-trials", "2", "--trials", "5", "--target-ci", "2%"}, "--max-trials 2 is below --trials 5"},
		{[]string{"--max-trials", "10000", "--trials", "5", "--target-ci", "2%", "--workloads", "density", "--set", "density.n=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20"}, "--max-trials 10000: the plan makes"},
		{[]string{"--max-trials", "5"}, "--max-trials without --target-ci"},
		{[]string{"--max-trials", "99999999999", "--target-ci", "2%"}, `--max-trials "99999999999": out of range`},
		{[]string{"--report", "/nonexistent-dir/x.html"}, "--report /nonexistent-dir/x.html: the directory /nonexistent-dir does not exist"},
		{[]string{"--json", "/dev/null"}, "--json /dev/null: a character device, not a regular file"},
		{[]string{"--json", fifo}, "a FIFO (named pipe), not a regular file"},
		{[]string{"--json", fifoDir}, "a directory, not a regular file"},
		{[]string{"--json", filepath.Join(fifoDir, "r.json"), "--report", filepath.Join(fifoDir, "r.json")}, "name the same file"},
		{[]string{"--trials", "x"}, `--trials "x": not a whole number`},
		{[]string{"--seed", "x"}, `--seed "x": not a whole number`},
		{[]string{"--timeout", "5ms"}, "--timeout 5ms is shorter than the minimum 1s"},
		{[]string{"--timeout", "soon"}, `--timeout "soon": not a duration`},
		{[]string{"--set", "cpu.threads=1", "--set", "cpu.threads=2"}, "--set cpu.threads is given twice"},
		{[]string{"--scratch", "tmpfs"}, "no workload of the run (cpu) has a scratch parameter"},
		{[]string{"--order", "random"}, `order "random"`},
		{[]string{"--nosuch"}, "unknown flag: --nosuch"},
		{[]string{"--resume", ""}, "--resume is empty"},
		{[]string{"--file", ""}, "--file is empty"},
		{[]string{"--baseline", " "}, "--baseline is empty"},
		{[]string{"extra"}, `unknown command "extra"`},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			base := t.TempDir()
			db := filepath.Join(base, "db", "isobench.db")
			cache := filepath.Join(base, "cache")
			if err := os.Mkdir(cache, 0o755); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--state-dir", filepath.Join(base, "state"), "--cache-dir", cache, "--db", db, "run"}, c.args...)
			start := time.Now()
			code, errOut := isobenchWithin(t, 30*time.Second, args...)
			if code != ExitUsage || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, %q; want usage error %q", code, errOut, c.want)
			}
			if strings.Contains(errOut, "strconv") || strings.Contains(errOut, "invalid argument") {
				t.Errorf("pflag's own wording: %q", errOut)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("refusing took %s", d)
			}
			for _, word := range []string{"image ", "probing", "stored run"} {
				if strings.Contains(errOut, word) {
					t.Errorf("work began before the refusal (%q):\n%s", word, errOut)
				}
			}
			assertNoRun(t, db)
			if ents, err := os.ReadDir(cache); err != nil || len(ents) > 0 {
				t.Errorf("the cache directory holds %d entries (%v): an image was built", len(ents), err)
			}
		})
	}
}

// assertNoRun fails when the database at path holds a run.
func assertNoRun(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return
	}
	s, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.ListRuns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) > 0 {
		t.Errorf("the store holds %d runs, want none", len(runs))
	}
}

// TestUsageExitStatus: every mistake on the command line, in any
// subcommand, exits with status 2 and pflag's parser errors are reworded.
func TestUsageExitStatus(t *testing.T) {
	db := filepath.Join(t.TempDir(), "isobench.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"nosuch"}, `unknown command "nosuch" for "isobench"`},
		{[]string{"rnu"}, `did you mean run`},
		{[]string{"suite", "nosuch"}, `unknown command "nosuch" for "isobench suite"`},
		{[]string{"runs", "show"}, "accepts 1 arg(s), received 0"},
		{[]string{"runs", "extra"}, `unknown command "extra" for "isobench runs"`},
		{[]string{"report"}, "accepts 1 arg(s), received 0"},
		{[]string{"compare", "a", "b", "c"}, "accepts between 1 and 2 arg(s)"},
		{[]string{"runs", "--nosuch"}, "unknown flag: --nosuch"},
		{[]string{"run", "--trials"}, "flag needs an argument: --trials"},
		{[]string{"runs", "--json=maybe"}, `--json "maybe": not true or false`},
		{[]string{"compare", "a", "--fail-above", "x"}, `--fail-above`},
		{[]string{"report", "latest", "--format", "pdf"}, "pdf"},
		{[]string{"report", "latest", "-o", ""}, "--output is empty"},
		{[]string{"report", "latest", "-o", "/nonexistent-dir/r.html"}, "--output /nonexistent-dir/r.html: the directory /nonexistent-dir does not exist"},
		{[]string{"image", "import", "--max-entries", "0", "x"}, `--max-entries "0": out of range: want 1 to 10000000`},
		{[]string{"image", "import", "--max-entries", "10000001", "x"}, `--max-entries "10000001": out of range: want 1 to 10000000`},
		{[]string{"image", "import", "--max-entries", "0x10", "x"}, `--max-entries "0x10": not a whole number`},
		{[]string{"run", "--image-max-entries", "-1"}, `--image-max-entries "-1": out of range`},
		{[]string{"kube", "image", "/dev/null"}, "kube image /dev/null: a character device, not a regular file"},
		{[]string{"kube", "image", "/nonexistent-dir/i.tar"}, "kube image /nonexistent-dir/i.tar: the directory /nonexistent-dir does not exist"},
		{[]string{"kube", "image", ""}, "kube image: FILE is empty"},
	} {
		code, errOut := isobenchWithin(t, 30*time.Second, append([]string{"--db", db}, c.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want usage error %q", c.args, code, errOut, c.want)
		}
	}
	for _, args := range [][]string{{}, {"suite"}, {"help"}, {"run", "--help"}} {
		if code, errOut := isobenchWithin(t, 30*time.Second, append([]string{"--db", db}, args...)...); code != ExitOK {
			t.Errorf("%v: exit %d, %s; want help and 0", args, code, errOut)
		}
	}
}

// TestDBSpecialFiles: a results database path that names a device or a
// FIFO is refused at once, for every command that opens the store, and
// before a run does any work; opening the FIFO would block for good.
func TestDBSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		db, want string
	}{
		{"/dev/zero", "--db /dev/zero: a character device, not a regular file"},
		{fifo, "--db " + fifo + ": a FIFO (named pipe), not a regular file"},
		{dir, "--db " + dir + ": a directory, not a regular file"},
	} {
		cache := t.TempDir()
		for _, args := range [][]string{
			{"runs"},
			{"runs", "show", "latest"},
			{"report", "latest"},
			{"compare", "a", "b"},
			{"run", "--runtimes", "host", "--state-dir", filepath.Join(dir, "state"), "--cache-dir", cache},
		} {
			code, errOut := isobenchWithin(t, 10*time.Second, append([]string{"--db", c.db}, args...)...)
			if code != ExitUsage || !strings.Contains(errOut, c.want) {
				t.Errorf("--db %s %v: exit %d, %q; want %q", c.db, args, code, errOut, c.want)
			}
		}
		if ents, _ := os.ReadDir(cache); len(ents) > 0 {
			t.Errorf("--db %s: run built an image before refusing", c.db)
		}
	}
}

// TestSuiteFileSpecial: a suite file that is a FIFO, a device or a
// directory is refused at once by suite check and run -f, naming the path
// and what it is (opening the FIFO for reading would block for good,
// reading /dev/zero never ends), and one over the size limit is refused
// naming the limit. Nothing is built or stored before the refusal.
func TestSuiteFileSpecial(t *testing.T) {
	dir := t.TempDir()
	fifo := hostile.FIFO(t, dir, "suite.yaml")
	toZero := hostile.LinkToZero(t, dir, "zero.yaml")
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("workloads: [cpu]\n"+strings.Repeat("# padding\n", plan.MaxSuiteFileSize/10+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	tooLarge := fmt.Sprintf("%s: the file is larger than %d bytes", big, plan.MaxSuiteFileSize)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"suite", "check", fifo}, fifo + ": a FIFO (named pipe), not a regular file"},
		{[]string{"suite", "check", "/dev/zero"}, "/dev/zero: a character device, not a regular file"},
		{[]string{"suite", "check", toZero}, toZero + ": a character device, not a regular file"},
		{[]string{"suite", "check", dir}, dir + ": a directory, not a regular file"},
		{[]string{"suite", "check", big}, tooLarge},
		{[]string{"suite", "check", "/dev/zero", fifo}, "2 of 2 suite files have problems"},
		{[]string{"run", "-f", fifo}, "--file " + fifo + ": a FIFO (named pipe), not a regular file"},
		{[]string{"run", "-f", "/dev/zero"}, "--file /dev/zero: a character device, not a regular file"},
		{[]string{"run", "--file", toZero}, "--file " + toZero + ": a character device, not a regular file"},
		{[]string{"run", "-f", dir}, "--file " + dir + ": a directory, not a regular file"},
		{[]string{"run", "-f", big}, tooLarge},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			base := t.TempDir()
			db := filepath.Join(base, "isobench.db")
			cache := filepath.Join(base, "cache")
			if err := os.Mkdir(cache, 0o755); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--state-dir", filepath.Join(base, "state"), "--cache-dir", cache, "--db", db}, c.args...)
			start := time.Now()
			code, errOut := isobenchWithin(t, 10*time.Second, args...)
			if code != ExitUsage || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, %q; want usage error %q", code, errOut, c.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("refusing took %s", d)
			}
			assertNoRun(t, db)
			if ents, err := os.ReadDir(cache); err != nil || len(ents) > 0 {
				t.Errorf("the cache directory holds %d entries (%v): an image was built", len(ents), err)
			}
		})
	}
}

// TestReportOutputSymlink: report -o onto a symbolic link replaces the
// link, through the real command path.
func TestReportOutputSymlink(t *testing.T) {
	db, _, cur := storedRuns(t)
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report.json")
	if err := os.Symlink(victim, out); err != nil {
		t.Fatal(err)
	}
	code, errOut := isobenchWithin(t, time.Minute, "--db", db, "report", cur, "-o", out)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	b, _ := os.ReadFile(out)
	hostile.AssertReplaced(t, out, victim, string(b))
	if !bytes.HasPrefix(b, []byte("{")) {
		t.Errorf("report is not JSON: %.40q", b)
	}
}

// TestRunJSONSymlink: a run's --json onto a symbolic link replaces the
// link, leaving the file it named alone. It runs one short trial on the
// host baseline, so it needs root and sysbench.
func TestRunJSONSymlink(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "sysbench")
	agent := testutil.Agent(t)
	base := t.TempDir()
	victim := filepath.Join(base, "victim")
	if err := os.WriteFile(victim, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(base, "run.json")
	if err := os.Symlink(victim, out); err != nil {
		t.Fatal(err)
	}
	code, errOut := isobenchWithin(t, 5*time.Minute, "--state-dir", filepath.Join(base, "state"), "--cache-dir", filepath.Join(base, "cache"),
		"--db", filepath.Join(base, "isobench.db"), "run", "--runtimes", "host", "--set", "cpu.time=1", "--set", "cpu.max-prime=2000",
		"--trials", "1", "--warmups", "0", "--agent", agent, "--json", out)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	b, _ := os.ReadFile(out)
	hostile.AssertReplaced(t, out, victim, string(b))
	if !bytes.Contains(b, []byte(`"trials"`)) {
		t.Errorf("--json holds no run: %.80q", b)
	}
}
