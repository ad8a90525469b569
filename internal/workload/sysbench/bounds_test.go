package sysbench

import (
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
)

// TestParamBounds: every integer and size parameter of the sysbench
// workloads has an upper bound; a value past it (or too large for an
// integer at all) is refused with the parameter's name, the bound itself
// is taken.
func TestParamBounds(t *testing.T) {
	fileio := map[string]string{"mode": "seqrd"}
	tests := []struct {
		w    workload.Workload
		base map[string]string
		set  map[string]string
		want string // "" for accepted
	}{
		{CPU{}, nil, map[string]string{"threads": "1024"}, ""},
		{CPU{}, nil, map[string]string{"threads": "1025"}, "parameter threads: 1025 is above the maximum 1024"},
		{CPU{}, nil, map[string]string{"threads": "100000000"}, "parameter threads"},
		{CPU{}, nil, map[string]string{"threads": "99999999999999999999999"}, "parameter threads: 99999999999999999999999 is above the maximum"},
		{CPU{}, nil, map[string]string{"threads": "-99999999999999999999999"}, "below the minimum"},
		{CPU{}, nil, map[string]string{"threads": "+4"}, "not an integer"},
		{CPU{}, nil, map[string]string{"threads": "0x10"}, "not an integer"},
		{CPU{}, nil, map[string]string{"max-prime": "100000001"}, "parameter max-prime"},
		{CPU{}, nil, map[string]string{"time": "86400"}, ""},
		{CPU{}, nil, map[string]string{"time": "86401"}, "parameter time"},
		{CPU{}, nil, map[string]string{"events": "1000000000001"}, "parameter events"},
		{Memory{}, nil, map[string]string{"threads": "2000"}, "parameter threads"},
		{Memory{}, nil, map[string]string{"time": "1000000"}, "parameter time"},
		{Memory{}, nil, map[string]string{"block-size": "1G"}, ""},
		{Memory{}, nil, map[string]string{"block-size": "2G"}, "parameter block-size: 2G is more than 1G"},
		{Memory{}, nil, map[string]string{"total-size": "1024T"}, ""},
		{Memory{}, nil, map[string]string{"total-size": "2000T"}, "parameter total-size"},
		{Memory{}, nil, map[string]string{"total-size": "9999999999T"}, "parameter total-size"},
		{FileIO{}, fileio, map[string]string{"threads": "1025"}, "parameter threads"},
		{FileIO{}, fileio, map[string]string{"file-num": "100001"}, "parameter file-num"},
		{FileIO{}, fileio, map[string]string{"fsync-freq": "1000000001"}, "parameter fsync-freq"},
		{FileIO{}, fileio, map[string]string{"time": "86401"}, "parameter time"},
		{FileIO{}, fileio, map[string]string{"file-total-size": "5T"}, "parameter file-total-size: 5T is more than 4T"},
		{FileIO{}, fileio, map[string]string{"block-size": "2G"}, "more than 1G"},
	}
	for _, tc := range tests {
		p := defaults(tc.w, tc.base)
		for k, v := range tc.set {
			p[k] = v
		}
		err := tc.w.Check(driver.Info{}, p)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %v: error %v, want %q", tc.w.Name(), tc.set, err, tc.want)
		}
	}
}
