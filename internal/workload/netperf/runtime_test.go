package netperf

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload/workloadtest"
)

// capture, when set, saves the raw iperf3 reports of the runtime tests
// into testdata as new captured reports for the parser tests.
var capture = flag.Bool("capture", false, "save the raw output of the runtime tests into testdata")

// TestNetOnRuntimes runs the net workload for real on every runtime with a
// sandbox network and checks what a user reads: throughput both ways and
// latencies that are positive and plausible (a round trip over a local
// link is below a second, throughput above 1 MiB/s), and the link kept
// in the trial's attributes.
func TestNetOnRuntimes(t *testing.T) {
	for _, rt := range workloadtest.Runtimes() {
		t.Run(rt, func(t *testing.T) {
			tr := workloadtest.Trial(t, Workload{}, rt, map[string]string{"time": "1", "rounds": "200", "connects": "10"})
			if tr.Status != result.StatusOK {
				t.Fatalf("trial %s: %s", tr.Status, tr.Error)
			}
			for _, m := range []string{"to_sandbox", "from_sandbox"} {
				if v, ok := tr.Value(m); !ok || v < 1<<20 || v > 1e12 {
					t.Errorf("%s = %v (ok %v), want a plausible rate in B/s", m, v, ok)
				}
			}
			for _, m := range []string{"rtt", "rtt_p99", "connect"} {
				if v, ok := tr.Value(m); !ok || v <= 0 || v > 1 {
					t.Errorf("%s = %v (ok %v), want a plausible time in seconds", m, v, ok)
				}
			}
			rtt, _ := tr.Value("rtt")
			p99, _ := tr.Value("rtt_p99")
			if p99 < rtt {
				t.Errorf("p99 round trip %v below the median %v", p99, rtt)
			}
			if tr.Attrs["net.link"] == "" {
				t.Error("no net.link attribute")
			}
			t.Logf("%s: %v; note: %s", rt, tr.Samples, tr.Attrs["net.note"])
			if *capture {
				for name, text := range tr.Raw {
					if err := os.WriteFile(filepath.Join("testdata", rt+"-"+name), []byte(text), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}
