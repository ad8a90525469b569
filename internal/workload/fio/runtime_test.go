package fio

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload"
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
// jobs are reported as one group, with both directions. By default the
// trial keeps the file's name and digest and none of its text (not even as
// fio's output repeats it); with the store-profile grant it keeps the text.
func TestProfileOnRuntimes(t *testing.T) {
	job := filepath.Join(t.TempDir(), "mixed.fio")
	const marker = "isobench-private-marker"
	text := "; a user's job file, " + marker + "-comment\n[global]\nsize=4m\nbs=4k\nruntime=1\ntime_based\ndescription=" + marker + "-description\n\n[" + marker + "-reader]\nrw=randread\n\n[writer]\nrw=randwrite\n"
	if err := os.WriteFile(job, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, rt := range []string{"host", "runc", "runsc"} {
		for _, store := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/store=%v", rt, store), func(t *testing.T) {
				t.Parallel()
				set := map[string]string{"profile": job, "scratch": "tmpfs"}
				if store {
					set[workload.ParamStoreProfile] = "true"
				}
				tr := workloadtest.Trial(t, FIO{}, rt, set)
				requireOK(t, tr)
				if *capture && store {
					if err := os.WriteFile(filepath.Join("testdata", "profile-"+rt+".json"), []byte(tr.Raw["fio.stdout"]), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if tr.Cell.Params["job"] != JobProfile {
					t.Errorf("cell job = %q, want %q", tr.Cell.Params["job"], JobProfile)
				}
				value(t, tr, "read_iops")
				value(t, tr, "write_iops")
				if tr.Attrs["fio.profile"] != job || len(tr.Attrs["fio.profile_sha256"]) != 64 {
					t.Errorf("job file's name and digest not kept: %q, %q", tr.Attrs["fio.profile"], tr.Attrs["fio.profile_sha256"])
				}
				stored, err := json.Marshal(tr)
				if err != nil {
					t.Fatal(err)
				}
				if store {
					if tr.Raw["fio.job"] != text {
						t.Errorf("job file not kept with store-profile: raw %q", tr.Raw["fio.job"])
					}
				} else if _, ok := tr.Raw["fio.job"]; ok || strings.Contains(string(stored), marker) {
					t.Errorf("the trial keeps the job file's text:\n%s", stored)
				}
				if tr.Attrs["scratch.fs"] != "tmpfs" {
					t.Errorf("scratch.fs = %q, want tmpfs", tr.Attrs["scratch.fs"])
				}
			})
		}
	}
}

// TestProfileExecOnHost runs a job file whose exec_prerun the grant allows,
// on the host baseline: it runs, in the scratch directory.
func TestProfileExecOnHost(t *testing.T) {
	job := filepath.Join(t.TempDir(), "exec.fio")
	text := "[j]\nsize=1m\nrw=read\nexec_prerun=echo ran > prerun-ran\n"
	if err := os.WriteFile(job, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := workloadtest.Trial(t, FIO{}, "host", map[string]string{"profile": job, "scratch": "tmpfs", workload.ParamAllowExec: "true"})
	requireOK(t, tr)
	if tr.Cell.Params[workload.ParamAllowExec] != "true" {
		t.Errorf("the cell does not record the grant: %v", tr.Cell.Params)
	}
}
