package apps

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
)

func resolved(t *testing.T, w workload.Workload, set map[string]string) map[string]string {
	t.Helper()
	p, err := workload.Resolve(w, "quick", nil)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(p, set)
	return p
}

func info(network bool) driver.Info {
	i := driver.Info{Name: "x", Features: map[string]string{}}
	if network {
		i.Features[driver.FeatureNetwork] = "veth"
	}
	return i
}

// TestParamBounds: every parameter is checked, integers have upper
// bounds, and the bound itself is taken.
func TestParamBounds(t *testing.T) {
	for _, tc := range []struct {
		w    workload.Workload
		set  map[string]string
		want string
	}{
		{HTTP{}, map[string]string{"connections": "10000", "threads": "1024", "duration": "3600", "warmup": "600", "port": "65535", "ready-timeout": "3600", "workers": "64"}, ""},
		{HTTP{}, map[string]string{"connections": "10001"}, "parameter connections"},
		{HTTP{}, map[string]string{"threads": "1025", "connections": "2000"}, "parameter threads"},
		{HTTP{}, map[string]string{"threads": "4", "connections": "2"}, "at least one connection per thread"},
		{HTTP{}, map[string]string{"duration": "0"}, "parameter duration"},
		{HTTP{}, map[string]string{"duration": "99999999999999999999"}, "parameter duration"},
		{HTTP{}, map[string]string{"port": "65536"}, "parameter port"},
		{HTTP{}, map[string]string{"file": "1m"}, "parameter file"},
		{HTTP{}, map[string]string{"client": "both"}, "parameter client"},
		{HTTP{}, map[string]string{"pin": "yes"}, "parameter pin"},
		{HTTP{}, map[string]string{"workers": "65"}, "parameter workers"},
		{Redis{}, map[string]string{"requests": "100000000", "clients": "10000", "pipeline": "10000", "value-size": "16", "keyspace": "100000000"}, ""},
		{Redis{}, map[string]string{"requests": "100000001"}, "parameter requests"},
		{Redis{}, map[string]string{"pipeline": "10001"}, "parameter pipeline"},
		{Redis{}, map[string]string{"value-size": "1048577"}, "parameter value-size"},
		{Redis{}, map[string]string{"value-size": "1048576", "keyspace": "100000"}, "16 GiB"},
		{Redis{}, map[string]string{"ready-timeout": "3601"}, "parameter ready-timeout"},
		{Redis{}, map[string]string{"warmup": "-1"}, "parameter warmup"},
		{Python{}, map[string]string{"runs": "10000", "scale": "1000"}, ""},
		{Python{}, map[string]string{"runs": "10001"}, "parameter runs"},
		{Python{}, map[string]string{"scale": "0"}, "parameter scale"},
		{Python{}, map[string]string{"scale": "1x"}, "parameter scale"},
	} {
		err := tc.w.Check(info(true), resolved(t, tc.w, tc.set))
		if errors.Is(err, driver.ErrNotSupported) {
			t.Skipf("%v (the application programs are not installed)", err)
		}
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %v: error %v, want %q", tc.w.Name(), tc.set, err, tc.want)
		}
		if tc.want == "" {
			if d := workload.TrialTimeout(tc.w, resolved(t, tc.w, tc.set)); d <= 0 {
				t.Errorf("%s %v: trial timeout %v", tc.w.Name(), tc.set, d)
			}
		}
	}
}

// TestCheckNetwork: a client on the host needs a network link; a client
// inside does not.
func TestCheckNetwork(t *testing.T) {
	for _, w := range []workload.Workload{HTTP{}, Redis{}} {
		err := w.Check(info(false), resolved(t, w, nil))
		if !errors.Is(err, driver.ErrNotSupported) || !strings.Contains(err.Error(), "network") {
			t.Errorf("%s on a runtime without a network: %v, want not supported", w.Name(), err)
		}
		err = w.Check(info(false), resolved(t, w, map[string]string{"client": ClientInside}))
		if err != nil && !strings.Contains(err.Error(), "not installed") {
			t.Errorf("%s client=inside without a network: %v", w.Name(), err)
		}
	}
}

// TestNeedPrograms: a program the host lacks is a reason to skip.
func TestNeedPrograms(t *testing.T) {
	err := needPrograms("x", "isobench-no-such-program")
	if !errors.Is(err, driver.ErrNotSupported) || !strings.Contains(err.Error(), "isobench-no-such-program is not installed") {
		t.Errorf("missing program: %v", err)
	}
	if err := needPrograms("x", "sh"); err != nil {
		t.Errorf("sh: %v", err)
	}
}
