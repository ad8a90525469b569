package plan

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/driver"
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

// Limits of a suite, whether it comes from flags or from a suite file:
// beyond them a suite is refused before anything runs, rather than expanded
// into a plan that would exhaust the host's memory or run for years.
const (
	// MaxTrials bounds the measured trials of one cell.
	MaxTrials = 10_000
	// MaxWarmups bounds the warm-up trials of one cell.
	MaxWarmups = 1_000
	// MaxSteps bounds the trials of a whole plan, warm-ups included, over
	// every cell: runtimes × workload cells × (trials + warm-ups).
	MaxSteps = 1_000_000
	// MinTimeout and MaxTimeout bound a trial's time limit.
	MinTimeout = time.Second
	MaxTimeout = 7 * 24 * time.Hour
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
	// TargetCI and MaxTrials are the adaptive stop's (run --target-ci
	// as a fraction, --max-trials); 0 for a fixed number of trials. They
	// are stored with the run, so that a resumed run stops by the same
	// rule. Only the command line sets them, never a suite file.
	TargetCI  float64 `json:",omitempty"`
	MaxTrials int     `json:",omitempty"`
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
//
// Every bound of the suite is checked (see Validate) before anything is
// allocated, and each cell's parameters go through the workload's Check
// (its answers that depend on the runtime, driver.ErrNotSupported, are
// left to the run, which knows the runtimes), so that a suite from flags
// and one from a file meet the same limits.
func Expand(s Suite, reg *workload.Registry) (*Plan, error) {
	prof, err := LookupProfile(s.Profile)
	if err != nil {
		return nil, err
	}
	if s.Trials == 0 {
		s.Trials = prof.Trials
	}
	if s.Order == "" {
		s.Order = OrderInterleaved
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(s.Runtimes) == 0 {
		return nil, errors.New("no runtime to run")
	}
	if len(s.Workloads) == 0 {
		return nil, errors.New("no workload to run")
	}
	p := &Plan{Suite: s}
	seen := map[string]bool{}
	for _, wc := range s.Workloads {
		w, err := reg.Get(wc.Name)
		if err != nil {
			return nil, err
		}
		params, err := workload.Resolve(w, s.Profile, wc.Set)
		if err != nil {
			return nil, err
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
			if err := checkCell(w, params); err != nil {
				return nil, fmt.Errorf("workload %s: %w", w.Name(), err)
			}
			key := w.Name() + result.ParamString(params)
			if seen[key] {
				return nil, fmt.Errorf("workload %s is listed twice with the same parameters%s", w.Name(), result.ParamString(params))
			}
			seen[key] = true
			// Each cell costs at least one trial: the cells alone may not
			// pass the bound of the whole plan.
			if len(p.Cells)+len(s.Runtimes) > MaxSteps {
				return nil, fmt.Errorf("the suite makes more than %d cells", MaxSteps)
			}
			for _, rt := range s.Runtimes {
				p.Cells = append(p.Cells, result.Cell{Runtime: rt, Workload: w.Name(), Params: params})
				p.Timeouts = append(p.Timeouts, timeout)
			}
		}
	}
	if err := CheckSteps(len(p.Cells), s.Warmups, s.Trials); err != nil {
		return nil, err
	}
	p.Steps = Order(len(p.Cells), s.Warmups, s.Trials, s.Order, s.Seed)
	return p, nil
}

// Validate checks what a suite says on its own, without a workload
// registry: trials and warm-ups within MaxTrials and MaxWarmups (0 trials
// stands for the profile's), a known order (or none), time limits of 0 (the
// default) or from MinTimeout to MaxTimeout, runtimes listed once, and
// sandbox options that are not negative. The whole plan's size is checked
// by Expand, which knows the cells.
func (s Suite) Validate() error {
	if s.Profile != "" {
		if _, err := LookupProfile(s.Profile); err != nil {
			return err
		}
	}
	if s.Trials < 0 || s.Trials > MaxTrials {
		return fmt.Errorf("trials: %d is out of range: want 1 to %d", s.Trials, MaxTrials)
	}
	if s.Warmups < 0 || s.Warmups > MaxWarmups {
		return fmt.Errorf("warm-ups: %d is out of range: want 0 to %d", s.Warmups, MaxWarmups)
	}
	if s.Order != "" && s.Order != OrderInterleaved && s.Order != OrderBlocks {
		return fmt.Errorf("order %q: want %s or %s", s.Order, OrderInterleaved, OrderBlocks)
	}
	if err := CheckTimeout(s.Timeout); err != nil {
		return fmt.Errorf("timeout: %w", err)
	}
	for _, wc := range s.Workloads {
		if err := CheckTimeout(wc.Timeout); err != nil {
			return fmt.Errorf("workload %s: timeout: %w", wc.Name, err)
		}
	}
	if dup := firstDuplicate(s.Runtimes); dup != "" {
		return fmt.Errorf("runtime %q is listed twice", dup)
	}
	for _, rt := range s.Runtimes {
		if rt == "" {
			return errors.New("a runtime name is empty")
		}
	}
	for name, o := range s.Options {
		if o.CPUs < 0 || o.MemoryBytes < 0 {
			return fmt.Errorf("runtime %s: negative sandbox options", name)
		}
	}
	return nil
}

// CheckTimeout checks a trial time limit: 0 (the default) or from
// MinTimeout to MaxTimeout.
func CheckTimeout(d time.Duration) error {
	switch {
	case d == 0:
		return nil
	case d < 0:
		return fmt.Errorf("%s is negative", d)
	case d < MinTimeout:
		return fmt.Errorf("%s is shorter than the minimum %s", d, MinTimeout)
	case d > MaxTimeout:
		return fmt.Errorf("%s is longer than the maximum %s", d, MaxTimeout)
	}
	return nil
}

// CheckSteps checks that cells cells of warmups warm-ups and trials
// measured trials each stay within MaxSteps; the adaptive stop checks it
// with its most trials per cell.
func CheckSteps(cells, warmups, trials int) error {
	if cells < 0 || warmups < 0 || trials < 0 {
		return errors.New("negative plan size")
	}
	// Each factor is bounded (cells by MaxSteps, the others by MaxTrials
	// and MaxWarmups where they come from a suite), but a caller's may not
	// be: divide rather than multiply, which cannot overflow.
	per := int64(warmups) + int64(trials)
	if per > 0 && int64(cells) > MaxSteps/per {
		return fmt.Errorf("the plan makes %s trials (%d cells × %d trials and warm-ups), more than the %d one run may have",
			stepCount(int64(cells), per), cells, per, MaxSteps)
	}
	return nil
}

// stepCount writes cells × per, which may not fit in an int64.
func stepCount(cells, per int64) string {
	if cells != 0 && per > math.MaxInt64/cells {
		return "over " + strconv.FormatInt(math.MaxInt64, 10)
	}
	return strconv.FormatInt(cells*per, 10)
}

// checkCell runs the workload's Check on one cell's parameters with no
// runtime: a refused value is an error, an answer that depends on the
// runtime (driver.ErrNotSupported) is not.
func checkCell(w workload.Workload, params map[string]string) error {
	if err := w.Check(driver.Info{}, params); err != nil && !errors.Is(err, driver.ErrNotSupported) {
		return err
	}
	return nil
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
