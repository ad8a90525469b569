package plan

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/hostinfo"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/store"
)

// resumable makes the plan of a suite of two runtimes and a stored run of
// it, and returns the plan and the run.
func resumable(t *testing.T) (*Plan, *result.Run) {
	t.Helper()
	s := Suite{Runtimes: []string{"host", "runc"}, Workloads: []WorkloadConfig{{Name: "cpu"}},
		Profile: ProfileQuick, Trials: 3, Warmups: 1, Seed: 11}
	p, err := Expand(s, registry())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p.Suite)
	if err != nil {
		t.Fatal(err)
	}
	run := &result.Run{ID: "r1", Suite: string(b),
		Runtimes: []result.Runtime{{Name: "host", Version: "6.1"}, {Name: "runc", Version: "1.1"}},
		Trials:   []result.Trial{{Seq: 0, Cell: p.Cells[0]}},
		Skipped: []result.Skip{
			{Runtime: "youki", Reason: "no youki"},                  // skipped from the start: kept
			{Runtime: "runc", Reason: "broken at the last session"}, // probed again now
			{Runtime: "host", Workload: "cpu", Reason: "cannot"},    // cells are checked again
		},
		Env: map[string]string{hostinfo.KeyKernel: "6.1", hostinfo.KeyCPUs: "4"},
	}
	return p, run
}

func TestResumeRun(t *testing.T) {
	p, run := resumable(t)
	stored := run.Trials
	r, err := ResumeRun(run)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Suite, p.Suite) {
		t.Errorf("suite %+v, want the stored %+v", r.Suite, p.Suite)
	}
	if run.Trials != nil || run.Runtimes != nil || len(r.Trials) != len(stored) || len(r.Before) != 2 {
		t.Errorf("the record keeps %d trials and %d runtimes (want none, rebuilt), the resume %d and %d (want the stored)",
			len(run.Trials), len(run.Runtimes), len(r.Trials), len(r.Before))
	}
	if want := []result.Skip{{Runtime: "youki", Reason: "no youki"}}; !reflect.DeepEqual(run.Skipped, want) {
		t.Errorf("skipped %+v, want only the runtime skipped from the start %+v", run.Skipped, want)
	}

	for _, suite := range []string{"", "{", `{"Runtimes":[]}`} {
		if _, err := ResumeRun(&result.Run{ID: "bad", Suite: suite}); err == nil || !strings.Contains(err.Error(), "run bad cannot be resumed") {
			t.Errorf("suite %q: error %v, want the run cannot be resumed", suite, err)
		}
	}
}

func TestResumeRemaining(t *testing.T) {
	all, run := resumable(t)
	// The session's plan without runc (it cannot run now).
	now, err := Expand(Suite{Runtimes: []string{"host"}, Workloads: all.Suite.Workloads, Profile: ProfileQuick,
		Trials: 3, Warmups: 1, Seed: 11}, registry())
	if err != nil {
		t.Fatal(err)
	}
	key := func(c result.Cell, warmup bool, i int) store.TrialKey {
		return store.TrialKey{Cell: c.Key(), Warmup: warmup, Index: i}
	}
	host, runc := all.Cells[0], all.Cells[1]
	for _, c := range []struct {
		name    string
		p       *Plan
		done    store.Done
		want    int // steps still to run
		wantErr string
	}{
		{name: "nothing done", p: all, done: store.Done{}, want: 8},
		{name: "some done", p: all, done: store.Done{NextSeq: 5, Keys: map[store.TrialKey]bool{
			key(host, true, 0): true, key(host, false, 1): true, key(runc, false, 0): true}}, want: 5},
		{name: "everything done", p: now, done: store.Done{NextSeq: 9, Keys: map[store.TrialKey]bool{
			key(host, true, 0): true, key(host, false, 0): true, key(host, false, 1): true, key(host, false, 2): true}}, want: 0},
		{name: "a runtime gone keeps its trials", p: now, done: store.Done{NextSeq: 2, Keys: map[store.TrialKey]bool{
			key(runc, false, 0): true}}, want: 4},
		{name: "a cell the plan lacks", p: all, done: store.Done{Keys: map[store.TrialKey]bool{
			key(result.Cell{Runtime: "host", Workload: "gone"}, false, 0): true}}, wantErr: "run r1 cannot be resumed by this isobench"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &Resume{Run: run, Done: c.done}
			steps, err := r.Remaining(all, c.p)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(steps) != c.want {
				t.Fatalf("%d steps to run, want %d", len(steps), c.want)
			}
			for i, st := range steps {
				if st.Seq != c.done.NextSeq+i {
					t.Errorf("step %d numbered %d, want %d (on from the stored trials)", i, st.Seq, c.done.NextSeq+i)
				}
				if c.done.Keys[key(c.p.Cells[st.Cell], st.Warmup, st.Index)] {
					t.Errorf("step %d runs a trial that is done", i)
				}
			}
		})
	}
}

func TestResumeRecord(t *testing.T) {
	_, run := resumable(t)
	r, err := ResumeRun(run)
	if err != nil {
		t.Fatal(err)
	}
	// The session probed host again, with a new version; runc not.
	run.Runtimes = []result.Runtime{{Name: "host", Version: "6.12"}}
	notes := r.MergeRuntimes()
	if want := []string{"host: version changed when the run was resumed: 6.1 before, 6.12 after"}; !reflect.DeepEqual(notes, want) {
		t.Errorf("notes %q, want %q", notes, want)
	}
	if len(run.Runtimes) != 2 || run.Runtimes[1].Name != "runc" || run.Runtimes[1].Version != "1.1" {
		t.Errorf("runtimes %+v, want host as probed now and runc as it was", run.Runtimes)
	}
	if len(run.Runtimes[0].Warnings) != 1 {
		t.Errorf("host's warnings %q, want the version change", run.Runtimes[0].Warnings)
	}

	changes := r.EnvChanges(hostinfo.Info{Kernel: "6.12", CPUs: 4})
	if want := []string{"the kernel changed: 6.1 before, 6.12 now"}; !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %q, want %q", changes, want)
	}

	session := []result.Trial{{Seq: 7}}
	if got := r.AllTrials(session); len(got) != 2 || got[0].Seq != 0 || got[1].Seq != 7 {
		t.Errorf("all trials %+v, want the stored then the session's", got)
	}
	var fresh *Resume
	if got := fresh.AllTrials(session); len(got) != 1 {
		t.Errorf("a new run's trials %+v, want the session's", got)
	}
}
