package netperf

import (
	"strings"
	"testing"
)

// TestCountBounds: time, rounds and connects have upper bounds.
func TestCountBounds(t *testing.T) {
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"time": "3600", "rounds": "10000000", "connects": "1000000"}, ""},
		{map[string]string{"time": "3601"}, "parameter time"},
		{map[string]string{"rounds": "10000001"}, "parameter rounds"},
		{map[string]string{"connects": "1000001"}, "parameter connects"},
		{map[string]string{"rounds": "99999999999999999999"}, "parameter rounds"},
	} {
		p := map[string]string{"time": "1", "rounds": "10", "connects": "1", "tool": "agent"}
		for k, v := range tc.set {
			p[k] = v
		}
		err := (Workload{}).Check(driverInfo("veth"), p)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: error %v, want %q", tc.set, err, tc.want)
		}
	}
}
