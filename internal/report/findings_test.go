package report

import (
	"bytes"
	"encoding/json"
	"html"
	"maps"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/result"
)

// studyCell names one cell of the study's workloads by workload, mode
// (fileio only) and metric.
type studyCell struct{ workload, mode, metric string }

// studyMedians are the medians of a synthetic run that agrees with the
// study in every finding: per runtime, per cell.
func studyMedians() map[string]map[studyCell]float64 {
	ms := func(v float64) float64 { return v * 1e-3 }
	mib := func(v float64) float64 { return v * (1 << 20) }
	type m = map[studyCell]float64
	cpuAvg := studyCell{"cpu", "", "latency_avg"}
	cpuMin := studyCell{"cpu", "", "latency_min"}
	rd := studyCell{"fileio", "seqrd", "read_bytes_per_sec"}
	wr := studyCell{"fileio", "seqwr", "write_bytes_per_sec"}
	rewr := studyCell{"fileio", "seqrewr", "write_bytes_per_sec"}
	memT := studyCell{"memory", "", "total_time"}
	memAvg := studyCell{"memory", "", "latency_avg"}
	memMin := studyCell{"memory", "", "latency_min"}
	return map[string]m{
		"host":         {cpuAvg: ms(1.00), cpuMin: ms(0.95), rd: mib(9000), wr: mib(370), rewr: mib(400), memT: 10.0, memAvg: 1.00e-7, memMin: 0},
		"docker":       {cpuAvg: ms(1.02), cpuMin: ms(0.97), rd: mib(6000), wr: mib(200), rewr: mib(210), memT: 10.1, memAvg: 1.00e-7, memMin: 0},
		"docker:runsc": {cpuAvg: ms(1.20), cpuMin: ms(1.14), rd: mib(1500), wr: mib(300), rewr: mib(330), memT: 11.0, memAvg: 1.30e-7, memMin: 0},
		"incus":        {cpuAvg: ms(1.00), cpuMin: ms(0.95), rd: mib(5000), wr: mib(190), rewr: mib(200), memT: 12.0, memAvg: 1.25e-7, memMin: 0},
		"firecracker":  {cpuAvg: ms(1.06), cpuMin: ms(1.01), rd: mib(12000), wr: mib(320), rewr: mib(360), memT: 10.3, memAvg: 1.20e-7, memMin: 0},
	}
}

// synthRun builds a run of the study's workloads from medians: 10 trials
// per cell whose values spread evenly by ±jitter around the median (so
// the median is exact), 0.5% unless jitter names the runtime, or the
// runtime and workload as "runtime/workload".
func synthRun(medians map[string]map[studyCell]float64, jitter map[string]float64) *result.Run {
	order := []string{"host", "docker", "docker:runsc", "runc", "runsc", "incus", "firecracker"}
	units := map[string]string{}
	reg := builtin.Workloads()
	for _, name := range reg.Names() {
		w, _ := reg.Get(name)
		for _, m := range w.Metrics() {
			units[w.Name()+"/"+m.Name] = m.Unit
		}
	}
	run := &result.Run{
		ID: "study-synthetic", Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Status: result.RunFinished,
		Seed: 7, Order: "interleaved", Profile: "study", Baseline: "host", Version: "test",
	}
	fs := map[string]string{"host": "ext4", "docker": "overlay", "docker:runsc": "overlay", "runc": "ext4", "runsc": "ext4", "incus": "ext4", "firecracker": "ext4"}
	seq := 0
	for _, rt := range order {
		cells, ok := medians[rt]
		if !ok {
			continue
		}
		r := result.Runtime{Name: rt, Version: "1.0"}
		switch rt {
		case "docker":
			r.Features = map[string]string{"oci_runtime": "runc"}
		case "docker:runsc", "runsc":
			r.Features = map[string]string{"platform": "ptrace"}
		}
		run.Runtimes = append(run.Runtimes, r)
		// One trial carries every metric of its workload and mode.
		type key struct{ workload, mode string }
		byKey := map[key][]studyCell{}
		var keys []key
		for c := range cells {
			k := key{c.workload, c.mode}
			if byKey[k] == nil {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], c)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].workload+keys[i].mode < keys[j].workload+keys[j].mode })
		for _, k := range keys {
			j := 0.005
			if v, ok := jitter[rt]; ok {
				j = v
			}
			if v, ok := jitter[rt+"/"+k.workload]; ok {
				j = v
			}
			params := map[string]string{}
			switch k.workload {
			case "cpu":
				params["max-prime"] = "20000"
			case "fileio":
				params["mode"], params["drop-caches"], params["o-direct"] = k.mode, "false", "false"
			}
			sort.Slice(byKey[k], func(a, b int) bool { return byKey[k][a].metric < byKey[k][b].metric })
			for i := range 10 {
				seq++
				t := result.Trial{
					Seq: seq, Index: i, Status: result.StatusOK,
					Cell:  result.Cell{Runtime: rt, Workload: k.workload, Params: maps.Clone(params)},
					Attrs: map[string]string{AttrScratchFS: fs[rt]},
				}
				for _, c := range byKey[k] {
					v := cells[c] * (1 + j*(float64(i)-4.5)/4.5)
					t.Samples = append(t.Samples, result.Sample{Metric: c.metric, Unit: units[c.workload+"/"+c.metric], Value: v})
				}
				run.Trials = append(run.Trials, t)
			}
		}
	}
	return run
}

