package analysis_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/analysis/analysistest"
	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/result"
)

func findingsOf(t *testing.T, run *result.Run) *analysis.Findings {
	t.Helper()
	f := analysis.StudyFindings(analysis.Analyze(run, builtin.Workloads()))
	if f == nil {
		t.Fatal("no findings section for a run of the study's workloads")
	}
	if len(f.Findings) != 6 {
		t.Fatalf("%d findings, want 6", len(f.Findings))
	}
	return f
}

// set changes one median of a runtime.
func set(rt string, c analysistest.StudyCell, v float64) func(analysistest.Medians) {
	return func(m analysistest.Medians) { m[rt][c] = v }
}

// scale multiplies a runtime's medians of one workload.
func scale(rt, wl string, f float64) func(analysistest.Medians) {
	return func(m analysistest.Medians) {
		for c := range m[rt] {
			if c.Workload == wl {
				m[rt][c] *= f
			}
		}
	}
}

func TestStudyFindings(t *testing.T) {
	rd := analysistest.StudyCell{Workload: "fileio", Mode: "seqrd", Metric: "read_bytes_per_sec"}
	wr := analysistest.StudyCell{Workload: "fileio", Mode: "seqwr", Metric: "write_bytes_per_sec"}
	memT := analysistest.StudyCell{Workload: "memory", Metric: "total_time"}
	memAvg := analysistest.StudyCell{Workload: "memory", Metric: "latency_avg"}
	drop := func(rts ...string) func(analysistest.Medians) {
		return func(m analysistest.Medians) {
			for _, rt := range rts {
				delete(m, rt)
			}
		}
	}
	tests := []struct {
		name   string
		change []func(analysistest.Medians)
		jitter map[string]float64
		want   map[int]analysis.Verdict // finding number -> verdict
		says   map[int]string           // finding number -> text somewhere in it
	}{
		{name: "as the study found", want: map[int]analysis.Verdict{1: analysis.VerdictHolds, 2: analysis.VerdictHolds, 3: analysis.VerdictHolds, 4: analysis.VerdictHolds, 5: analysis.VerdictHolds, 6: analysis.VerdictHolds},
			says: map[int]string{1: "tied with docker", 2: "guest's page cache", 5: "left out", 6: "beats runsc"}},

		// Finding 1: CPU.
		{name: "1 docker beats incus on cpu", change: []func(analysistest.Medians){scale("incus", "cpu", 1.2)},
			want: map[int]analysis.Verdict{1: analysis.VerdictDoesNot}, says: map[int]string{1: "worse by ×1.18"}},
		{name: "1 incus noisy on cpu", change: []func(analysistest.Medians){scale("incus", "cpu", 1.1)}, jitter: map[string]float64{"incus": 0.3},
			want: map[int]analysis.Verdict{1: analysis.VerdictCannotTell}, says: map[int]string{1: "overlap"}},
		{name: "1 on a par by the medians, intervals too wide", jitter: map[string]float64{"incus/cpu": 0.3},
			want: map[int]analysis.Verdict{1: analysis.VerdictCannotTell}, says: map[int]string{1: "wider than ±5%"}},
		{name: "1 no incus", change: []func(analysistest.Medians){drop("incus")},
			want: map[int]analysis.Verdict{1: analysis.VerdictNotRun, 3: analysis.VerdictNotRun, 4: analysis.VerdictNotRun, 5: analysis.VerdictNotRun, 2: analysis.VerdictHolds, 6: analysis.VerdictHolds}},

		// Finding 2: sequential read.
		{name: "2 runc and runsc close", change: []func(analysistest.Medians){set("docker:runsc", rd, 5500*(1<<20))},
			want: map[int]analysis.Verdict{2: analysis.VerdictDoesNot}, says: map[int]string{2: "far ends"}},
		{name: "2 firecracker below runc", change: []func(analysistest.Medians){set("firecracker", rd, 4000*(1<<20))},
			want: map[int]analysis.Verdict{2: analysis.VerdictDoesNot, 6: analysis.VerdictHolds}},
		{name: "2 runsc noisy", change: []func(analysistest.Medians){set("docker:runsc", rd, 4500*(1<<20))}, jitter: map[string]float64{"docker:runsc": 0.6},
			want: map[int]analysis.Verdict{2: analysis.VerdictCannotTell}},
		{name: "2 no firecracker", change: []func(analysistest.Medians){drop("firecracker")},
			want: map[int]analysis.Verdict{1: analysis.VerdictHolds, 2: analysis.VerdictNotRun, 3: analysis.VerdictHolds, 4: analysis.VerdictNotRun, 5: analysis.VerdictNotRun, 6: analysis.VerdictNotRun},
			says: map[int]string{2: "firecracker skipped: no KVM"}},

		// Finding 3: sequential write and rewrite.
		{name: "3 runsc writes slowest", change: []func(analysistest.Medians){set("docker:runsc", wr, 100*(1<<20))},
			want: map[int]analysis.Verdict{3: analysis.VerdictDoesNot, 6: analysis.VerdictHolds}},
		{name: "3 incus noisy", change: []func(analysistest.Medians){scale("incus", "fileio", 1.4)}, jitter: map[string]float64{"incus": 0.5},
			want: map[int]analysis.Verdict{3: analysis.VerdictCannotTell}},
		{name: "3 nothing to compare with", change: []func(analysistest.Medians){drop("docker:runsc", "firecracker")},
			want: map[int]analysis.Verdict{1: analysis.VerdictHolds, 3: analysis.VerdictNotRun}, says: map[int]string{3: "one of runsc or Firecracker"}},

		// Finding 4: memory total time.
		{name: "4 firecracker not on a par", change: []func(analysistest.Medians){set("firecracker", memT, 10.9)},
			want: map[int]analysis.Verdict{4: analysis.VerdictDoesNot}, says: map[int]string{4: "worse by ×1.08"}},
		{name: "4 firecracker noisy", change: []func(analysistest.Medians){set("firecracker", memT, 10.7)}, jitter: map[string]float64{"firecracker": 0.4},
			want: map[int]analysis.Verdict{4: analysis.VerdictCannotTell}},

		// Finding 5: memory latency.
		{name: "5 incus adds none", change: []func(analysistest.Medians){set("incus", memAvg, 1.02e-7)},
			want: map[int]analysis.Verdict{5: analysis.VerdictDoesNot}, says: map[int]string{5: "within ±5%"}},
		{name: "5 runsc noisy", change: []func(analysistest.Medians){set("docker:runsc", memAvg, 1.1e-7)}, jitter: map[string]float64{"docker:runsc": 0.5},
			want: map[int]analysis.Verdict{5: analysis.VerdictCannotTell}},

		// Finding 6: Firecracker against runsc everywhere.
		{name: "6 runsc faster on memory time", change: []func(analysistest.Medians){set("docker:runsc", memT, 10.0)},
			want: map[int]analysis.Verdict{6: analysis.VerdictDoesNot}},
		{name: "6 no runsc", change: []func(analysistest.Medians){drop("docker:runsc")},
			want: map[int]analysis.Verdict{1: analysis.VerdictHolds, 2: analysis.VerdictNotRun, 5: analysis.VerdictNotRun, 6: analysis.VerdictNotRun}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := analysistest.StudyMedians()
			for _, c := range tt.change {
				c(m)
			}
			run := analysistest.StudyRun(m, tt.jitter)
			for _, rt := range []string{"docker", "docker:runsc", "incus", "firecracker"} {
				if _, ok := m[rt]; !ok {
					run.Skipped = append(run.Skipped, result.Skip{Runtime: rt, Reason: rt + ": no KVM here"})
				}
			}
			f := findingsOf(t, run)
			for n, want := range tt.want {
				fd := f.Findings[n-1]
				if fd.Verdict != want {
					t.Errorf("finding %d %q: %s, want %s\n%s", n, fd.Claim, fd.Verdict, want, findingText(fd))
				}
			}
			for n, want := range tt.says {
				if got := findingText(f.Findings[n-1]); !strings.Contains(got, want) {
					t.Errorf("finding %d does not say %q:\n%s", n, want, got)
				}
			}
		})
	}
}

