package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/result"
)

// openTemp opens a store in a fresh temporary directory, closed at the end of
// the test.
func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "isobench.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// t0 is the start time of the test runs.
func t0() time.Time { return time.Date(2026, 11, 28, 14, 30, 12, 123456789, time.UTC) }

// newRun returns a run with every field set.
func newRun() *result.Run {
	return &result.Run{
		Started:  t0(),
		Command:  []string{"isobench", "run", "--runtimes", "host,runc"},
		Version:  "v0.1.0",
		Seed:     -42,
		Order:    "interleaved",
		Profile:  "quick",
		Baseline: "host",
		Suite:    "runtimes: [host, runc]\n",
		Env:      map[string]string{"kernel": "6.1.0", "cpu": "x86_64"},
		Runtimes: []result.Runtime{
			{Name: "host"},
			{Name: "runc", Version: "1.2.0", Isolation: "namespaces", Features: map[string]string{"cgroup": "v2"}, Warnings: []string{"swap on"}},
		},
		Skipped: []result.Skip{{Runtime: "runsc", Reason: "not installed"}, {Runtime: "runc", Workload: "net", Reason: "no bridge"}},
	}
}

// newTrial returns a complete OK trial whose content follows from seq.
func newTrial(seq int) result.Trial {
	start := t0().Add(time.Duration(seq) * time.Second)
	return result.Trial{
		Seq:    seq,
		Cell:   result.Cell{Runtime: "runc", Workload: "sysbench-cpu", Params: map[string]string{"threads": "1"}},
		Index:  seq,
		Status: result.StatusOK,
		Samples: []result.Sample{
			{Metric: "latency", Unit: "s", Value: 0.00123 * float64(seq+1)},
			{Metric: "events", Unit: "ops/s", Value: 1e6 + float64(seq)},
			{Metric: "a-zero", Unit: "", Value: 0},
		},
		Attrs: map[string]string{"host": "bench1", "seq": fmt.Sprint(seq)},
		Raw:   map[string]string{"sysbench.stdout": strings.Repeat("line\n", 20) + fmt.Sprint(seq), "sysbench.stderr": ""},
		Start: start,
		End:   start.Add(1500 * time.Millisecond),
	}
}

// diff returns the two values as indented JSON when they differ.
func diff(got, want any) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	return fmt.Sprintf("got:\n%s\nwant:\n%s", g, w)
}

