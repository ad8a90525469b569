package startup

import (
	"math"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/workloadtest"
)

// TestStartupOnRuntimes runs the startup workload for real on every
// runtime, one cold and one warm sandbox: every phase is there, positive,
// and the phases add up to the total on the host's clock (start and ready
// to start+ready), and the single values are kept for the tails.
func TestStartupOnRuntimes(t *testing.T) {
	for _, rt := range workloadtest.Runtimes() {
		t.Run(rt, func(t *testing.T) {
			tr := workloadtest.Trial(t, Workload{}, rt, map[string]string{"starts": "1", "cold": "true", "oneshot": "true"})
			if tr.Status != result.StatusOK {
				t.Fatalf("trial %s: %s", tr.Status, tr.Error)
			}
			for _, prefix := range []string{"", "cold_"} {
				v := map[string]float64{}
				for _, p := range phases() {
					x, ok := tr.Value(prefix + p)
					if !ok || x <= 0 || math.IsInf(x, 0) {
						t.Fatalf("%s%s = %v (ok %v)", prefix, p, x, ok)
					}
					v[p] = x
				}
				sum := v["create"] + v["start_ready"] + v["exec"] + v["stop"] + v["delete"]
				if math.Abs(sum-v["total"]) > 1e-3 {
					t.Errorf("%sphases add up to %v, total %v", prefix, sum, v["total"])
				}
				if math.Abs(v["start"]+v["ready"]-v["start_ready"]) > 1e-6 {
					t.Errorf("%sstart %v + ready %v != start+ready %v", prefix, v["start"], v["ready"], v["start_ready"])
				}
			}
			p, err := workload.ParsePooled(tr.Raw[workload.PooledRaw])
			if err != nil || len(p["total"]) != 1 {
				t.Errorf("pooled values %v, %v: want one per warm sandbox", p, err)
			}
			// Run to completion: every OCI runtime can; a driver that
			// cannot says so and records no figure.
			once, okOnce := tr.Value("oneshot")
			onceTotal, _ := tr.Value("oneshot_total")
			switch note := tr.Attrs["startup.oneshot"]; {
			case note != "" && okOnce:
				t.Errorf("oneshot = %v recorded although %q", once, note)
			case note == "" && (!okOnce || once <= 0 || onceTotal < once):
				t.Errorf("oneshot = %v (ok %v), oneshot_total = %v", once, okOnce, onceTotal)
			case note != "" && (rt == "runc" || rt == "crun" || rt == "runsc"):
				t.Errorf("%s cannot run to completion: %s", rt, note)
			}
			cold, _ := tr.Value("cold_total")
			t.Logf("%s: warm total %v s, cold total %v s", rt, p["total"], cold)
		})
	}
}

func TestCheck(t *testing.T) {
	good := map[string]string{"starts": "3", "cold": "false", "exec": "/bin/true", "oneshot": "true"}
	if err := (Workload{}).Check(driver.Info{Name: "host"}, good); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"starts": "0", "cold": "maybe", "exec": " ", "oneshot": "yes"} {
		p := map[string]string{"starts": "3", "cold": "false", "exec": "/bin/true", "oneshot": "true"}
		p[k] = v
		if err := (Workload{}).Check(driver.Info{Name: "host"}, p); err == nil {
			t.Errorf("%s=%q accepted", k, v)
		}
	}
}
