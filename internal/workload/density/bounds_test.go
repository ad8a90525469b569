package density

import (
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
)

// TestCountBounds: the sandbox counts stop at a few thousand, the
// parallel starts and the settle time have their own bounds.
func TestCountBounds(t *testing.T) {
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"n": "ramp", "max": "5000"}, ""},
		{map[string]string{"n": "ramp", "max": "5001"}, "parameter max"},
		{map[string]string{"n": "ramp", "max": "100000000"}, "parameter max"},
		{map[string]string{"n": "5000"}, ""},
		{map[string]string{"n": "5001"}, "parameter n"},
		{map[string]string{"n": "99999999999999999999"}, "parameter n"},
		{map[string]string{"n": "1", "parallel": "257"}, "parameter parallel"},
		{map[string]string{"n": "1", "settle": "2h"}, "parameter settle"},
	} {
		p := map[string]string{"n": "1", "max": "200", "parallel": "1", "settle": "1s"}
		for k, v := range tc.set {
			p[k] = v
		}
		err := (Workload{}).Check(driver.Info{}, p)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: error %v, want %q", tc.set, err, tc.want)
		}
	}
	if _, err := (Workload{}).Sweep(map[string]string{"n": "1,6000", "max": "5", "parallel": "1", "settle": "1s"}); err == nil || !strings.Contains(err.Error(), "parameter n") {
		t.Errorf("a count past the bound in a list: %v", err)
	}
}
