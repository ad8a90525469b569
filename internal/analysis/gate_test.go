package analysis

import (
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/result"
)

func TestParseBound(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    float64
		wantErr string
	}{
		{"5%", 0.05, ""},
		{" 12.5 % ", 0.125, ""},
		{"1000%", 10, ""},
		{"5", 0, "give a percentage with its sign"},
		{"x%", 0, "is not a percentage like 5%"},
		{"0%", 0, "above 0% and at most 1000%"},
		{"1001%", 0, "above 0% and at most 1000%"},
		{"NaN%", 0, "above 0% and at most 1000%"},
	} {
		got, err := ParseBound(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseBound(%q) error %v, want one saying %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseBound(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestHasRuntime(t *testing.T) {
	run := &result.Run{Trials: []result.Trial{{Cell: result.Cell{Runtime: "host"}}, {Cell: result.Cell{Runtime: "runc"}}}}
	for rt, want := range map[string]bool{"host": true, "runc": true, "crun": false, "": false} {
		if got := HasRuntime(run, rt); got != want {
			t.Errorf("HasRuntime(%q) = %v, want %v", rt, got, want)
		}
	}
}

func TestUnjudgedText(t *testing.T) {
	for _, tc := range []struct {
		us   []Unjudged
		want string
	}{
		{nil, ""},
		{[]Unjudged{{Runtime: "runc", Workload: "cpu", Kind: "missing"}, {Runtime: "crun", Workload: "cpu", Metric: "events_per_sec", Kind: "inconclusive"}},
			"runc cpu (missing); crun cpu events_per_sec (inconclusive)"},
	} {
		if got := UnjudgedText(tc.us); got != tc.want {
			t.Errorf("UnjudgedText = %q, want %q", got, tc.want)
		}
	}
}
