package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/store"
)

// storedRuns puts the real runs kept by the report package's tests into a
// new database, the second with runc's minimum latency made 30% slower, and
// returns the database's path and the runs' identifiers.
func storedRuns(t *testing.T) (string, string, string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "isobench.db")
	s, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ids []string
	for i, name := range []string{"cpu-host-runc", "cpu-host-runc"} {
		b, err := os.ReadFile(filepath.Join("..", "report", "testdata", "runs", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var r result.Run
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		r.ID = ""
		if i == 0 {
			r.Started = r.Started.Add(-time.Hour)
		}
		for j := range r.Trials {
			r.Trials[j].RunID = ""
			if i == 1 && r.Trials[j].Cell.Runtime == "runc" {
				for k := range r.Trials[j].Samples {
					if r.Trials[j].Samples[k].Metric == "latency_min" {
						r.Trials[j].Samples[k].Value *= 1.3
					}
				}
			}
		}
		if err := s.CreateRun(t.Context(), &r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return db, ids[0], ids[1]
}

// isobench runs the CLI in this process and returns its exit status and
// outputs.
func isobench(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, Env{
		Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Version: "test",
	})
	return code, stdout.String(), stderr.String()
}

func TestRunsCommands(t *testing.T) {
	db, old, cur := storedRuns(t)
	code, out, errOut := isobench(t, "--db", db, "runs")
	if code != 0 || !strings.Contains(out, old) || !strings.Contains(out, cur) || !strings.Contains(out, "host,runc") {
		t.Fatalf("runs: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Index(out, old) > strings.Index(out, cur) {
		t.Errorf("runs are not listed oldest first:\n%s", out)
	}
	code, out, _ = isobench(t, "--db", db, "runs", "show", "latest", "--trials")
	if code != 0 || !strings.Contains(out, "run "+cur) || !strings.Contains(out, "environment:") || !strings.Contains(out, "warm-up 1") {
		t.Errorf("runs show latest: exit %d\n%s", code, out)
	}
	code, _, errOut = isobench(t, "--db", db, "runs", "show", "2026")
	if code != ExitUsage || !strings.Contains(errOut, "matches") {
		t.Errorf("ambiguous prefix: exit %d, %s", code, errOut)
	}
	code, _, errOut = isobench(t, "--db", db, "runs", "show", "nosuchrun")
	if code != ExitUsage || !strings.Contains(errOut, "nosuchrun") {
		t.Errorf("unknown run: exit %d, %s", code, errOut)
	}

	for _, tt := range []struct{ format, want string }{
		{"text", "environment:"}, {"json", `"environment_table"`}, {"csv", "run,seq,runtime"},
		{"markdown", "## Environment"}, {"bench", "BenchmarkCpu 1 "}, {"html", "<svg class=\"chart\""},
	} {
		code, out, errOut := isobench(t, "--db", db, "report", old[:len(old)-2], "--format", tt.format)
		if code != 0 || !strings.Contains(out, tt.want) {
			t.Errorf("report --format %s: exit %d, output lacks %q\n%.300s%s", tt.format, code, tt.want, out, errOut)
		}
	}
	file := filepath.Join(t.TempDir(), "r.md")
	if code, _, errOut := isobench(t, "--db", db, "report", old, "-o", file); code != 0 {
		t.Fatalf("report -o: exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.HasPrefix(string(b), "# isobench run "+old) {
		t.Errorf("report -o r.md did not write Markdown: %v %.100q", err, b)
	}
	if code, _, errOut := isobench(t, "--db", db, "report", old, "--format", "pdf"); code != ExitUsage || !strings.Contains(errOut, "unknown report format") {
		t.Errorf("report --format pdf: exit %d, %s", code, errOut)
	}

	code, out, errOut = isobench(t, "--db", db, "runs", "rm", old)
	if code != 0 || !strings.Contains(out, "removed run "+old) {
		t.Errorf("runs rm: exit %d %s %s", code, out, errOut)
	}
	if _, out, _ := isobench(t, "--db", db, "runs"); strings.Contains(out, old) || !strings.Contains(out, cur) {
		t.Errorf("after rm:\n%s", out)
	}
}

func TestCompareCommand(t *testing.T) {
	db, old, cur := storedRuns(t)
	tests := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"two runs, no bound", []string{"compare", old, cur}, 0, []string{"old: run " + old, "min latency", "+30.00%"}},
		{"two runs, 5% bound", []string{"compare", old, cur, "--fail-above", "5%"}, ExitRegression, []string{"1 regression(s) beyond 5%", "runc cpu"}},
		{"two runs, 50% bound", []string{"compare", old, cur, "--fail-above", "50%"}, 0, []string{"no regression beyond 50%"}},
		{"only host", []string{"compare", old, cur, "--runtimes", "host", "--fail-above", "5%"}, 0, []string{"no regression"}},
		{"two runtimes of one run", []string{"compare", cur, "--runtimes", "host,runc", "--metrics", "latency_avg"}, 0, []string{"old: host", "new: runc", "avg latency"}},
		{"markdown", []string{"compare", old, cur, "--format", "markdown"}, 0, []string{"| workload | runtime | metric |"}},
		{"json", []string{"compare", old, cur, "--format", "json"}, 0, []string{`"by_runtime": true`}},
		{"one run needs two runtimes", []string{"compare", cur}, ExitUsage, []string{"--runtimes OLD,NEW"}},
		{"unknown runtime", []string{"compare", cur, "--runtimes", "host,crun"}, ExitUsage, []string{`no trials of runtime "crun"`}},
		{"bad bound", []string{"compare", old, cur, "--fail-above", "five"}, ExitUsage, []string{`--fail-above: "five": give a percentage with its sign, e.g. 5%`}},
		{"bare number bound", []string{"compare", old, cur, "--fail-above", "5"}, ExitUsage, []string{`--fail-above: "5": give a percentage with its sign, e.g. 5%`}},
		{"the same bound with its sign", []string{"compare", old, cur, "--fail-above", "5%"}, ExitRegression, []string{"1 regression(s) beyond 5%"}},
		{"zero bound", []string{"compare", old, cur, "--fail-above", "0%"}, ExitUsage, []string{`--fail-above: "0%" is not a percentage above 0% and at most 1000%`}},
		{"not a number bound", []string{"compare", old, cur, "--fail-above", "x%"}, ExitUsage, []string{`--fail-above: "x%" is not a percentage like 5%`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := isobench(t, append([]string{"--db", db}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.wants {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
				}
			}
		})
	}
}

// TestRunsKilled: a run marked running whose isobench process is gone is
// shown as killed, and can be removed without --force; one whose process
// runs (this test) stays "running" and protected.
func TestRunsKilled(t *testing.T) {
	db := filepath.Join(t.TempDir(), "isobench.db")
	s, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	me, err := driverkit.Self()
	if err != nil {
		t.Fatal(err)
	}
	// A process that has exited: its pid no longer has this start time.
	gone := driverkit.Identity{PID: me.PID, Start: me.Start + 1}
	ids := map[string]string{}
	for i, owner := range []string{gone.String(), me.String(), ""} {
		r := result.Run{Started: time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC), Status: result.RunRunning, Seed: 1}
		if owner != "" {
			r.Env = map[string]string{result.EnvOwner: owner}
		}
		if err := s.CreateRun(t.Context(), &r); err != nil {
			t.Fatal(err)
		}
		ids[[]string{"gone", "alive", "unknown"}[i]] = r.ID
	}
	s.Close()

	_, out, _ := isobench(t, "--db", db, "runs")
	for name, want := range map[string]string{"gone": "killed", "alive": "running", "unknown": "running"} {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, ids[name]) {
				line = l
			}
		}
		if !strings.Contains(line, " "+want+" ") {
			t.Errorf("run whose owner is %s: %q, want status %s", name, line, want)
		}
	}
	if _, out, _ := isobench(t, "--db", db, "runs", "show", ids["gone"]); !strings.Contains(out, "run "+ids["gone"]+": killed") || !strings.Contains(out, "killed mid-run") {
		t.Errorf("runs show of a killed run:\n%s", out)
	}
	if code, _, errOut := isobench(t, "--db", db, "runs", "rm", ids["alive"]); code != ExitUsage || !strings.Contains(errOut, "--force") {
		t.Errorf("runs rm of a running run: exit %d, %s", code, errOut)
	}
	if code, out, errOut := isobench(t, "--db", db, "runs", "rm", ids["gone"]); code != 0 || !strings.Contains(out, "removed run") {
		t.Errorf("runs rm of a killed run: exit %d, %s%s", code, out, errOut)
	}
}
