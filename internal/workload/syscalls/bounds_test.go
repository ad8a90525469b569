package syscalls

import (
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
)

// TestCountBounds: calls and rounds have upper bounds.
func TestCountBounds(t *testing.T) {
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"calls": "100000000"}, ""},
		{map[string]string{"calls": "100000001"}, "parameter calls"},
		{map[string]string{"calls": "99999999999999999999999"}, "parameter calls"},
		{map[string]string{"rounds": "101"}, "parameter rounds"},
		{map[string]string{"rounds": "0"}, "parameter rounds"},
	} {
		p := map[string]string{"calls": "1000", "rounds": "3"}
		for k, v := range tc.set {
			p[k] = v
		}
		err := (Workload{}).Check(driver.Info{}, p)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: error %v, want %q", tc.set, err, tc.want)
		}
	}
}
