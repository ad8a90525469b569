package plan

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/isobench/isobench/internal/hostinfo"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/store"
)

// Resume is a stored run being resumed: what it planned, which of its
// trials are done, and what it knew of its runtimes. A resumed run runs
// its own suite (seed and adaptive stop included), only the trials it
// lacks, numbered on from its last stored one.
type Resume struct {
	// Run is the run's record. Its trials and runtimes are cleared by
	// ResumeRun: the record is rebuilt as the resumed run probes its
	// runtimes (see MergeRuntimes and AllTrials).
	Run *result.Run
	// Trials are the trials stored before the resume.
	Trials []result.Trial
	// Suite is the suite the run was planned from.
	Suite Suite
	// Done says which trials are done; the caller reads it from the store.
	Done store.Done
	// Before are the runtimes as the run recorded them before the resume.
	Before []result.Runtime
}

// ResumeRun takes a stored run to resume: it reads the run's suite and
// clears the record's trials and runtimes, which the resumed run rebuilds;
// runtimes the run skipped from the start stay skipped with their reason.
func ResumeRun(run *result.Run) (*Resume, error) {
	r := &Resume{Run: run, Trials: run.Trials, Before: run.Runtimes}
	if err := json.Unmarshal([]byte(run.Suite), &r.Suite); err != nil || len(r.Suite.Runtimes) == 0 {
		return nil, fmt.Errorf("run %s cannot be resumed: its stored suite is unreadable (%v)", run.ID, err)
	}
	run.Trials, run.Runtimes = nil, nil
	var kept []result.Skip
	for _, sk := range run.Skipped {
		if sk.Workload == "" && !slices.Contains(r.Suite.Runtimes, sk.Runtime) {
			kept = append(kept, sk)
		}
	}
	run.Skipped = kept
	return r, nil
}

// Remaining returns the steps of p the run still lacks, numbered on from
// the run's last stored trial. It fails when stored trials belong to cells
// that all, the plan of every runtime the run named, does not have (the
// workloads changed since the run started); cells of all that p leaves out
// (a runtime that cannot run now) keep their trials and get no more.
func (r *Resume) Remaining(all, p *Plan) ([]Step, error) {
	cells := map[string]bool{}
	for _, c := range all.Cells {
		cells[c.Key()] = true
	}
	for k := range r.Done.Keys {
		if !cells[k.Cell] {
			return nil, fmt.Errorf("run %s cannot be resumed by this isobench: its stored trials are of cell %s, which the plan re-made from its suite does not have (did the workloads change?)", r.Run.ID, k.Cell)
		}
	}
	var out []Step
	seq := r.Done.NextSeq
	for _, st := range p.Steps {
		c := p.Cells[st.Cell]
		if r.Done.Keys[store.TrialKey{Cell: c.Key(), Warmup: st.Warmup, Index: st.Index}] {
			continue
		}
		st.Seq = seq
		seq++
		out = append(out, st)
	}
	return out, nil
}

// AllTrials returns the stored trials followed by those of this session;
// on a nil Resume (a new run), only those of this session.
func (r *Resume) AllTrials(trials []result.Trial) []result.Trial {
	if r == nil {
		return trials
	}
	return append(append([]result.Trial(nil), r.Trials...), trials...)
}

// MergeRuntimes completes the run's runtimes, as probed by the resumed
// run, with what the run knew before: a runtime that cannot run now keeps
// its old record, and one whose version changed gets a warning saying so.
// It returns those warnings, each as "RUNTIME: warning".
func (r *Resume) MergeRuntimes() []string {
	run := r.Run
	now := map[string]int{}
	for i, rt := range run.Runtimes {
		now[rt.Name] = i
	}
	var notes []string
	for _, old := range r.Before {
		i, ok := now[old.Name]
		if !ok {
			// Not usable now: keep what the run knew of it.
			run.Runtimes = append(run.Runtimes, old)
			continue
		}
		if cur := &run.Runtimes[i]; cur.Version != old.Version {
			note := fmt.Sprintf("version changed when the run was resumed: %s before, %s after", orNone(old.Version), orNone(cur.Version))
			notes = append(notes, cur.Name+": "+note)
			cur.Warnings = append(cur.Warnings, note)
		}
	}
	return notes
}

// EnvChanges lists, in words, the facts of the environment that differ
// between the run's stored environment and now.
func (r *Resume) EnvChanges(now hostinfo.Info) []string {
	before := hostinfo.FromEnv(r.Run.Env)
	var out []string
	cmp := func(what, a, b string) {
		if a != b {
			out = append(out, fmt.Sprintf("the %s changed: %s before, %s now", what, orNone(a), orNone(b)))
		}
	}
	cmp("kernel", before.Kernel, now.Kernel)
	cmp("operating system", before.OS, now.OS)
	cmp("CPU model", before.CPUModel, now.CPUModel)
	cmp("CPU count", fmt.Sprint(before.CPUs), fmt.Sprint(now.CPUs))
	cmp("workload image", before.Image, now.Image)
	for name, v := range before.Tools {
		cmp(name+" version", v, now.Tools[name])
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
