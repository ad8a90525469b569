package plan_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/plan"
)

// TestOverride: run's flags win over a suite file's, each only when it was
// given; a runtime given is checked, a scratch directory goes to every
// workload that has one, and a timeout becomes every trial's limit.
func TestOverride(t *testing.T) {
	file := func() plan.Suite {
		return plan.Suite{
			Runtimes: []string{"host"}, Trials: 5, Warmups: 1, Seed: 3, Order: plan.OrderInterleaved, Baseline: "host",
			Timeout: time.Minute,
			Workloads: []plan.WorkloadConfig{
				{Name: "fileio", Set: map[string]string{"mode": "seqwr", "scratch": "/a"}, Timeout: time.Hour},
				{Name: "cpu"},
			},
		}
	}
	all := plan.Overrides{
		Runtimes: []string{"host", "runc"}, Trials: 9, Warmups: 0, Seed: 7, Order: plan.OrderBlocks, Baseline: "runc",
		Scratch: "/b", Timeout: 2 * time.Minute,
	}
	given := func(flags ...string) func(string) bool {
		return func(f string) bool {
			for _, x := range flags {
				if x == f {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name   string
		given  func(string) bool
		change func(*plan.Suite)
	}{
		{"nothing given", nil, func(*plan.Suite) {}},
		{"counts and order", given("trials", "warmups", "seed", "order"), func(s *plan.Suite) {
			s.Trials, s.Warmups, s.Seed, s.Order = 9, 0, 7, plan.OrderBlocks
		}},
		{"runtimes and baseline", given("runtimes", "baseline"), func(s *plan.Suite) {
			s.Runtimes, s.Baseline = []string{"host", "runc"}, "runc"
		}},
		{"scratch", given("scratch"), func(s *plan.Suite) {
			s.Workloads[0].Set = map[string]string{"mode": "seqwr", "scratch": "/b"}
		}},
		{"timeout", given("timeout"), func(s *plan.Suite) {
			s.Timeout, s.Workloads[0].Timeout = 2*time.Minute, 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := all
			o.Given = tc.given
			in := file()
			got, err := in.Override(o, builtinKnown(t))
			if err != nil {
				t.Fatal(err)
			}
			want := file()
			tc.change(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if !reflect.DeepEqual(in, file()) {
				t.Errorf("the suite given was changed: %+v", in)
			}
		})
	}
	o := all
	o.Given, o.Runtimes = given("runtimes"), []string{"host", "nope"}
	if _, err := file().Override(o, builtinKnown(t)); err == nil || !strings.Contains(err.Error(), `--runtimes: unknown runtime "nope"`) {
		t.Errorf("an unknown runtime given: %v", err)
	}
}
