package plan

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/sysbench"
)

func registry() *workload.Registry {
	var r workload.Registry
	r.Register(sysbench.CPU{})
	return &r
}

func TestOrderInterleaved(t *testing.T) {
	const cells, warm, trials = 4, 1, 5
	steps := Order(cells, warm, trials, OrderInterleaved, 42)
	if len(steps) != cells*(warm+trials) {
		t.Fatalf("%d steps, want %d", len(steps), cells*(warm+trials))
	}
	// Every round holds each cell exactly once, warm-up rounds first, so no
	// cell's trials can bunch at one end of the run.
	for r := 0; r < warm+trials; r++ {
		seen := map[int]bool{}
		for _, s := range steps[r*cells : (r+1)*cells] {
			if s.Round != r || seen[s.Cell] {
				t.Fatalf("round %d: step %+v out of place", r, s)
			}
			seen[s.Cell] = true
			if s.Warmup != (r < warm) {
				t.Fatalf("round %d: warm-up flag %v", r, s.Warmup)
			}
		}
	}
	for i, s := range steps {
		if s.Seq != i {
			t.Fatalf("step %d has seq %d", i, s.Seq)
		}
	}
	// Indices count measured trials per cell from 0.
	next := map[int]int{}
	for _, s := range steps {
		if s.Warmup {
			continue
		}
		if s.Index != next[s.Cell] {
			t.Fatalf("cell %d: index %d, want %d", s.Cell, s.Index, next[s.Cell])
		}
		next[s.Cell]++
	}
}

func TestOrderSeeded(t *testing.T) {
	a := Order(5, 1, 6, OrderInterleaved, 7)
	b := Order(5, 1, 6, OrderInterleaved, 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different orders")
	}
	c := Order(5, 1, 6, OrderInterleaved, 8)
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same order")
	}
	// Rounds are shuffled independently: not every round in the same order.
	first := cellsOf(a[5:10])
	same := true
	for r := 2; r < 7; r++ {
		if !reflect.DeepEqual(first, cellsOf(a[r*5:(r+1)*5])) {
			same = false
		}
	}
	if same {
		t.Fatal("every round has the same order")
	}
}

func cellsOf(steps []Step) []int {
	var out []int
	for _, s := range steps {
		out = append(out, s.Cell)
	}
	return out
}

func TestOrderBlocks(t *testing.T) {
	steps := Order(3, 2, 4, OrderBlocks, 1)
	if len(steps) != 18 {
		t.Fatalf("%d steps", len(steps))
	}
	for b := 0; b < 3; b++ {
		block := steps[b*6 : (b+1)*6]
		for i, s := range block {
			if s.Cell != block[0].Cell {
				t.Fatalf("block %d mixes cells: %v", b, cellsOf(block))
			}
			if s.Warmup != (i < 2) {
				t.Fatalf("block %d: warm-ups not first", b)
			}
		}
	}
}

func TestExpand(t *testing.T) {
	p, err := Expand(Suite{
		Runtimes:  []string{"host", "runc"},
		Workloads: []WorkloadConfig{{Name: "cpu", Set: map[string]string{"threads": "2"}}},
		Profile:   ProfileQuick,
		Seed:      3,
	}, registry())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Cells) != 2 {
		t.Fatalf("%d cells", len(p.Cells))
	}
	quick, _ := LookupProfile(ProfileQuick)
	if p.Suite.Trials != quick.Trials {
		t.Errorf("trials %d, want the profile's %d", p.Suite.Trials, quick.Trials)
	}
	c := p.Cells[0]
	if c.Params["threads"] != "2" || c.Params["time"] != "2" || c.Params["max-prime"] != "20000" {
		t.Errorf("params %v: want threads from --set, time from the quick profile, max-prime default", c.Params)
	}
}

