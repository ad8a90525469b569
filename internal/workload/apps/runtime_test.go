package apps

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/workloadtest"
)

// capture, when set, saves the raw output of the runtime tests into
// testdata as new captured output for the parser tests.
var capture = flag.Bool("capture", false, "save the raw output of the runtime tests into testdata")

// appRuntimes are the runtimes the application tests run on: the host
// baseline, runc and gVisor (crun is left out to keep CI short).
var appRuntimes = []string{"host", "runc", "runsc"}

func save(t *testing.T, tr result.Trial, raw, name string) {
	t.Helper()
	if !*capture {
		return
	}
	if err := os.WriteFile(filepath.Join("testdata", name), []byte(tr.Raw[raw]), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ok(t *testing.T, tr result.Trial) {
	t.Helper()
	if tr.Status != result.StatusOK {
		t.Fatalf("trial %s: %s", tr.Status, tr.Error)
	}
}

// TestAppsOnRuntimes runs the three workloads for real, with the real
// programs, briefly, and checks what a user reads: plausible figures, the
// raw output kept, the pinning and the script's digest recorded.
func TestAppsOnRuntimes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real servers")
	}
	for _, rt := range appRuntimes {
		t.Run(rt, func(t *testing.T) {
			clients := []string{ClientHost, ClientInside}
			if rt == "runsc" {
				// gVisor is slow to exec into: its inside variants
				// double its time, for no more code covered.
				clients = clients[:1]
			}
			for _, client := range clients {
				t.Run("http/"+client, func(t *testing.T) {
					tr := workloadtest.Trial(t, HTTP{}, rt, map[string]string{"client": client, "duration": "1", "warmup": "1", "connections": "8"})
					ok(t, tr)
					save(t, tr, "wrk.txt", "wrk-"+rt+"-"+client+".txt")
					workloadtest.Positive(t, tr, "requests_per_sec", "latency_p50", "latency_p99", "transfer_per_sec")
					rps, _ := tr.Value("requests_per_sec")
					bps, _ := tr.Value("transfer_per_sec")
					// Each response carries the 1 KiB file and its headers.
					if per := bps / rps; per < 1024 || per > 2048 {
						t.Errorf("%v bytes a response, want 1 KiB and headers", per)
					}
					if tr.Attrs["pin.client"] == "" || tr.Attrs["pin.server"] == "" {
						t.Errorf("pinning not recorded: %v", tr.Attrs)
					}
					if !strings.Contains(tr.Raw["nginx.log"], "exit") {
						t.Errorf("nginx's log does not say it exited: %q", tr.Raw["nginx.log"])
					}
				})
				t.Run("redis/"+client, func(t *testing.T) {
					tr := workloadtest.Trial(t, Redis{}, rt, map[string]string{"client": client, "requests": "5000", "warmup": "1000", "clients": "8"})
					ok(t, tr)
					save(t, tr, "redis-benchmark.csv", "redis-benchmark-"+rt+"-"+client+".csv")
					workloadtest.Positive(t, tr, "get_ops", "set_ops", "get_p50", "get_p99", "set_p50", "set_p99")
					if !strings.Contains(tr.Raw["redis-server.log"], "Ready to accept connections") {
						t.Errorf("redis-server's log: %q", tr.Raw["redis-server.log"])
					}
				})
			}
			t.Run("python", func(t *testing.T) {
				tr := workloadtest.Trial(t, Python{}, rt, map[string]string{"runs": "3", "scale": "1"})
				ok(t, tr)
				save(t, tr, "compute.jsonl", "compute-"+rt+".jsonl")
				workloadtest.Positive(t, tr, append([]string{"startup", "startup_imports"}, Kernels...)...)
				s, _ := tr.Value("startup")
				si, _ := tr.Value("startup_imports")
				if s > 5 || si < s/2 {
					t.Errorf("start-up %v s, with imports %v s", s, si)
				}
				if tr.Attrs["python.script_sha256"] != ComputeDigest() {
					t.Errorf("script digest %q", tr.Attrs["python.script_sha256"])
				}
				if tr.Attrs["python.check.nbody"] != "-0.167356827" {
					t.Errorf("nbody check %q: the kernel computed something else", tr.Attrs["python.check.nbody"])
				}
				p, err := workload.ParsePooled(tr.Raw[workload.PooledRaw])
				if err != nil || len(p["startup"]) != 3 {
					t.Errorf("pooled start-ups %v, %v", p, err)
				}
			})
		})
	}
}
