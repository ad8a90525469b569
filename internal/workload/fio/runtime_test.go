package fio

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload/workloadtest"
)

// capture, when set, saves the raw fio output of the runtime tests into
// testdata as new captured outputs for the parser tests (then run go test
// -update to rewrite their golden files).
var capture = flag.Bool("capture", false, "save the raw output of the runtime tests into testdata")

func requireOK(t *testing.T, tr result.Trial) {
	t.Helper()
	if tr.Status != result.StatusOK {
		t.Fatalf("trial %s: %s", tr.Status, tr.Error)
	}
}

func value(t *testing.T, tr result.Trial, metric string) float64 {
	t.Helper()
	v, ok := tr.Value(metric)
	if !ok {
		t.Fatalf("trial has no %s (samples %v)", metric, tr.Samples)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		t.Fatalf("%s = %v", metric, v)
	}
	return v
}

// TestJobsOnRuntimes runs the built-in jobs for real on every runtime and
// checks the figures a user reads: the direction of the job, bandwidth =
// IOPS × block size, ordered percentiles.
func TestJobsOnRuntimes(t *testing.T) {
	for _, rt := range workloadtest.Runtimes() {
		for _, job := range []string{"seqread", "randwrite"} {
			t.Run(rt+"/"+job, func(t *testing.T) {
				t.Parallel()
				set := map[string]string{"job": job, "size": "8m", "time": "1", "bs": "4k"}
				tr := workloadtest.Trial(t, FIO{}, rt, set)
				requireOK(t, tr)
				if *capture {
					if err := os.WriteFile(filepath.Join("testdata", job+"-"+rt+".json"), []byte(tr.Raw["fio.stdout"]), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				dir, other := "read", "write"
				if job == "randwrite" {
					dir, other = "write", "read"
				}
				if _, ok := tr.Value(other + "_bw"); ok {
					t.Errorf("%s job recorded %s figures", job, other)
				}
				bw, iops := value(t, tr, dir+"_bw"), value(t, tr, dir+"_iops")
				if r := bw / (iops * 4096); r < 0.99 || r > 1.01 {
					t.Errorf("bandwidth %v B/s, but IOPS × 4 KiB = %v", bw, iops*4096)
				}
				p50, p95, p99 := value(t, tr, dir+"_clat_p50"), value(t, tr, dir+"_clat_p95"), value(t, tr, dir+"_clat_p99")
				if !(p50 <= p95 && p95 <= p99) || p99 > 10 {
					t.Errorf("percentiles p50 %v, p95 %v, p99 %v (seconds)", p50, p95, p99)
				}
				if tr.Attrs["scratch.fs"] == "" || !strings.HasPrefix(tr.Attrs["fio.version"], "fio-") {
					t.Errorf("attributes %v", tr.Attrs)
				}
				if _, ok := tr.Attrs["fio.cleanup_error"]; ok {
					t.Errorf("cleanup failed: %s", tr.Attrs["fio.cleanup_error"])
				}
			})
		}
	}
}

// TestProfileOnRuntimes runs a user's job file, copied into the sandbox
// through the agent, on the host, runc and runsc, on tmpfs scratch: its two
// jobs are reported as one group, with both directions.
func TestProfileOnRuntimes(t *testing.T) {
	job := filepath.Join(t.TempDir(), "mixed.fio")
	text := "; a user's job file\n[global]\nsize=4m\nbs=4k\nruntime=1\ntime_based\n\n[reader]\nrw=randread\n\n[writer]\nrw=randwrite\n"
	if err := os.WriteFile(job, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, rt := range []string{"host", "runc", "runsc"} {
		t.Run(rt, func(t *testing.T) {
			t.Parallel()
			tr := workloadtest.Trial(t, FIO{}, rt, map[string]string{"profile": job, "scratch": "tmpfs"})
			requireOK(t, tr)
			if *capture {
				if err := os.WriteFile(filepath.Join("testdata", "profile-"+rt+".json"), []byte(tr.Raw["fio.stdout"]), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tr.Cell.Params["job"] != JobProfile {
				t.Errorf("cell job = %q, want %q", tr.Cell.Params["job"], JobProfile)
			}
			value(t, tr, "read_iops")
			value(t, tr, "write_iops")
			if tr.Raw["fio.job"] != text || len(tr.Attrs["fio.profile_sha256"]) != 64 {
				t.Errorf("job file not kept: raw %q, sha %q", tr.Raw["fio.job"], tr.Attrs["fio.profile_sha256"])
			}
			if tr.Attrs["scratch.fs"] != "tmpfs" {
				t.Errorf("scratch.fs = %q, want tmpfs", tr.Attrs["scratch.fs"])
			}
		})
	}
}