func findingsOf(t *testing.T, run *result.Run) *Findings {
	t.Helper()
	f := Build(run, builtin.Workloads()).Findings
	if f == nil {
		t.Fatal("no findings section for a run of the study's workloads")
	}
	if len(f.Findings) != 6 {
		t.Fatalf("%d findings, want 6", len(f.Findings))
	}
	return f
}

// set changes one median of a runtime.
func set(rt string, c studyCell, v float64) func(map[string]map[studyCell]float64) {
	return func(m map[string]map[studyCell]float64) { m[rt][c] = v }
}

// scale multiplies a runtime's medians of one workload.
func scale(rt, wl string, f float64) func(map[string]map[studyCell]float64) {
	return func(m map[string]map[studyCell]float64) {
		for c := range m[rt] {
			if c.workload == wl {
				m[rt][c] *= f
			}
		}
	}
}

func TestStudyFindings(t *testing.T) {
	rd := studyCell{"fileio", "seqrd", "read_bytes_per_sec"}
	wr := studyCell{"fileio", "seqwr", "write_bytes_per_sec"}
	memT := studyCell{"memory", "", "total_time"}
	memAvg := studyCell{"memory", "", "latency_avg"}
	drop := func(rts ...string) func(map[string]map[studyCell]float64) {
		return func(m map[string]map[studyCell]float64) {
			for _, rt := range rts {
				delete(m, rt)
			}
		}
	}
	tests := []struct {
		name   string
		change []func(map[string]map[studyCell]float64)
		jitter map[string]float64
		want   map[int]Verdict // finding number -> verdict
		says   map[int]string  // finding number -> text somewhere in it
	}{
		{name: "as the study found", want: map[int]Verdict{1: VerdictHolds, 2: VerdictHolds, 3: VerdictHolds, 4: VerdictHolds, 5: VerdictHolds, 6: VerdictHolds},
			says: map[int]string{1: "tied with docker", 2: "guest's page cache", 5: "left out", 6: "beats runsc"}},

		// Finding 1: CPU.
		{name: "1 docker beats incus on cpu", change: []func(map[string]map[studyCell]float64){scale("incus", "cpu", 1.2)},
			want: map[int]Verdict{1: VerdictDoesNot}, says: map[int]string{1: "worse by ×1.18"}},
		{name: "1 incus noisy on cpu", change: []func(map[string]map[studyCell]float64){scale("incus", "cpu", 1.1)}, jitter: map[string]float64{"incus": 0.3},
			want: map[int]Verdict{1: VerdictCannotTell}, says: map[int]string{1: "overlap"}},
		{name: "1 on a par by the medians, intervals too wide", jitter: map[string]float64{"incus/cpu": 0.3},
			want: map[int]Verdict{1: VerdictCannotTell}, says: map[int]string{1: "wider than ±5%"}},
		{name: "1 no incus", change: []func(map[string]map[studyCell]float64){drop("incus")},
			want: map[int]Verdict{1: VerdictNotRun, 3: VerdictNotRun, 4: VerdictNotRun, 5: VerdictNotRun, 2: VerdictHolds, 6: VerdictHolds}},

		// Finding 2: sequential read.
		{name: "2 runc and runsc close", change: []func(map[string]map[studyCell]float64){set("docker:runsc", rd, 5500*(1<<20))},
			want: map[int]Verdict{2: VerdictDoesNot}, says: map[int]string{2: "far ends"}},
		{name: "2 firecracker below runc", change: []func(map[string]map[studyCell]float64){set("firecracker", rd, 4000*(1<<20))},
			want: map[int]Verdict{2: VerdictDoesNot, 6: VerdictHolds}},
		{name: "2 runsc noisy", change: []func(map[string]map[studyCell]float64){set("docker:runsc", rd, 4500*(1<<20))}, jitter: map[string]float64{"docker:runsc": 0.6},
			want: map[int]Verdict{2: VerdictCannotTell}},
		{name: "2 no firecracker", change: []func(map[string]map[studyCell]float64){drop("firecracker")},
			want: map[int]Verdict{1: VerdictHolds, 2: VerdictNotRun, 3: VerdictHolds, 4: VerdictNotRun, 5: VerdictNotRun, 6: VerdictNotRun},
			says: map[int]string{2: "firecracker skipped: no KVM"}},

		// Finding 3: sequential write and rewrite.
		{name: "3 runsc writes slowest", change: []func(map[string]map[studyCell]float64){set("docker:runsc", wr, 100*(1<<20))},
			want: map[int]Verdict{3: VerdictDoesNot, 6: VerdictHolds}},
		{name: "3 incus noisy", change: []func(map[string]map[studyCell]float64){scale("incus", "fileio", 1.4)}, jitter: map[string]float64{"incus": 0.5},
			want: map[int]Verdict{3: VerdictCannotTell}},
		{name: "3 nothing to compare with", change: []func(map[string]map[studyCell]float64){drop("docker:runsc", "firecracker")},
			want: map[int]Verdict{1: VerdictHolds, 3: VerdictNotRun}, says: map[int]string{3: "one of runsc or Firecracker"}},

		// Finding 4: memory total time.
		{name: "4 firecracker not on a par", change: []func(map[string]map[studyCell]float64){set("firecracker", memT, 10.9)},
			want: map[int]Verdict{4: VerdictDoesNot}, says: map[int]string{4: "worse by ×1.08"}},
		{name: "4 firecracker noisy", change: []func(map[string]map[studyCell]float64){set("firecracker", memT, 10.7)}, jitter: map[string]float64{"firecracker": 0.4},
			want: map[int]Verdict{4: VerdictCannotTell}},

		// Finding 5: memory latency.
		{name: "5 incus adds none", change: []func(map[string]map[studyCell]float64){set("incus", memAvg, 1.02e-7)},
			want: map[int]Verdict{5: VerdictDoesNot}, says: map[int]string{5: "within ±5%"}},
		{name: "5 runsc noisy", change: []func(map[string]map[studyCell]float64){set("docker:runsc", memAvg, 1.1e-7)}, jitter: map[string]float64{"docker:runsc": 0.5},
			want: map[int]Verdict{5: VerdictCannotTell}},

		// Finding 6: Firecracker against runsc everywhere.
		{name: "6 runsc faster on memory time", change: []func(map[string]map[studyCell]float64){set("docker:runsc", memT, 10.0)},
			want: map[int]Verdict{6: VerdictDoesNot}},
		{name: "6 no runsc", change: []func(map[string]map[studyCell]float64){drop("docker:runsc")},
			want: map[int]Verdict{1: VerdictHolds, 2: VerdictNotRun, 5: VerdictNotRun, 6: VerdictNotRun}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := studyMedians()
			for _, c := range tt.change {
				c(m)
			}
			run := synthRun(m, tt.jitter)
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

func findingText(fd Finding) string {
	b, _ := json.MarshalIndent(fd, "", "  ")
	return string(b)
}

// TestStudyFindingsRuntimes checks which runtime stands for each of the
// study's tools.
func TestStudyFindingsRuntimes(t *testing.T) {
	m := studyMedians()
	// Bare runc and runsc instead of Docker's.
	m["runc"], m["runsc"] = m["docker"], m["docker:runsc"]
	delete(m, "docker")
	delete(m, "docker:runsc")
	f := findingsOf(t, synthRun(m, nil))
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
	if f.Findings[0].Verdict != VerdictNotRun || f.Findings[1].Verdict != VerdictHolds || f.Findings[2].Verdict != VerdictHolds {
		t.Errorf("bare runc: findings 1-3 %s, %s, %s; want not run here (no Docker+runc), holds, holds",
			f.Findings[0].Verdict, f.Findings[1].Verdict, f.Findings[2].Verdict)
	}

	// Docker whose runtime is not runc is not Docker+runc; docker:runc is.
	m = studyMedians()
	run := synthRun(m, nil)
	for i := range run.Runtimes {
		if run.Runtimes[i].Name == "docker" {
			run.Runtimes[i].Features["oci_runtime"] = "crun"
		}
	}
	if f := findingsOf(t, run); f.Findings[0].Verdict != VerdictNotRun {
		t.Errorf("docker with crun taken for Docker+runc: %s", findingText(f.Findings[0]))
	}
	if f := findingsOf(t, renamed(synthRun(studyMedians(), nil), "docker", "docker:runc")); f.Findings[0].Needs[1].Used != "docker:runc" || f.Findings[0].Verdict != VerdictHolds {
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

// TestStudyFindingsShown checks when the section appears.
func TestStudyFindingsShown(t *testing.T) {
	reg := builtin.Workloads()
	if f := Build(loadRun(t, "cpu-4runtimes"), reg).Findings; f != nil {
		t.Errorf("a cpu run of host, runc, crun, runsc: findings section shown, nothing in it can be judged")
	}
	f := Build(loadRun(t, "sysbench-host-runc"), reg).Findings
	if f == nil {
		t.Fatal("a run of the study's three workloads has no findings section")
	}
	for _, fd := range f.Findings {
		if fd.Verdict != VerdictNotRun || len(fd.NotRun) == 0 {
			t.Errorf("host and runc only: finding %d is %s (%v)", fd.N, fd.Verdict, fd.NotRun)
		}
	}
	// In every format.
	rep := Build(synthRun(studyMedians(), nil), reg)
	for _, format := range []Format{FormatText, FormatJSON, FormatMarkdown, FormatHTML} {
		var buf bytes.Buffer
		if err := rep.Write(&buf, format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), FindingsTitle) && !strings.Contains(buf.String(), html.EscapeString(FindingsTitle)) {
			t.Errorf("%s report has no section %q", format, FindingsTitle)
		}
	}
	var buf bytes.Buffer
	if err := Text(&buf, rep.Run, reg, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), FindingsTitle) || !strings.Contains(buf.String(), "1. holds         CPU: Incus") {
		t.Errorf("the terminal table has no short findings section:\n%s", buf.String())
	}
}

// TestGoldenFindings keeps the section of a synthetic run of the study's
// runtimes in text, HTML and JSON: findings 1 and 2 hold; runsc writes
// slowest, so finding 3 does not hold; Firecracker is noisy on memory, so
// findings 4 to 6 cannot tell. (The fixture sysbench-host-runc's reports
// have every finding not run here.)
func TestGoldenFindings(t *testing.T) {
	m := studyMedians()
	m["docker:runsc"][studyCell{"fileio", "seqwr", "write_bytes_per_sec"}] = 100 * (1 << 20)
	m["firecracker"][studyCell{"memory", "", "total_time"}] = 10.7
	rep := Build(synthRun(m, map[string]float64{"firecracker/memory": 0.3}), builtin.Workloads())
	want := []Verdict{VerdictHolds, VerdictHolds, VerdictDoesNot, VerdictCannotTell, VerdictCannotTell, VerdictCannotTell}
	for i, fd := range rep.Findings.Findings {
		if fd.Verdict != want[i] {
			t.Errorf("finding %d: %s, want %s", fd.N, fd.Verdict, want[i])
		}
	}
	var txt bytes.Buffer
	if err := writeFindingsText(&txt, rep.Findings, rep.Run.ID, false); err != nil {
		t.Fatal(err)
	}
	golden(t, "study-findings.txt", txt.Bytes())

	var page bytes.Buffer
	if err := rep.HTML(&page); err != nil {
		t.Fatal(err)
	}
	s := page.String()
	i, j := strings.Index(s, `<section id="findings">`), strings.Index(s, "</section>")
	if i < 0 || j < i {
		t.Fatal("no findings section in the HTML page")
	}
	golden(t, "study-findings.html", []byte(s[i:j+len("</section>")]+"\n"))

	var doc struct {
		Findings *Findings `json:"findings"`
	}
	var js bytes.Buffer
	if err := rep.JSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil || doc.Findings == nil {
		t.Fatalf("JSON report without findings (%v)", err)
	}
	out, err := json.MarshalIndent(doc.Findings, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "study-findings.json", append(out, '\n'))
}
