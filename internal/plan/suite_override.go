package plan

import (
	"fmt"
	"time"
)

// Overrides are the values of run's flags that win over a suite file's
// (run -f). Each applies only when Given says its flag was given:
// "runtimes", "trials", "warmups", "seed", "order", "baseline", "scratch"
// and "timeout".
type Overrides struct {
	Given    func(flag string) bool
	Runtimes []string
	Trials   int
	Warmups  int
	Seed     int64
	Order    string
	Baseline string
	// Scratch replaces the scratch parameter of every workload that has
	// one.
	Scratch string
	// Timeout becomes the limit of every trial, the workloads' own
	// included.
	Timeout time.Duration
}

// Override returns s with o laid over it; runtimes given are checked as a
// suite file's are (known.Runtime), and the workloads are known.Workloads.
func (s Suite) Override(o Overrides, known Known) (Suite, error) {
	given := o.Given
	if given == nil {
		given = func(string) bool { return false }
	}
	if given("runtimes") {
		s.Runtimes = o.Runtimes
		for _, r := range o.Runtimes {
			if err := known.Runtime(r); err != nil {
				return Suite{}, fmt.Errorf("--runtimes: %w", err)
			}
		}
	}
	if given("trials") {
		s.Trials = o.Trials
	}
	if given("warmups") {
		s.Warmups = o.Warmups
	}
	if given("seed") {
		s.Seed = o.Seed
	}
	if given("order") {
		s.Order = o.Order
	}
	if given("baseline") {
		s.Baseline = o.Baseline
	}
	if given("scratch") {
		wcs := make([]WorkloadConfig, len(s.Workloads))
		copy(wcs, s.Workloads)
		for i, wc := range wcs {
			w, err := known.Workloads.Get(wc.Name)
			if err != nil {
				return Suite{}, err
			}
			for _, p := range w.Params() {
				if p.Name == "scratch" {
					set := map[string]string{}
					for k, v := range wc.Set {
						set[k] = v
					}
					set["scratch"] = o.Scratch
					wcs[i].Set = set
				}
			}
		}
		s.Workloads = wcs
	}
	if given("timeout") {
		s.Timeout = o.Timeout
		wcs := make([]WorkloadConfig, len(s.Workloads))
		copy(wcs, s.Workloads)
		for i := range wcs {
			wcs[i].Timeout = 0
		}
		s.Workloads = wcs
	}
	return s, nil
}
