package plan

import (
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/fio"
	"github.com/isobench/isobench/internal/workload/sysbench"
)

var (
	_ Sweeper = sysbench.FileIO{}
	_ Sweeper = fio.FIO{}
)

func fileRegistry() *workload.Registry {
	var r workload.Registry
	r.Register(sysbench.CPU{})
	r.Register(sysbench.FileIO{})
	r.Register(fio.FIO{})
	return &r
}

// TestExpandSweep: a listed parameter makes one cell per value and runtime,
// in the listed order, each with a single value; the default fileio suite
// gives the study's read, write and rewrite.
func TestExpandSweep(t *testing.T) {
	tests := []struct {
		name  string
		wl    []WorkloadConfig
		want  []string // workload:param value of each cell, per runtime pair
		param string
	}{
		{"fileio default", []WorkloadConfig{{Name: "fileio"}}, []string{"seqrd", "seqwr", "seqrewr"}, "mode"},
		{"fileio set", []WorkloadConfig{{Name: "fileio", Set: map[string]string{"mode": "rndrw, seqrd"}}}, []string{"rndrw", "seqrd"}, "mode"},
		{"fio default", []WorkloadConfig{{Name: "fio"}}, []string{"seqread", "seqwrite", "randread", "randwrite"}, "job"},
		{"cpu is one cell", []WorkloadConfig{{Name: "cpu"}}, []string{""}, "mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Expand(Suite{Runtimes: []string{"host", "runc"}, Workloads: tc.wl, Profile: ProfileQuick, Seed: 1}, fileRegistry())
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Cells) != 2*len(tc.want) {
				t.Fatalf("%d cells, want %d", len(p.Cells), 2*len(tc.want))
			}
			for i, c := range p.Cells {
				if got := c.Params[tc.param]; got != tc.want[i/2] {
					t.Errorf("cell %d (%s) %s = %q, want %q", i, c.Runtime, tc.param, got, tc.want[i/2])
				}
			}
			// Each cell has its own parameter map.
			if len(p.Cells) > 2 {
				p.Cells[0].Params["x"] = "y"
				if p.Cells[2].Params["x"] != "" {
					t.Error("cells share a parameter map")
				}
			}
			if len(p.Steps) != len(p.Cells)*(p.Suite.Trials+p.Suite.Warmups) {
				t.Errorf("%d steps for %d cells", len(p.Steps), len(p.Cells))
			}
		})
	}
}

func TestExpandSweepErrors(t *testing.T) {
	cases := []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"mode": "seqrd,fast"}, `workload fileio: parameter mode: "fast" is not one of`},
		{map[string]string{"mode": "seqrd,seqrd"}, `"seqrd" is listed twice`},
		{map[string]string{"mode": ""}, `parameter mode: "" is not one of`},
	}
	for _, c := range cases {
		_, err := Expand(Suite{Runtimes: []string{"host"}, Workloads: []WorkloadConfig{{Name: "fileio", Set: c.set}}, Profile: ProfileQuick}, fileRegistry())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.set, err, c.want)
		}
	}
}
