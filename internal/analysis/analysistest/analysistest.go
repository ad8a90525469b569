package analysistest

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/result"
)

// LoadRun reads a run stored as JSON (a fixture read back from the store
// of the machine it ran on).
func LoadRun(t testing.TB, path string) *result.Run {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r result.Run
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

// Scaled returns a copy of run whose samples of a runtime's metric are
// multiplied by f: a real run turned into a regression of known size.
func Scaled(run *result.Run, runtime, metric string, f float64) *result.Run {
	c := *run
	c.Trials = make([]result.Trial, len(run.Trials))
	for i, t := range run.Trials {
		t.Samples = append([]result.Sample(nil), t.Samples...)
		if t.Cell.Runtime == runtime {
			for j := range t.Samples {
				if t.Samples[j].Metric == metric {
					t.Samples[j].Value *= f
				}
			}
		}
		c.Trials[i] = t
	}
	return &c
}

// Without returns a copy of run with the trials of some runtimes dropped,
// or failed when fail is true.
func Without(run *result.Run, fail bool, runtimes ...string) *result.Run {
	c := *run
	c.Trials = nil
	for _, t := range run.Trials {
		if slices.Contains(runtimes, t.Cell.Runtime) {
			if !fail {
				continue
			}
			t.Status, t.Error, t.Samples = result.StatusFailed, "exit status 1", nil
		}
		c.Trials = append(c.Trials, t)
	}
	return &c
}

// FirstTrials keeps the first n measured trials of each runtime.
func FirstTrials(run *result.Run, n int) *result.Run {
	c := *run
	c.Trials = nil
	seen := map[string]int{}
	for _, t := range run.Trials {
		if t.Warmup {
			continue
		}
		if seen[t.Cell.Runtime] < n {
			seen[t.Cell.Runtime]++
			c.Trials = append(c.Trials, t)
		}
	}
	return &c
}

// StudyCell names one cell of the study's workloads by workload, mode
// (fileio only) and metric.
type StudyCell struct{ Workload, Mode, Metric string }

// Medians are the medians of a synthetic run, per runtime and cell.
type Medians map[string]map[StudyCell]float64

// StudyMedians are the medians of a synthetic run that agrees with the
// study in every finding.
func StudyMedians() Medians {
	ms := func(v float64) float64 { return v * 1e-3 }
	mib := func(v float64) float64 { return v * (1 << 20) }
	cpuAvg := StudyCell{"cpu", "", "latency_avg"}
	cpuMin := StudyCell{"cpu", "", "latency_min"}
	rd := StudyCell{"fileio", "seqrd", "read_bytes_per_sec"}
	wr := StudyCell{"fileio", "seqwr", "write_bytes_per_sec"}
	rewr := StudyCell{"fileio", "seqrewr", "write_bytes_per_sec"}
	memT := StudyCell{"memory", "", "total_time"}
	memAvg := StudyCell{"memory", "", "latency_avg"}
	memMin := StudyCell{"memory", "", "latency_min"}
	return Medians{
		"host":         {cpuAvg: ms(1.00), cpuMin: ms(0.95), rd: mib(9000), wr: mib(370), rewr: mib(400), memT: 10.0, memAvg: 1.00e-7, memMin: 0},
		"docker":       {cpuAvg: ms(1.02), cpuMin: ms(0.97), rd: mib(6000), wr: mib(200), rewr: mib(210), memT: 10.1, memAvg: 1.00e-7, memMin: 0},
		"docker:runsc": {cpuAvg: ms(1.20), cpuMin: ms(1.14), rd: mib(1500), wr: mib(300), rewr: mib(330), memT: 11.0, memAvg: 1.30e-7, memMin: 0},
		"incus":        {cpuAvg: ms(1.00), cpuMin: ms(0.95), rd: mib(5000), wr: mib(190), rewr: mib(200), memT: 12.0, memAvg: 1.25e-7, memMin: 0},
		"firecracker":  {cpuAvg: ms(1.06), cpuMin: ms(1.01), rd: mib(12000), wr: mib(320), rewr: mib(360), memT: 10.3, memAvg: 1.20e-7, memMin: 0},
	}
}

// StudyRun builds a run of the study's workloads from medians: 10 trials
// per cell whose values spread evenly by ±jitter around the median (so
// the median is exact), 0.5% unless jitter names the runtime, or the
// runtime and workload as "runtime/workload".
func StudyRun(medians Medians, jitter map[string]float64) *result.Run {
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
		byKey := map[key][]StudyCell{}
		var keys []key
		for c := range cells {
			k := key{c.Workload, c.Mode}
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
			sort.Slice(byKey[k], func(a, b int) bool { return byKey[k][a].Metric < byKey[k][b].Metric })
			for i := range 10 {
				seq++
				t := result.Trial{
					Seq: seq, Index: i, Status: result.StatusOK,
					Cell:  result.Cell{Runtime: rt, Workload: k.workload, Params: maps.Clone(params)},
					Attrs: map[string]string{analysis.AttrScratchFS: fs[rt]},
				}
				for _, c := range byKey[k] {
					v := cells[c] * (1 + j*(float64(i)-4.5)/4.5)
					t.Samples = append(t.Samples, result.Sample{Metric: c.Metric, Unit: units[c.Workload+"/"+c.Metric], Value: v})
				}
				run.Trials = append(run.Trials, t)
			}
		}
	}
	return run
}
