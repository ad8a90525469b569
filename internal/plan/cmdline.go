package plan

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/workload"
)

// Helpers for a suite given on the command line rather than in a file.

// CommandLine is a suite as run's flags give it.
type CommandLine struct {
	Profile string
	Trials  int
	Warmups int
	// WarmupsGiven says the user gave Warmups; without it the profile's
	// apply.
	WarmupsGiven bool
	Seed         int64
	Order        string
	Baseline     string
	Timeout      time.Duration
	// Workloads are named with their parameters in Sets, by workload, and
	// Scratch for every workload with a scratch parameter (see WorkloadsOf).
	Workloads []string
	Sets      map[string]map[string]string
	Scratch   string
}

// Suite makes the suite of a command line; its runtimes are left to the
// caller. It fails on an unknown profile; the rest is checked by Expand.
func (c CommandLine) Suite(reg *workload.Registry) (Suite, error) {
	prof, err := LookupProfile(c.Profile)
	if err != nil {
		return Suite{}, err
	}
	s := Suite{
		Profile: c.Profile, Trials: c.Trials, Warmups: c.Warmups, Seed: c.Seed, Order: c.Order,
		Baseline: c.Baseline, Timeout: c.Timeout, Workloads: WorkloadsOf(reg, c.Workloads, c.Sets, c.Scratch),
	}
	if !c.WarmupsGiven {
		s.Warmups = prof.Warmups
	}
	return s, nil
}

// WorkloadsOf makes the workloads of a suite from their names and the
// parameters set for each (by workload name). A scratch that is not empty
// goes to every workload that has a scratch parameter the sets leave out.
func WorkloadsOf(reg *workload.Registry, names []string, sets map[string]map[string]string, scratch string) []WorkloadConfig {
	var out []WorkloadConfig
	for _, name := range names {
		set := sets[name]
		if w, err := reg.Get(name); err == nil && scratch != "" && hasParam(w, "scratch") {
			if set == nil {
				set = map[string]string{}
			}
			if _, given := set["scratch"]; !given {
				set["scratch"] = scratch
			}
		}
		out = append(out, WorkloadConfig{Name: name, Set: set})
	}
	return out
}

// AnyHasParam reports whether a named workload of reg has the parameter.
func AnyHasParam(reg *workload.Registry, names []string, param string) bool {
	for _, name := range names {
		if w, err := reg.Get(name); err == nil && hasParam(w, param) {
			return true
		}
	}
	return false
}

// NewSeed returns a random seed for a suite that gives none (Seed 0): a
// positive number below 2^62, never 0.
func NewSeed() (int64, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return 0, fmt.Errorf("choosing a seed: %w", err)
	}
	return n.Int64() + 1, nil
}

// ParsePercent reads a target of the adaptive stop (Suite.TargetCI), "2%"
// or "0.02", as a fraction strictly between 0 and 1.
func ParsePercent(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a percentage like 2%%", s)
	}
	if pct {
		v /= 100
	}
	if !(v > 0 && v < 1) {
		return 0, fmt.Errorf("%q is not between 0%% and 100%%", s)
	}
	return v, nil
}
