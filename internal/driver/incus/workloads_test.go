package incus

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/runner"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/sysbench"
	"github.com/isobench/isobench/internal/workload/workloadtest"
)

type trialSink struct{ trials []result.Trial }

func (s *trialSink) Trial(_ context.Context, tr result.Trial) error {
	s.trials = append(s.trials, tr)
	return nil
}

// runTrial runs one measured trial of w with the parameters of set on the
// driver, through the real runner and the real workload image.
func runTrial(t *testing.T, d driver.Driver, w workload.Workload, set map[string]string) result.Trial {
	t.Helper()
	img := workloadtest.Image(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	info, err := d.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var reg workload.Registry
	reg.Register(w)
	p, err := plan.Expand(plan.Suite{
		Runtimes: []string{d.Name()}, Workloads: []plan.WorkloadConfig{{Name: w.Name(), Set: set}},
		Profile: plan.ProfileQuick, Trials: 1, Seed: 1,
	}, &reg)
	if err != nil || len(p.Cells) != 1 {
		t.Fatalf("plan: %v (%d cells)", err, len(p.Cells))
	}
	if err := w.Check(info, p.Cells[0].Params); err != nil {
		t.Fatalf("check: %v", err)
	}
	s := &trialSink{}
	r := &runner.Runner{
		RunID: fmt.Sprintf("incuswl%d", os.Getpid()), Image: img,
		Runtimes:  map[string]runner.Runtime{d.Name(): {Driver: d, Info: info}},
		Workloads: &reg, Sink: s, Host: runner.HostOps{},
	}
	trials, err := r.Run(ctx, p)
	if err != nil || len(trials) != 1 {
		t.Fatalf("run: %v (%d trials)", err, len(trials))
	}
	tr := trials[0]
	if tr.Status != result.StatusOK {
		t.Fatalf("trial %s: %s", tr.Status, tr.Error)
	}
	return tr
}

func positive(t *testing.T, tr result.Trial, metrics ...string) {
	t.Helper()
	for _, m := range metrics {
		if v, ok := tr.Value(m); !ok || !(v > 0) {
			t.Errorf("%s = %v (present %v), want > 0", m, v, ok)
		}
	}
}

// TestWorkloads runs the study's workloads — cpu, memory and fileio with
// each scratch kind — in Incus system containers, through the real runner,
// and checks that fileio's scratch lands where the kind says: the
// container's root on the dir pool (the host's filesystem), a custom
// storage volume of the pool mounted at /scratch, a tmpfs.
func TestWorkloads(t *testing.T) {
	d, _ := newDriver(t, false)
	t.Run("cpu", func(t *testing.T) {
		tr := runTrial(t, d, sysbench.CPU{}, map[string]string{"time": "1"})
		positive(t, tr, "events_per_sec", "latency_avg")
	})
	t.Run("memory", func(t *testing.T) {
		tr := runTrial(t, d, sysbench.Memory{}, map[string]string{"total-size": "256M", "operation": "write"})
		positive(t, tr, "bytes_per_sec", "total_time")
	})
	for _, kind := range []struct{ scratch, fs, mountPoint string }{
		{driver.ScratchRootfs, "", "/"},
		{driver.ScratchVolume, "", driver.ScratchPath},
		{driver.ScratchTmpfs, "tmpfs", driver.ScratchPath},
	} {
		t.Run("fileio/"+kind.scratch, func(t *testing.T) {
			tr := runTrial(t, d, sysbench.FileIO{}, map[string]string{"mode": "seqwr", "file-num": "2", "file-total-size": "4M", "time": "1", "scratch": kind.scratch})
			positive(t, tr, "write_bytes_per_sec", "writes_per_sec")
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