func findingText(fd analysis.Finding) string {
	b, _ := json.MarshalIndent(fd, "", "  ")
	return string(b)
}

// TestStudyFindingsRuntimes checks which runtime stands for each of the
// study's tools.
func TestStudyFindingsRuntimes(t *testing.T) {
	m := analysistest.StudyMedians()
	// Bare runc and runsc instead of Docker's.
	m["runc"], m["runsc"] = m["docker"], m["docker:runsc"]
	delete(m, "docker")
	delete(m, "docker:runsc")
	f := findingsOf(t, analysistest.StudyRun(m, nil))
	used := func(n int) string {
		var s []string
		for _, r := range f.Findings[n-1].Needs {
			s = append(s, r.Study+"="+r.Used)
		}
		return strings.Join(s, " ")
	}
	if got := used(2); got != "runc=runc runsc=runsc Firecracker=firecracker" {
		t.Errorf("finding 2 uses %s", got)
	}
	if f.Findings[0].Verdict != analysis.VerdictNotRun || f.Findings[1].Verdict != analysis.VerdictHolds || f.Findings[2].Verdict != analysis.VerdictHolds {
		t.Errorf("bare runc: findings 1-3 %s, %s, %s; want not run here (no Docker+runc), holds, holds",
			f.Findings[0].Verdict, f.Findings[1].Verdict, f.Findings[2].Verdict)
	}

	// Docker whose runtime is not runc is not Docker+runc; docker:runc is.
	m = analysistest.StudyMedians()
	run := analysistest.StudyRun(m, nil)
	for i := range run.Runtimes {
		if run.Runtimes[i].Name == "docker" {
			run.Runtimes[i].Features["oci_runtime"] = "crun"
		}
	}
	if f := findingsOf(t, run); f.Findings[0].Verdict != analysis.VerdictNotRun {
		t.Errorf("docker with crun taken for Docker+runc: %s", findingText(f.Findings[0]))
	}
	if f := findingsOf(t, renamed(analysistest.StudyRun(analysistest.StudyMedians(), nil), "docker", "docker:runc")); f.Findings[0].Needs[1].Used != "docker:runc" || f.Findings[0].Verdict != analysis.VerdictHolds {
		t.Errorf("docker:runc not taken for Docker+runc: %s", findingText(f.Findings[0]))
	}
}

// renamed returns the run with a runtime renamed.
func renamed(run *result.Run, from, to string) *result.Run {
	for i := range run.Runtimes {
		if run.Runtimes[i].Name == from {
			run.Runtimes[i].Name = to
		}
	}
	for i := range run.Trials {
		if run.Trials[i].Cell.Runtime == from {
			run.Trials[i].Cell.Runtime = to
		}
	}
	return run
}
