package incus

import (
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload/sysbench"
	"github.com/isobench/isobench/internal/workload/workloadtest"
)

// TestWorkloads runs the study's workloads — cpu, memory and fileio with
// each scratch kind — in Incus system containers, through the real runner,
// and checks that fileio's scratch lands where the kind says: the
// container's root on the dir pool (the host's filesystem), a custom
// storage volume of the pool mounted at /scratch, a tmpfs.
func TestWorkloads(t *testing.T) {
	d, _ := newDriver(t)
	t.Run("cpu", func(t *testing.T) {
		tr := workloadtest.TrialOn(t, d, sysbench.CPU{}, map[string]string{"time": "1"})
		workloadtest.Positive(t, tr, "events_per_sec", "latency_avg")
	})
	t.Run("memory", func(t *testing.T) {
		tr := workloadtest.TrialOn(t, d, sysbench.Memory{}, map[string]string{"total-size": "256M", "operation": "write"})
		workloadtest.Positive(t, tr, "bytes_per_sec", "total_time")
	})
	for _, kind := range []struct{ scratch, fs, mountPoint string }{
		{driver.ScratchRootfs, "", "/"},
		{driver.ScratchVolume, "", driver.ScratchPath},
		{driver.ScratchTmpfs, "tmpfs", driver.ScratchPath},
	} {
		t.Run("fileio/"+kind.scratch, func(t *testing.T) {
			tr := workloadtest.TrialOn(t, d, sysbench.FileIO{}, map[string]string{"mode": "seqwr", "file-num": "2", "file-total-size": "4M", "time": "1", "scratch": kind.scratch})
			workloadtest.Positive(t, tr, "write_bytes_per_sec", "writes_per_sec")
			if kind.fs != "" && tr.Attrs["scratch.fs"] != kind.fs {
				t.Errorf("scratch.fs = %q, want %q (attrs %v)", tr.Attrs["scratch.fs"], kind.fs, tr.Attrs)
			}
			if kind.fs == "" && (tr.Attrs["scratch.fs"] == "" || tr.Attrs["scratch.fs"] == "overlay" || tr.Attrs["scratch.fs"] == "tmpfs") {
				t.Errorf("%s scratch.fs = %q, want the dir pool's filesystem", kind.scratch, tr.Attrs["scratch.fs"])
			}
			if mp := tr.Attrs["scratch.mount_point"]; mp != kind.mountPoint {
				t.Errorf("scratch.mount_point = %q, want %q", mp, kind.mountPoint)
			}
		})
	}
}