func TestRoundTrip(t *testing.T) {
	failed := newTrial(3)
	failed.Status, failed.Error = result.StatusFailed, "runc: exit status 1: container init failed"
	failed.Samples, failed.Raw = nil, map[string]string{"runc.stderr": "boom"}
	warm := newTrial(0)
	warm.Warmup = true
	bare := result.Trial{Seq: 4, Cell: result.Cell{Runtime: "host", Workload: "startup"}, Status: result.StatusTimeout}

	tests := []struct {
		name   string
		run    func() *result.Run
		trials []result.Trial
	}{
		{"minimal run", func() *result.Run { return &result.Run{Started: t0()} }, nil},
		{"full run, mixed trials", newRun, []result.Trial{warm, newTrial(1), newTrial(2), failed, bare}},
		{"trials added out of order", newRun, []result.Trial{newTrial(2), newTrial(0), newTrial(1)}},
		{"ended run", func() *result.Run {
			r := newRun()
			r.Ended, r.Status = t0().Add(time.Hour), result.RunFinished
			return r
		}, []result.Trial{newTrial(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			s := openTemp(t)
			r := tt.run()
			if err := s.CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			want := *r
			for _, tr := range tt.trials {
				if err := s.AddTrial(ctx, r.ID, tr); err != nil {
					t.Fatal(err)
				}
				tr.RunID = r.ID
				want.Trials = append(want.Trials, tr)
			}
			// Trials come back in seq order; "" raw outputs are kept.
			sortTrials(want.Trials)
			got, err := s.GetRun(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(got, &want); d != "" {
				t.Error(d)
			}
		})
	}
}

func sortTrials(ts []result.Trial) {
	slices.SortFunc(ts, func(a, b result.Trial) int { return a.Seq - b.Seq })
}

func TestRoundTripNormalises(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	paris := time.FixedZone("CET", 3600)
	now := time.Now() // carries a monotonic reading
	r := &result.Run{Started: now.In(paris), Command: []string{}, Env: map[string]string{}}
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	tr := newTrial(0)
	tr.Samples = []result.Sample{{Metric: "nan", Value: math.NaN()}, {Metric: "inf", Value: math.Inf(-1)}}
	tr.Attrs, tr.Raw = map[string]string{}, map[string]string{}
	tr.Cell.Params = map[string]string{}
	if err := s.AddTrial(ctx, r.ID, tr); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Started.Equal(now) || got.Started.Location() != time.UTC {
		t.Errorf("Started = %v, want %v in UTC", got.Started, now)
	}
	if got.Command != nil || got.Env != nil {
		t.Errorf("empty command and env came back as %#v, %#v, want nil", got.Command, got.Env)
	}
	g := got.Trials[0]
	if g.Attrs != nil || g.Raw != nil || g.Cell.Params != nil {
		t.Errorf("empty maps came back as %#v, %#v, %#v, want nil", g.Attrs, g.Raw, g.Cell.Params)
	}
	if v, _ := g.Value("nan"); !math.IsNaN(v) {
		t.Errorf("NaN came back as %v", v)
	}
	if v, _ := g.Value("inf"); !math.IsInf(v, -1) {
		t.Errorf("-Inf came back as %v", v)
	}
}

func TestCreateRunIDs(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	seen := map[string]bool{}
	for range 50 {
		r := &result.Run{Started: t0()}
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(r.ID, "20261128-143012-") || len(r.ID) != len("20261128-143012-3f9a") {
			t.Errorf("ID %q, want 20261128-143012-xxxx", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("ID %q given twice", r.ID)
		}
		seen[r.ID] = true
		if r.Status != result.RunRunning {
			t.Errorf("status %q, want %q", r.Status, result.RunRunning)
		}
	}
	// Identifiers chosen by the caller are kept.
	r := &result.Run{ID: "my-run_1.0", Started: t0()}
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.ID != "my-run_1.0" {
		t.Errorf("ID %q, want my-run_1.0", r.ID)
	}
}

func TestBadInput(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	run := newRun()
	if err := s.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTrial(ctx, run.ID, newTrial(0)); err != nil {
		t.Fatal(err)
	}
	trialWith := func(f func(*result.Trial)) result.Trial {
		tr := newTrial(1)
		f(&tr)
		return tr
	}
	tests := []struct {
		name     string
		do       func() error
		is       error    // errors.Is target, if any
		contains []string // in the message
	}{
		{"create nil run", func() error { return s.CreateRun(ctx, nil) }, nil, []string{"nil run"}},
		{"create without start", func() error { return s.CreateRun(ctx, &result.Run{}) }, nil, []string{"no start time"}},
		{"create taken ID", func() error { return s.CreateRun(ctx, &result.Run{ID: run.ID, Started: t0()}) }, nil, []string{run.ID, "already exists"}},
		{"create reserved ID", func() error { return s.CreateRun(ctx, &result.Run{ID: "latest", Started: t0()}) }, nil, []string{"reserved"}},
		{"create ID with slash", func() error { return s.CreateRun(ctx, &result.Run{ID: "a/b", Started: t0()}) }, nil, []string{`"a/b"`}},
		{"create ID with leading dash", func() error { return s.CreateRun(ctx, &result.Run{ID: "-x", Started: t0()}) }, nil, []string{`"-x"`}},
		{"create bad status", func() error { return s.CreateRun(ctx, &result.Run{Started: t0(), Status: "done"}) }, nil, []string{`"done"`}},
		{"create with bad trial", func() error {
			return s.CreateRun(ctx, &result.Run{Started: t0(), Trials: []result.Trial{{Seq: 0}}})
		}, nil, []string{"trial 0", "runtime"}},
		{"update unknown run", func() error {
			return s.UpdateRun(ctx, &result.Run{ID: "nope", Status: result.RunFinished})
		}, ErrNotFound, []string{`"nope"`}},
		{"update without status", func() error { return s.UpdateRun(ctx, &result.Run{ID: run.ID}) }, nil, []string{run.ID, "status"}},
		{"add to unknown run", func() error { return s.AddTrial(ctx, "nope", newTrial(1)) }, ErrNotFound, []string{"run nope", "trial 1"}},
		{"add duplicate seq", func() error { return s.AddTrial(ctx, run.ID, newTrial(0)) }, nil, []string{run.ID, "trial 0", "already stored"}},
		{"add trial of another run", func() error {
			return s.AddTrial(ctx, run.ID, trialWith(func(t *result.Trial) { t.RunID = "other" }))
		}, nil, []string{"other"}},
		{"add negative seq", func() error {
			return s.AddTrial(ctx, run.ID, trialWith(func(t *result.Trial) { t.Seq = -1 }))
		}, nil, []string{"negative"}},
		{"add without status", func() error {
			return s.AddTrial(ctx, run.ID, trialWith(func(t *result.Trial) { t.Status = "" }))
		}, nil, []string{"status"}},
		{"add sample without metric", func() error {
			return s.AddTrial(ctx, run.ID, trialWith(func(t *result.Trial) { t.Samples[1].Metric = "" }))
		}, nil, []string{"sample 1"}},
		{"get unknown run", func() error { _, err := s.GetRun(ctx, "nope"); return err }, ErrNotFound, []string{`"nope"`}},
		{"delete unknown run", func() error { return s.DeleteRun(ctx, "nope") }, ErrNotFound, []string{`"nope"`}},
		{"done of unknown run", func() error { _, err := s.DoneTrials(ctx, "nope"); return err }, ErrNotFound, []string{"nope"}},
		{"resolve empty", func() error { _, err := s.ResolveID(ctx, ""); return err }, nil, []string{"empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %q", err, tt.is)
			}
			for _, c := range tt.contains {
				if !strings.Contains(err.Error(), c) {
					t.Errorf("error %q does not contain %q", err, c)
				}
			}
		})
	}
	// None of the refused trials was stored.
	got, err := s.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Trials) != 1 {
		t.Errorf("%d trials stored, want 1", len(got.Trials))
	}
}

