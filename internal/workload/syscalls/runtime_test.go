package syscalls

import (
	"math"
	"testing"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload/workloadtest"
)

// TestSyscallOnRuntimes measures on every runtime: each operation's time
// per call is positive, and gVisor's getpid costs more than runc's: its
// calls go through gVisor's kernel, so a measurement that did not go
// through the sandbox would show.
func TestSyscallOnRuntimes(t *testing.T) {
	getpid := map[string]float64{}
	for _, rt := range workloadtest.Runtimes() {
		t.Run(rt, func(t *testing.T) {
			tr := workloadtest.Trial(t, Workload{}, rt, map[string]string{"calls": "2000", "rounds": "3"})
			if tr.Status != result.StatusOK {
				t.Fatalf("trial %s: %s", tr.Status, tr.Error)
			}
			for _, m := range []string{"getpid", "read", "openclose"} {
				v, ok := tr.Value(m)
				if !ok || v <= 0 || v > 0.01 {
					t.Errorf("%s = %v s per call (ok %v)", m, v, ok)
				}
			}
			getpid[rt], _ = tr.Value("getpid")
		})
	}
	if getpid["runc"] > 0 && getpid["runsc"] > 0 {
		t.Logf("getpid: runc %.3g s, runsc %.3g s (×%.1f)", getpid["runc"], getpid["runsc"], getpid["runsc"]/getpid["runc"])
		if getpid["runsc"] <= getpid["runc"] {
			t.Errorf("runsc's getpid (%v s) is not above runc's (%v s)", getpid["runsc"], getpid["runc"])
		}
	}
}

func TestRecord(t *testing.T) {
	for name, text := range map[string]string{
		"wrong calls": `{"type":"syscalls","file":"/x","calls":5,"ops":[{"op":"getpid","round_ns":[1],"median_ns":1},{"op":"read","round_ns":[1],"median_ns":1},{"op":"openclose","round_ns":[1],"median_ns":1}]}`,
		"missing op":  `{"type":"syscalls","file":"/x","calls":10,"ops":[{"op":"getpid","round_ns":[1],"median_ns":1}]}`,
		"unknown op":  `{"type":"syscalls","file":"/x","calls":10,"ops":[{"op":"fork","round_ns":[1],"median_ns":1}]}`,
	} {
		var rec recorder
		if err := record(text, 10, &rec); err == nil || len(rec.samples) > 0 {
			t.Errorf("%s: %v, %d samples", name, err, len(rec.samples))
		}
	}
	var rec recorder
	good := `{"type":"syscalls","file":"/x","calls":10,"ops":[{"op":"getpid","round_ns":[100],"median_ns":100},{"op":"read","round_ns":[200],"median_ns":200},{"op":"openclose","round_ns":[300],"median_ns":300}]}`
	if err := record(good, 10, &rec); err != nil || math.Abs(rec.samples["read"]-200e-9) > 1e-18 {
		t.Errorf("good report: %v, %v", err, rec.samples)
	}
}

type recorder struct{ samples map[string]float64 }

func (r *recorder) Sample(m string, v float64) {
	if r.samples == nil {
		r.samples = map[string]float64{}
	}
	r.samples[m] = v
}
func (r *recorder) Attr(string, string) {}
func (r *recorder) Raw(string, string)  {}
