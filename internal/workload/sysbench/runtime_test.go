package sysbench

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload/workloadtest"
)

// capture, when set, saves the raw sysbench output of the runtime tests
// into testdata as new captured reports for the parser tests.
var capture = flag.Bool("capture", false, "save the raw output of the runtime tests into testdata")

func saveRaw(t *testing.T, tr result.Trial, raw, name string) {
	t.Helper()
	if !*capture {
		return
	}
	text, ok := tr.Raw[raw]
	if !ok {
		t.Fatalf("trial has no raw %q", raw)
	}
	if err := os.WriteFile(filepath.Join("testdata", name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

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
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		t.Fatalf("%s = %v", metric, v)
	}
	return v
}

// TestMemoryOnRuntimes runs the memory workload for real on every runtime
// and checks the figures a user reads: positive times and rates that agree
// with each other in their base units, and the latency resolution said.
func TestMemoryOnRuntimes(t *testing.T) {
	for _, rt := range workloadtest.Runtimes() {
		t.Run(rt, func(t *testing.T) {
			t.Parallel()
			set := map[string]string{"total-size": "256M", "operation": "write"}
			tr := workloadtest.Trial(t, Memory{}, rt, set)
			requireOK(t, tr)
			saveRaw(t, tr, "sysbench.stdout", "memory-"+rt+".txt")
			total := value(t, tr, "total_time")
			bps := value(t, tr, "bytes_per_sec")
			ops := value(t, tr, "ops_per_sec")
			bytes := value(t, tr, "bytes")
			avg := value(t, tr, "latency_avg")
			value(t, tr, "latency_min")
			if bytes != 256<<20 {
				t.Errorf("bytes = %v, want %v (the total size)", bytes, 256<<20)
			}
			// 256 MiB in total_time: the rate must match it (sysbench
			// measures the rate over its own threads' time, so allow slack).
			if r := bytes / total / bps; r < 0.5 || r > 1.5 {
				t.Errorf("bytes/total_time = %v B/s but bytes_per_sec = %v", bytes/total, bps)
			}
			if r := ops * 1024 / bps; r < 0.99 || r > 1.01 {
				t.Errorf("ops/s × 1 KiB = %v B/s but bytes_per_sec = %v", ops*1024, bps)
			}
			if avg <= 0 || avg > total {
				t.Errorf("latency_avg = %v with total time %v", avg, total)
			}
			if got := tr.Attrs[ResolutionAttr("latency_min")]; got != "1e-05" {
				t.Errorf("resolution of latency_min = %q, want 1e-05", got)
			}
			if got := tr.Attrs["memory.ended_by"]; got != "total-size" {
				t.Errorf("memory.ended_by = %q, want total-size", got)
			}
		})
	}
}

// TestFileIOOnRuntimes runs the study's three fileio modes for real on
// every runtime and checks that each records the figures of what it does,
// and none of what it does not do.
func TestFileIOOnRuntimes(t *testing.T) {
	for _, rt := range workloadtest.Runtimes() {
		for _, mode := range []string{"seqrd", "seqwr", "seqrewr"} {
			t.Run(rt+"/"+mode, func(t *testing.T) {
				t.Parallel()
				set := map[string]string{"mode": mode, "file-num": "4", "file-total-size": "16M", "time": "1"}
				tr := workloadtest.Trial(t, FileIO{}, rt, set)
				requireOK(t, tr)
				saveRaw(t, tr, "sysbench.stdout", "fileio-"+mode+"-"+rt+".txt")
				_, hasRead := tr.Value("read_bytes_per_sec")
				_, hasWrite := tr.Value("write_bytes_per_sec")
				if hasRead != modeReads(mode) || hasWrite != modeWrites(mode) {
					t.Errorf("mode %s recorded read %v, write %v", mode, hasRead, hasWrite)
				}
				if modeReads(mode) {
					bps, rps := value(t, tr, "read_bytes_per_sec"), value(t, tr, "reads_per_sec")
					// Every request is one 16 KiB block; sysbench rounds
					// both figures to two decimals.
					if r := rps * 16384 / bps; r < 0.99 || r > 1.01 {
						t.Errorf("reads/s × 16 KiB = %v but read B/s = %v", rps*16384, bps)
					}
				}
				if modeWrites(mode) {
					bps, wps := value(t, tr, "write_bytes_per_sec"), value(t, tr, "writes_per_sec")
					if r := wps * 16384 / bps; r < 0.99 || r > 1.01 {
						t.Errorf("writes/s × 16 KiB = %v but written B/s = %v", wps*16384, bps)
					}
					value(t, tr, "fsyncs_per_sec")
				}
				value(t, tr, "latency_avg")
				if tr.Attrs["scratch.fs"] == "" {
					t.Errorf("no scratch.fs attribute: %v", tr.Attrs)
				}
				if tr.Attrs["cache.dropped"] != "no" {
					t.Errorf("cache.dropped = %q, want no", tr.Attrs["cache.dropped"])
				}
				if _, ok := tr.Attrs["fileio.cleanup_error"]; ok {
					t.Errorf("cleanup failed: %s", tr.Attrs["fileio.cleanup_error"])
				}
				if !strings.Contains(tr.Raw["sysbench.prepare"], "Creating") && mode != "seqwr" {
					t.Errorf("prepare did not create the files: %q", tr.Raw["sysbench.prepare"])
				}
			})
		}
	}
}

// hostFS is the type of the filesystem holding the test's temporary
// directories (where drivers put volumes), as the host sees it.
func hostFS(t *testing.T) string {
	t.Helper()
	info, err := agent.StatFS(t.TempDir(), agent.MountInfoPath)
	if err != nil {
		t.Fatal(err)
	}
	return info.FSType
}

// TestFileIOScratchKinds checks that the scratch parameter really moves the
// files: the filesystem the sandbox reports for its scratch directory is
// the sandbox's copy-on-write root for rootfs (overlay for runc; gVisor's
// own root for runsc), the host's filesystem for volume and tmpfs for
// tmpfs; and that drop-caches=true drops the host's cache and says what it
// could not drop.
func TestFileIOScratchKinds(t *testing.T) {
	want := map[string]map[string]struct{ fs, mountPoint string }{
		"host":  {"rootfs": {hostFS(t), ""}, "volume": {hostFS(t), ""}, "tmpfs": {"tmpfs", ""}},
		"runc":  {"rootfs": {"overlay", "/"}, "volume": {hostFS(t), "/scratch"}, "tmpfs": {"tmpfs", "/scratch"}},
		"runsc": {"rootfs": {"", "/"}, "volume": {"", "/scratch"}, "tmpfs": {"tmpfs", "/scratch"}},
	}
	for _, rt := range []string{"host", "runc", "runsc"} {
		for _, kind := range []string{"rootfs", "volume", "tmpfs"} {
			t.Run(rt+"/"+kind, func(t *testing.T) {
				t.Parallel()
				set := map[string]string{"mode": "seqwr", "file-num": "2", "file-total-size": "4M", "time": "1", "scratch": kind, "drop-caches": "true"}
				tr := workloadtest.Trial(t, FileIO{}, rt, set)
				requireOK(t, tr)
				if tr.Cell.Params["scratch"] != kind {
					t.Errorf("cell scratch = %q, want %q", tr.Cell.Params["scratch"], kind)
				}
				w := want[rt][kind]
				fs := tr.Attrs["scratch.fs"]
				switch {
				case fs == "":
					t.Fatalf("no scratch.fs attribute: %v", tr.Attrs)
				case w.fs != "" && fs != w.fs:
					t.Errorf("scratch.fs = %q, want %q", fs, w.fs)
				case w.fs == "" && fs == "tmpfs":
					t.Errorf("scratch.fs = tmpfs for %s scratch", kind)
				}
				if mp := tr.Attrs["scratch.mount_point"]; w.mountPoint != "" && mp != w.mountPoint {
					t.Errorf("scratch.mount_point = %q, want %q", mp, w.mountPoint)
				}
				dropped, note := tr.Attrs["cache.dropped"], tr.Attrs["cache.note"]
				switch rt {
				case "runsc":
					// gVisor keeps its own page cache: either it was dropped
					// too, or the note says it was not.
					if dropped != "host,sandbox" && !strings.Contains(note, "sandbox kernel's own page cache was not dropped") {
						t.Errorf("cache.dropped = %q, note %q", dropped, note)
					}
				default:
					if dropped != "host" {
						t.Errorf("cache.dropped = %q, want host", dropped)
					}
				}
				if kind == "tmpfs" && !strings.Contains(note, "tmpfs") {
					t.Errorf("cache.note %q does not say tmpfs pages cannot be dropped", note)
				}
			})
		}
	}
}

// TestCPUOnRuntimes runs the cpu workload for real on every runtime (its
// reports are the parser's captured cpu-RUNTIME.txt).
func TestCPUOnRuntimes(t *testing.T) {
	for _, rt := range workloadtest.Runtimes() {
		t.Run(rt, func(t *testing.T) {
			t.Parallel()
			tr := workloadtest.Trial(t, CPU{}, rt, map[string]string{"time": "1"})
			requireOK(t, tr)
			saveRaw(t, tr, "sysbench.stdout", "cpu-"+rt+"-time1.txt")
			eps, avg := value(t, tr, "events_per_sec"), value(t, tr, "latency_avg")
			// One thread: events/s × the average latency is the share of
			// the run spent in events, at most 1 (gVisor's ptrace platform
			// spends a fifth of it between events, in trapped clock calls).
			if r := eps * avg; r < 0.3 || r > 1.01 {
				t.Errorf("events/s × avg latency = %v, want a share of the run", r)
			}
		})
	}
}
