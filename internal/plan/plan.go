package plan

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload"
)

// Orders.
const (
	OrderInterleaved = "interleaved"
	OrderBlocks      = "blocks"
)

// Profiles known to every workload. A workload parameter may give a value
// for a profile; where it does not, its default applies.
const (
	ProfileQuick = "quick"
	ProfileStudy = "study"
)

// Profile describes a named profile: its trials and warm-ups per cell.
type Profile struct {
	Name    string
	Doc     string
	Trials  int
	Warmups int
}

// Profiles lists the profiles, the default first.
func Profiles() []Profile {
	return []Profile{
		{Name: ProfileQuick, Doc: "seconds per trial; a first look and CI", Trials: 6, Warmups: 1},
		{Name: ProfileStudy, Doc: "the study's parameters (primes to 20000, sysbench's default sizes), 10 trials", Trials: 10, Warmups: 1},
	}
}

// LookupProfile returns the named profile.
func LookupProfile(name string) (Profile, error) {
	var names []string
	for _, p := range Profiles() {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("unknown profile %q (known: %s)", name, strings.Join(names, ", "))
}

// WorkloadConfig is one workload of a suite with the parameters the user set.
type WorkloadConfig struct {
	Name string
	Set  map[string]string
	// Timeout bounds each trial of the workload; 0 takes the suite's.
	Timeout time.Duration `json:",omitempty"`
}

// RuntimeOptions bound the sandboxes of one runtime, where its driver can;
// zero values keep the driver's defaults.
type RuntimeOptions struct {
	CPUs        int   `json:",omitempty"`
	MemoryBytes int64 `json:",omitempty"`
}

// Suite is what the user asked to measure.
type Suite struct {
	Runtimes  []string
	Workloads []WorkloadConfig
	Profile   string
	// Trials and Warmups per cell; 0 takes the profile's.
	Trials  int
	Warmups int
	Seed    int64
	Order   string
	// Baseline is the runtime the others are compared against.
	Baseline string
	// Timeout bounds each trial of a workload that sets none; 0 takes each
	// workload's own default.
	Timeout time.Duration `json:",omitempty"`
	// Options holds the sandbox options of runtimes, by runtime name.
	Options map[string]RuntimeOptions `json:",omitempty"`
}

// Step is one trial of the plan.
type Step struct {
	Seq    int
	Cell   int // index into Plan.Cells
	Index  int // measured trials count from 0; warm-ups count separately
	Warmup bool
	Round  int
}

// Plan is an ordered list of trials.
type Plan struct {
	Suite Suite
	Cells []result.Cell
	Steps []Step
	// Timeouts holds the time limit of each cell's trials, by cell index; 0
	// (or a missing entry) leaves it to the workload's default.
	Timeouts []time.Duration
}

// Timeout returns the time limit the suite sets for the trials of cell i,
// or 0 when it sets none.
func (p *Plan) Timeout(i int) time.Duration {
	if i < 0 || i >= len(p.Timeouts) {
		return 0
	}
	return p.Timeouts[i]
}

// Expand makes the plan of a suite. Workload names and parameters are
// checked against the registry; runtimes are taken as given (the caller has
// already left out the ones that cannot run, with their reasons).
func Expand(s Suite, reg *workload.Registry) (*Plan, error) {
	prof, err := LookupProfile(s.Profile)
	if err != nil {
		return nil, err
	}
	if s.Trials == 0 {
		s.Trials = prof.Trials
	}
	if s.Warmups < 0 {
		return nil, fmt.Errorf("warm-ups: %d is negative", s.Warmups)
	}
	if s.Trials < 1 {
		return nil, fmt.Errorf("trials: %d is fewer than 1", s.Trials)
	}
	if s.Order == "" {
		s.Order = OrderInterleaved
	}
	if s.Order != OrderInterleaved && s.Order != OrderBlocks {
		return nil, fmt.Errorf("order %q: want %s or %s", s.Order, OrderInterleaved, OrderBlocks)
	}
	if len(s.Runtimes) == 0 {
		return nil, errors.New("no runtime to run")
	}
	if len(s.Workloads) == 0 {
		return nil, errors.New("no workload to run")
	}
	if dup := firstDuplicate(s.Runtimes); dup != "" {
		return nil, fmt.Errorf("runtime %q is listed twice", dup)
	}
	if s.Timeout < 0 {
		return nil, fmt.Errorf("timeout: %s is negative", s.Timeout)
	}
	p := &Plan{Suite: s}
	for _, wc := range s.Workloads {
		w, err := reg.Get(wc.Name)
		if err != nil {
			return nil, err
		}
		params, err := workload.Resolve(w, s.Profile, wc.Set)
		if err != nil {
			return nil, err
		}
		if wc.Timeout < 0 {
			return nil, fmt.Errorf("workload %s: timeout %s is negative", wc.Name, wc.Timeout)
		}
		timeout := wc.Timeout
		if timeout == 0 {
			timeout = s.Timeout
		}
		sets, err := sweep(w, params)
		if err != nil {
			return nil, fmt.Errorf("workload %s: %w", w.Name(), err)
		}
		for _, params := range sets {
			for _, rt := range s.Runtimes {
				p.Cells = append(p.Cells, result.Cell{Runtime: rt, Workload: w.Name(), Params: params})
				p.Timeouts = append(p.Timeouts, timeout)
			}
		}
	}
	p.Steps = Order(len(p.Cells), s.Warmups, s.Trials, s.Order, s.Seed)
	return p, nil
}

// Sweeper is implemented by workloads a parameter of which lists values
// that are measured one at a time (fileio's mode=seqrd,seqwr,seqrewr): the
// resolved parameters then stand for several cells, one per parameter set
// that Sweep returns, each with its own trials and table.
type Sweeper interface {
	Sweep(params map[string]string) ([]map[string]string, error)
}

// sweep returns the parameter sets of the cells of w with params.
func sweep(w workload.Workload, params map[string]string) ([]map[string]string, error) {
	sw, ok := w.(Sweeper)
	if !ok {
		return []map[string]string{params}, nil
	}
	sets, err := sw.Sweep(params)
	if err != nil {
		return nil, err
	}
	if len(sets) == 0 {
		return nil, errors.New("its parameters make no cell")
	}
	return sets, nil
}

func firstDuplicate(xs []string) string {
	seen := map[string]bool{}
	for _, x := range xs {
		if seen[x] {
			return x
		}
		seen[x] = true
	}
	return ""
}

// Order lays out warm-ups and trials of n cells. Interleaved: rounds of one
// trial per cell, each round in a fresh permutation (warm-up rounds first).
// Blocks: cells in one random permutation, each with all its trials in a row.
func Order(n, warmups, trials int, order string, seed int64) []Step {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	var steps []Step
	add := func(cell, index, round int, warm bool) {
		steps = append(steps, Step{Seq: len(steps), Cell: cell, Index: index, Warmup: warm, Round: round})
	}
	if order == OrderBlocks {
		for _, c := range rng.Perm(n) {
			for i := 0; i < warmups; i++ {
				add(c, i, i, true)
			}
			for i := 0; i < trials; i++ {
				add(c, i, warmups+i, false)
			}
		}
		return steps
	}
	for r := 0; r < warmups+trials; r++ {
		for _, c := range rng.Perm(n) {
			if r < warmups {
				add(c, r, r, true)
			} else {
				add(c, r-warmups, r, false)
			}
		}
	}
	return steps
}

// MoreRound makes one more round of measured trials for the given cells, in a
// fresh random order, continuing the sequence numbers and indices of done.
// It serves the adaptive stop.
func MoreRound(done []Step, cells []int, seed int64) []Step {
	next := 0
	round := 0
	count := map[int]int{}
	for _, s := range done {
		next = max(next, s.Seq+1)
		round = max(round, s.Round+1)
		if !s.Warmup {
			count[s.Cell] = max(count[s.Cell], s.Index+1)
		}
	}
	sorted := append([]int(nil), cells...)
	sort.Ints(sorted)
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(round)))
	var steps []Step
	for _, i := range rng.Perm(len(sorted)) {
		c := sorted[i]
		steps = append(steps, Step{Seq: next, Cell: c, Index: count[c], Round: round})
		next++
	}
	return steps
}
