package plan

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestWorkloadsOf(t *testing.T) {
	reg := fileRegistry() // cpu has no scratch parameter; fileio and fio do
	for _, c := range []struct {
		name    string
		names   []string
		sets    map[string]map[string]string
		scratch string
		want    []WorkloadConfig
	}{
		{"names only", []string{"cpu", "fileio"}, nil, "",
			[]WorkloadConfig{{Name: "cpu"}, {Name: "fileio"}}},
		{"sets by workload", []string{"cpu", "fio"}, map[string]map[string]string{"cpu": {"time": "2"}}, "",
			[]WorkloadConfig{{Name: "cpu", Set: map[string]string{"time": "2"}}, {Name: "fio"}}},
		{"scratch where there is a scratch parameter", []string{"cpu", "fileio", "fio"}, nil, "tmpfs",
			[]WorkloadConfig{{Name: "cpu"}, {Name: "fileio", Set: map[string]string{"scratch": "tmpfs"}}, {Name: "fio", Set: map[string]string{"scratch": "tmpfs"}}}},
		{"a set scratch wins", []string{"fileio"}, map[string]map[string]string{"fileio": {"scratch": "volume"}}, "tmpfs",
			[]WorkloadConfig{{Name: "fileio", Set: map[string]string{"scratch": "volume"}}}},
		{"an unknown workload is left to Expand", []string{"nosuch"}, nil, "tmpfs",
			[]WorkloadConfig{{Name: "nosuch"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := WorkloadsOf(reg, c.names, c.sets, c.scratch); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestAnyHasParam(t *testing.T) {
	reg := fileRegistry()
	for _, c := range []struct {
		names []string
		want  bool
	}{
		{[]string{"cpu"}, false},
		{[]string{"cpu", "fio"}, true},
		{[]string{"nosuch"}, false},
		{nil, false},
	} {
		if got := AnyHasParam(reg, c.names, "scratch"); got != c.want {
			t.Errorf("%v: %v, want %v", c.names, got, c.want)
		}
	}
}

func TestNewSeed(t *testing.T) {
	seen := map[int64]bool{}
	for range 100 {
		s, err := NewSeed()
		if err != nil {
			t.Fatal(err)
		}
		if s <= 0 || s > 1<<62 {
			t.Fatalf("seed %d out of range", s)
		}
		seen[s] = true
	}
	if len(seen) < 99 {
		t.Errorf("%d distinct seeds of 100", len(seen))
	}
}

func TestParsePercent(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    float64
		wantErr string
	}{
		{"2%", 0.02, ""},
		{" 0.5 ", 0.5, ""},
		{"50%", 0.5, ""},
		{"5x", 0, "is not a percentage"},
		{"", 0, "is not a percentage"},
		{"0", 0, "is not between"},
		{"100%", 0, "is not between"},
		{"-1%", 0, "is not between"},
		{"NaN", 0, "is not between"},
	} {
		got, err := ParsePercent(c.in)
		switch {
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%q: error %v, want %q", c.in, err, c.wantErr)
		case c.wantErr == "" && (err != nil || math.Abs(got-c.want) > 1e-12):
			t.Errorf("%q: %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestCommandLineSuite(t *testing.T) {
	reg := fileRegistry()
	quick, err := LookupProfile(ProfileQuick)
	if err != nil {
		t.Fatal(err)
	}
	c := CommandLine{Profile: ProfileQuick, Trials: 4, Warmups: 0, Seed: 9, Order: OrderBlocks, Baseline: "runc",
		Timeout: time.Minute, Workloads: []string{"cpu", "fio"}, Sets: map[string]map[string]string{"cpu": {"time": "2"}}, Scratch: "tmpfs"}
	s, err := c.Suite(reg)
	if err != nil {
		t.Fatal(err)
	}
	want := Suite{Profile: ProfileQuick, Trials: 4, Warmups: quick.Warmups, Seed: 9, Order: OrderBlocks, Baseline: "runc", Timeout: time.Minute,
		Workloads: []WorkloadConfig{{Name: "cpu", Set: map[string]string{"time": "2"}}, {Name: "fio", Set: map[string]string{"scratch": "tmpfs"}}}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("suite %+v, want %+v (the profile's warm-ups)", s, want)
	}
	c.WarmupsGiven = true
	if s, err = c.Suite(reg); err != nil || s.Warmups != 0 {
		t.Errorf("warm-ups given as 0: %d, %v", s.Warmups, err)
	}
	c.Profile = "nosuch"
	if _, err := c.Suite(reg); err == nil {
		t.Error("an unknown profile was taken")
	}
}
