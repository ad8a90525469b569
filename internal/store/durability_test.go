package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/result"
)

// childDBEnv, when set in a re-executed test binary, makes
// TestSIGKILLKeepsCommittedTrials act as the child writing to that database.
const childDBEnv = "ISOBENCH_STORE_TEST_CHILD_DB"

// TestSIGKILLKeepsCommittedTrials runs a child process that adds trials and
// reports each one AddTrial returned for, kills it with SIGKILL while it
// writes, and checks that every reported trial is in the database, whole.
// Several rounds share the file, so each also opens a database left by a
// killed writer.
func TestSIGKILLKeepsCommittedTrials(t *testing.T) {
	if path := os.Getenv(childDBEnv); path != "" {
		os.Exit(killChild(path))
	}
	path := filepath.Join(t.TempDir(), "isobench.db")
	for round, killAfter := range []int{1, 9, 60} {
		t.Run(fmt.Sprintf("kill after %d", killAfter), func(t *testing.T) {
			id, reported := runAndKill(t, path, killAfter)
			if len(reported) < killAfter {
				t.Fatalf("child reported %d trials before dying, want at least %d", len(reported), killAfter)
			}
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatalf("reopening after SIGKILL: %v", err)
			}
			defer s.Close()
			checkIntegrity(t, s)
			run, err := s.GetRun(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			// Every reported trial is there, whole; trials committed but not
			// yet reported may follow, nothing else.
			if len(run.Trials) < len(reported) {
				t.Errorf("%d trials stored, child reported %d", len(run.Trials), len(reported))
			}
			for i, tr := range run.Trials {
				want := newTrial(i)
				want.RunID = id
				if d := diff(tr, want); d != "" {
					t.Errorf("trial %d: %s", i, d)
				}
			}
			runs, err := s.ListRuns(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != round+1 {
				t.Errorf("%d runs after round %d, want %d", len(runs), round, round+1)
			}
			t.Logf("child reported %d trials, %d stored", len(reported), len(run.Trials))
		})
	}
}

// runAndKill starts the child on path, SIGKILLs it once it has reported
// killAfter trials, and returns its run and every trial it reported.
func runAndKill(t *testing.T, path string, killAfter int) (string, []int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILLKeepsCommittedTrials$")
	cmd.Env = append(os.Environ(), childDBEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		id       string
		reported []int
		killed   bool
	)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "run":
			id = f[1]
		case len(f) == 2 && f[0] == "trial":
			seq, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("child said %q", sc.Text())
			}
			reported = append(reported, seq)
		}
		// Reading on after the kill collects what the child wrote before
		// dying; the pipe then ends.
		if len(reported) == killAfter && !killed {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before the kill: %v\n%s", err, stderr.Bytes())
	}
	if id == "" {
		t.Fatalf("child named no run\n%s", stderr.Bytes())
	}
	for i, seq := range reported {
		if seq != i {
			t.Fatalf("child reported trials %v, not in order", reported)
		}
	}
	return id, reported
}

// killChild is the child: it adds trials until killed and reports each one
// after AddTrial returns. It gives up after a while so that it cannot outlive
// a parent that failed to kill it.
func killChild(path string) int {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r := &result.Run{Started: time.Now()}
	if err := s.CreateRun(ctx, r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := fmt.Printf("run %s\n", r.ID); err != nil {
		return 1
	}
	deadline := time.Now().Add(time.Minute)
	for seq := 0; time.Now().Before(deadline); seq++ {
		if err := s.AddTrial(ctx, r.ID, newTrial(seq)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := fmt.Printf("trial %d\n", seq); err != nil {
			return 1
		}
	}
	return 1
}

// checkIntegrity runs SQLite's own consistency checks on the file.
func checkIntegrity(t *testing.T, s *Store) {
	t.Helper()
	var ok string
	if err := s.db.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&ok); err != nil {
		t.Fatal(err)
	}
	if ok != "ok" {
		t.Errorf("integrity_check: %s", ok)
	}
	rows, err := s.db.QueryContext(t.Context(), "PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Error("foreign_key_check found rows without their parent")
	}
}