func TestUpdateRun(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	r := newRun()
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	// Fields other than ended, status, runtimes, skipped and env are fixed.
	upd := *r
	upd.Ended, upd.Status = t0().Add(time.Minute), result.RunInterrupted
	upd.Runtimes = append(upd.Runtimes, result.Runtime{Name: "crun"})
	upd.Skipped = nil
	upd.Env = map[string]string{result.EnvOwner: "123:456"}
	upd.Profile, upd.Seed = "changed", 7
	if err := s.UpdateRun(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *r
	want.Ended, want.Status, want.Runtimes, want.Skipped, want.Env = upd.Ended, upd.Status, upd.Runtimes, nil, upd.Env
	if d := diff(got, &want); d != "" {
		t.Error(d)
	}
	// The owner is listed.
	infos, err := s.ListRuns(ctx)
	if err != nil || len(infos) != 1 || infos[0].Owner != "123:456" {
		t.Errorf("ListRuns = %+v, %v; want the owner 123:456", infos, err)
	}
}

func TestListRuns(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	if got, err := s.ListRuns(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListRuns on empty store = %v, %v", got, err)
	}
	later := newRun()
	later.Started = t0().Add(time.Hour)
	empty := &result.Run{Started: t0(), Profile: "p"}
	for _, r := range []*result.Run{later, empty} {
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	fail := newTrial(2)
	fail.Status = result.StatusFailed
	other := newTrial(3)
	other.Cell = result.Cell{Runtime: "crun", Workload: "startup"}
	for _, tr := range []result.Trial{newTrial(0), newTrial(1), fail, other} {
		if err := s.AddTrial(ctx, later.ID, tr); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []RunInfo{
		{ID: empty.ID, Started: t0(), Status: result.RunRunning, Profile: "p"},
		{ID: later.ID, Started: later.Started, Status: result.RunRunning, Profile: "quick",
			Runtimes: []string{"crun", "host", "runc"}, Workloads: []string{"startup", "sysbench-cpu"},
			Trials: 4, OK: 3, Failed: 1},
	}
	if d := diff(got, want); d != "" {
		t.Error(d)
	}
}

func TestResolveID(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	if _, err := s.ResolveID(ctx, Latest); !errors.Is(err, ErrNotFound) {
		t.Errorf("latest on empty store: %v, want ErrNotFound", err)
	}
	runs := []struct {
		id      string
		started time.Time
	}{
		{"20261128-143012-3f9a", t0()},
		{"20261128-143012-3f00", t0()},
		{"20261129-090000-aaaa", t0().Add(20 * time.Hour)},
		{"ab", t0().Add(-time.Hour)},
		{"abc", t0().Add(-time.Hour)},
	}
	for _, r := range runs {
		if err := s.CreateRun(ctx, &result.Run{ID: r.id, Started: r.started}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		prefix string
		want   string
		is     error
	}{
		{"latest", "20261129-090000-aaaa", nil},
		{"20261129", "20261129-090000-aaaa", nil},
		{"20261128-143012-3f9", "20261128-143012-3f9a", nil},
		{"20261128-143012-3f9a", "20261128-143012-3f9a", nil},
		{"20261128", "", ErrAmbiguous},
		{"2026", "", ErrAmbiguous},
		{"ab", "ab", nil}, // an exact match wins over longer identifiers
		{"abc", "abc", nil},
		{"2025", "", ErrNotFound},
		{"%", "", ErrNotFound}, // no LIKE patterns
		{"_", "", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			got, err := s.ResolveID(ctx, tt.prefix)
			if got != tt.want || !errors.Is(err, tt.is) {
				t.Errorf("ResolveID(%q) = %q, %v; want %q, %v", tt.prefix, got, err, tt.want, tt.is)
			}
			if err != nil && !strings.Contains(err.Error(), tt.prefix) {
				t.Errorf("error %q does not name the prefix", err)
			}
		})
	}
	_, err := s.ResolveID(ctx, "20261128")
	if !strings.Contains(err.Error(), "20261128-143012-3f00") || !strings.Contains(err.Error(), "20261128-143012-3f9a") {
		t.Errorf("ambiguity error %q does not list the candidates", err)
	}
}

func TestDeleteCascades(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	keep, gone := newRun(), newRun()
	for _, r := range []*result.Run{keep, gone} {
		if err := s.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		for seq := range 3 {
			if err := s.AddTrial(ctx, r.ID, newTrial(seq)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteRun(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRun(ctx, gone.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetRun after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteRun(ctx, gone.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	for _, table := range []string{"trials", "samples", "raw_outputs"} {
		var n int
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		var want int
		switch table {
		case "trials":
			want = 3
		case "samples":
			want = 3 * len(newTrial(0).Samples)
		case "raw_outputs":
			want = 3 * len(newTrial(0).Raw)
		}
		if n != want {
			t.Errorf("%s: %d rows left, want %d (those of the kept run)", table, n, want)
		}
	}
	got, err := s.GetRun(ctx, keep.ID)
	if err != nil || len(got.Trials) != 3 {
		t.Errorf("kept run: %v trials, %v", len(got.Trials), err)
	}
}

func TestDoneTrials(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	r := newRun()
	if err := s.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	d, err := s.DoneTrials(ctx, r.ID)
	if err != nil || d.NextSeq != 0 || len(d.Keys) != 0 {
		t.Fatalf("DoneTrials of empty run = %+v, %v", d, err)
	}
	cell := result.Cell{Runtime: "runc", Workload: "w", Params: map[string]string{"b": "2", "a": "1"}}
	mk := func(seq, index int, warmup bool, status result.Status) result.Trial {
		return result.Trial{Seq: seq, Cell: cell, Index: index, Warmup: warmup, Status: status}
	}
	trials := []result.Trial{
		mk(0, 0, true, result.StatusOK),
		mk(1, 0, false, result.StatusOK),
		mk(2, 1, false, result.StatusFailed),
		mk(3, 2, false, result.StatusTimeout),
		mk(4, 1, false, result.StatusOK), // a retry of seq 2
		mk(7, 3, false, result.StatusInterrupted),
	}
	for _, tr := range trials {
		if err := s.AddTrial(ctx, r.ID, tr); err != nil {
			t.Fatal(err)
		}
	}
	d, err = s.DoneTrials(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := Done{NextSeq: 8, Keys: map[TrialKey]bool{
		{Cell: "runc/w;a=1;b=2", Warmup: true, Index: 0}: true,
		{Cell: "runc/w;a=1;b=2", Index: 0}:               true,
		{Cell: "runc/w;a=1;b=2", Index: 1}:               true,
	}}
	if df := diff(d, want); df != "" {
		t.Error(df)
	}
	tests := []struct {
		trial result.Trial
		done  bool
	}{
		{mk(9, 0, true, result.StatusOK), true},
		{mk(9, 1, true, result.StatusOK), false},
		{mk(9, 1, false, result.StatusOK), true},
		{mk(9, 2, false, result.StatusOK), false},
		{mk(9, 3, false, result.StatusOK), false},
		{result.Trial{Cell: result.Cell{Runtime: "host", Workload: "w"}}, false},
	}
	for _, tt := range tests {
		if got := d.Keys[KeyOf(tt.trial)]; got != tt.done {
			t.Errorf("done %+v = %v, want %v", KeyOf(tt.trial), got, tt.done)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr bool
	}{
		{"XDG_DATA_HOME", map[string]string{"XDG_DATA_HOME": "/data", "HOME": "/home/u"}, "/data/isobench/isobench.db", false},
		{"HOME", map[string]string{"HOME": "/home/u"}, "/home/u/.local/share/isobench/isobench.db", false},
		{"relative XDG_DATA_HOME ignored", map[string]string{"XDG_DATA_HOME": "data", "HOME": "/home/u"}, "/home/u/.local/share/isobench/isobench.db", false},
		{"nothing", map[string]string{}, "", true},
		{"relative HOME", map[string]string{"HOME": "home"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DefaultPath(func(k string) string { return tt.env[k] })
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("DefaultPath = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := DefaultPath(nil); err == nil {
		t.Error("DefaultPath(nil): no error")
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.ListRuns(context.Background()); err == nil {
		t.Error("ListRuns after Close: no error")
	}
}
