package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/analysis/analysistest"
	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/sysbench"
)

// TestTextStorageAndResolution: the terminal table shows the filesystem
// each runtime's files were on, and a latency the tool printed as zero as
// "below half its print step", not as a zero.
func TestTextStorageAndResolution(t *testing.T) {
	var reg workload.Registry
	reg.Register(sysbench.Memory{})
	reg.Register(sysbench.FileIO{})
	run := &result.Run{ID: "r", Baseline: "host", Runtimes: []result.Runtime{{Name: "host"}, {Name: "runc"}}}
	start := time.Unix(0, 0)
	add := func(rt, wl string, params map[string]string, attrs map[string]string, samples ...result.Sample) {
		for i := 0; i < 3; i++ {
			run.Trials = append(run.Trials, result.Trial{
				Cell: result.Cell{Runtime: rt, Workload: wl, Params: params}, Index: i, Status: result.StatusOK,
				Samples: samples, Attrs: attrs, Start: start, End: start,
			})
		}
	}
	res := map[string]string{sysbench.ResolutionAttr("latency_min"): "1e-05"}
	mem := map[string]string{"block-size": "1K"}
	add("host", "memory", mem, res, result.Sample{Metric: "latency_min", Unit: "sec", Value: 0}, result.Sample{Metric: "total_time", Unit: "sec", Value: 1})
	add("runc", "memory", mem, res, result.Sample{Metric: "latency_min", Unit: "sec", Value: 2e-5}, result.Sample{Metric: "total_time", Unit: "sec", Value: 1.1})
	fio := map[string]string{"mode": "seqwr", "scratch": "rootfs"}
	add("host", "fileio", fio, map[string]string{"scratch.fs": "ext4"}, result.Sample{Metric: "write_bytes_per_sec", Unit: "B/s", Value: 1 << 20})
	add("runc", "fileio", fio, map[string]string{"scratch.fs": "overlay"}, result.Sample{Metric: "write_bytes_per_sec", Unit: "B/s", Value: 2 << 20})
	var b bytes.Buffer
	if err := Text(&b, run, &reg, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"SCRATCH FS", "ext4", "overlay", "scratch=rootfs", "<5µs", "20.00µs"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	memTable := out[strings.Index(out, "memory"):]
	memTable = memTable[:strings.Index(memTable, "\n\n")+1]
	if strings.Contains(memTable, "SCRATCH FS") {
		t.Errorf("the memory table has a scratch column:\n%s", memTable)
	}
	if strings.Contains(memTable, " 0s") {
		t.Errorf("a latency below the print step shows as zero:\n%s", memTable)
	}
}

// TestTextWarningsCounted: the terminal table is followed by one line per
// runtime counting its warnings, not by a page of them; -v lists them all.
func TestTextWarningsCounted(t *testing.T) {
	run := loadRun(t, "cpu-4runtimes")
	reg := builtin.Workloads()
	var short, long bytes.Buffer
	if err := Text(&short, run, reg, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Text(&long, run, reg, TextOptions{Verbose: true}); err != nil {
		t.Fatal(err)
	}
	notes := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "  ") {
				out = append(out, l)
			}
		}
		return out
	}
	ns, nl := notes(short.String()), notes(long.String())
	if len(nl) <= len(ns) {
		t.Fatalf("verbose lists %d notes, the short form %d", len(nl), len(ns))
	}
	for _, rt := range []string{"host", "runc", "crun", "runsc"} {
		n := 0
		for _, l := range ns {
			if strings.HasPrefix(l, "  "+rt+": ") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d summary lines for %s, want 1:\n%s", n, rt, short.String())
		}
	}
	if !strings.Contains(short.String(), "noisy on 2 metric(s) (CV up to 53.6%)") || !strings.Contains(short.String(), "-v") {
		t.Errorf("the short form does not count the noisy metrics with the worst CV, or does not point to -v:\n%s", short.String())
	}
}

// TestTextNoRatioSaysWhy: a ratio that cannot be computed (a zero in the
// baseline's resamples) is shown as "-" with the reason under the table.
func TestTextNoRatioSaysWhy(t *testing.T) {
	run := loadRun(t, "cpu-host-runc")
	zeroed := analysistest.Scaled(run, "host", "latency_min", 0)
	for _, verbose := range []bool{false, true} {
		var b bytes.Buffer
		if err := Text(&b, zeroed, builtin.Workloads(), TextOptions{Verbose: verbose}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "no ratio") {
			t.Errorf("verbose=%v: the missing ratio is not explained:\n%s", verbose, b.String())
		}
	}
}
