package report

import (
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/store"
)

func testRunView() RunView {
	return RunView{
		OwnerGone: func(owner string) bool { return owner == "gone" },
		TrialKind: func(warmup bool, index int) string { return "trial" },
	}
}

func TestRunViewStatus(t *testing.T) {
	v := testRunView()
	for _, tc := range []struct {
		status result.RunStatus
		owner  string
		want   string
	}{
		{result.RunFinished, "gone", string(result.RunFinished)},
		{result.RunRunning, "live", string(result.RunRunning)},
		{result.RunRunning, "gone", "killed"},
	} {
		if got := v.Status(tc.status, tc.owner); got != tc.want {
			t.Errorf("Status(%s, %q) = %q, want %q", tc.status, tc.owner, got, tc.want)
		}
	}
}

func TestWriteRunList(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		infos []store.RunInfo
		want  []string
	}{
		{"empty", nil, []string{"no runs in runs.db\n"}},
		{"killed", []store.RunInfo{{ID: "a", Started: start, Status: result.RunRunning, Owner: "gone", Profile: "quick",
			Runtimes: []string{"host", "runc"}, Workloads: []string{"cpu"}, Trials: 3, Failed: 1}},
			[]string{"ID  ", "a   2026-01-02 03:04:05  -     killed", "host,runc", "3 (1 failed)"}},
		{"finished", []store.RunInfo{{ID: "b", Started: start, Ended: start.Add(61 * time.Second), Status: result.RunFinished,
			Runtimes: []string{"host"}, Workloads: []string{"cpu"}, Trials: 2}},
			[]string{"1m1s", string(result.RunFinished)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := testRunView().WriteRunList(&b, "runs.db", tc.infos); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("list lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestFirstErrorLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"one", "one"},
		{"one\ntwo", "one"},
		{strings.Repeat("x", 201), strings.Repeat("x", 200) + "…"},
	} {
		if got := firstErrorLine(tc.in); got != tc.want {
			t.Errorf("firstErrorLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