func TestExpandErrors(t *testing.T) {
	cpu := []WorkloadConfig{{Name: "cpu"}}
	cases := []struct {
		name  string
		suite Suite
		want  string
	}{
		{"profile", Suite{Runtimes: []string{"host"}, Workloads: cpu, Profile: "fast"}, `unknown profile "fast"`},
		{"workload", Suite{Runtimes: []string{"host"}, Workloads: []WorkloadConfig{{Name: "gpu"}}, Profile: ProfileQuick}, `unknown workload "gpu"`},
		{"param", Suite{Runtimes: []string{"host"}, Workloads: []WorkloadConfig{{Name: "cpu", Set: map[string]string{"primes": "1"}}}, Profile: ProfileQuick}, `no parameter "primes"`},
		{"order", Suite{Runtimes: []string{"host"}, Workloads: cpu, Profile: ProfileQuick, Order: "random"}, `order "random"`},
		{"duplicate", Suite{Runtimes: []string{"host", "host"}, Workloads: cpu, Profile: ProfileQuick}, `listed twice`},
		{"no runtime", Suite{Workloads: cpu, Profile: ProfileQuick}, `no runtime`},
		{"trials", Suite{Runtimes: []string{"host"}, Workloads: cpu, Profile: ProfileQuick, Trials: -1}, `trials: -1 is out of range`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Expand(c.suite, registry())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestMoreRound(t *testing.T) {
	done := Order(3, 1, 2, OrderInterleaved, 5)
	more := MoreRound(done, []int{2, 0}, 5)
	if len(more) != 2 {
		t.Fatalf("%d steps", len(more))
	}
	for i, s := range more {
		if s.Seq != len(done)+i {
			t.Errorf("seq %d, want %d", s.Seq, len(done)+i)
		}
		if s.Index != 2 || s.Warmup {
			t.Errorf("step %+v: want the third measured trial", s)
		}
		if s.Cell != 0 && s.Cell != 2 {
			t.Errorf("cell %d was not asked for", s.Cell)
		}
	}
}

// TestExpandBounds: the bounds of a suite hold whatever it comes from: too
// many trials, warm-ups, cells or trials in all, a time limit out of range,
// and a parameter its workload refuses are errors before any step is made,
// so a typo cannot make the plan allocate without bound.
func TestExpandBounds(t *testing.T) {
	cpu := []WorkloadConfig{{Name: "cpu"}}
	host := []string{"host"}
	many := make([]string, 200)
	for i := range many {
		many[i] = fmt.Sprintf("rt%d", i)
	}
	cases := []struct {
		name  string
		suite Suite
		want  string // "" for accepted
	}{
		{"most trials", Suite{Runtimes: host, Workloads: cpu, Trials: MaxTrials}, ""},
		{"trials", Suite{Runtimes: host, Workloads: cpu, Trials: MaxTrials + 1}, "trials: 10001 is out of range: want 1 to 10000"},
		{"trials huge", Suite{Runtimes: host, Workloads: cpu, Trials: 1_000_000_000_000}, "trials: 1000000000000 is out of range"},
		{"warm-ups", Suite{Runtimes: host, Workloads: cpu, Warmups: 100_000_000_000}, "warm-ups: 100000000000 is out of range: want 0 to 1000"},
		{"warm-ups negative", Suite{Runtimes: host, Workloads: cpu, Warmups: -5}, "warm-ups: -5 is out of range"},
		{"steps", Suite{Runtimes: many, Workloads: cpu, Trials: MaxTrials}, "more than the 1000000 one run may have"},
		{"threads", Suite{Runtimes: host, Workloads: []WorkloadConfig{{Name: "cpu", Set: map[string]string{"threads": "100000000"}}}}, "workload cpu: parameter threads: 100000000 is above the maximum 1024"},
		{"same cell twice", Suite{Runtimes: host, Workloads: []WorkloadConfig{{Name: "cpu"}, {Name: "cpu"}}}, "workload cpu is listed twice"},
		{"timeout short", Suite{Runtimes: host, Workloads: cpu, Timeout: time.Millisecond}, "timeout: 1ms is shorter than the minimum 1s"},
		{"timeout long", Suite{Runtimes: host, Workloads: cpu, Timeout: 1000 * time.Hour}, "timeout: 1000h0m0s is longer than the maximum"},
		{"workload timeout", Suite{Runtimes: host, Workloads: []WorkloadConfig{{Name: "cpu", Timeout: -time.Second}}}, "workload cpu: timeout: -1s is negative"},
		{"empty runtime", Suite{Runtimes: []string{""}, Workloads: cpu}, "a runtime name is empty"},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			c.suite.Profile = ProfileQuick
			start := time.Now()
			p, err := Expand(c.suite, registry())
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Steps) == 0 {
					t.Fatal("no steps")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("refusing took %s", d)
			}
		})
	}
}

func TestCheckSteps(t *testing.T) {
	for _, c := range []struct {
		cells, warmups, trials int
		ok                     bool
	}{
		{1, 0, 1, true},
		{100, 0, MaxTrials, true},
		{101, 0, MaxTrials, false},
		{MaxSteps, 0, 1, true},
		{MaxSteps, 1, 1, false},
		{1 << 40, 1 << 40, 1 << 40, false},
		{-1, 0, 1, false},
		{0, 0, 0, true},
	} {
		err := CheckSteps(c.cells, c.warmups, c.trials)
		if (err == nil) != c.ok {
			t.Errorf("CheckSteps(%d, %d, %d) = %v", c.cells, c.warmups, c.trials, err)
		}
	}
}

func TestCheckTimeout(t *testing.T) {
	for d, ok := range map[time.Duration]bool{0: true, time.Second: true, MaxTimeout: true, -time.Second: false, time.Millisecond: false, MaxTimeout + 1: false} {
		if err := CheckTimeout(d); (err == nil) != ok {
			t.Errorf("CheckTimeout(%s) = %v", d, err)
		}
	}
}
