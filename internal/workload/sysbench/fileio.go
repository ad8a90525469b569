package sysbench

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/storage"
)

// FileIO is sysbench's fileio test, the study's storage benchmark (figures
// 7 and 8: sequential read, write and rewrite MiB/s). Each trial runs, in
// one fresh sandbox and in the scratch directory: fsinfo (which filesystem
// the files are on), sysbench fileio prepare, the page-cache step
// (storage.SettleCache), the timed sysbench fileio run, and cleanup. Only
// the run is measured.
//
// The mode parameter takes a list: each mode is a cell of its own (its own
// sandboxes, trials and table), so the default suite gives read, write and
// rewrite for every runtime.
type FileIO struct{}

var (
	_ workload.Workload       = FileIO{}
	_ workload.TrialTimeouter = FileIO{}
)

// fileModes are the fileio test modes, as sysbench names them.
func fileModes() []string { return []string{"seqrd", "seqwr", "seqrewr", "rndrd", "rndwr", "rndrw"} }

// Name implements workload.Workload.
func (FileIO) Name() string { return "fileio" }

// Doc implements workload.Workload.
func (FileIO) Doc() string {
	return "sysbench fileio: file reads and writes in the scratch directory; MiB/s, operations/s, latency"
}

// Params implements workload.Workload.
func (FileIO) Params() []workload.Param {
	return append([]workload.Param{
		{Name: "mode", Default: "seqrd,seqwr,seqrewr", Doc: "test modes, comma-separated, one cell each: seqrd, seqwr (sequential write of new files), seqrewr (sequential rewrite), rndrd, rndwr, rndrw (the default gives the study's read, write and rewrite)"},
		{Name: "file-num", Default: "128", Doc: "number of files (sysbench's default 128)"},
		{Name: "file-total-size", Default: "2G", Doc: "total size of the files (sysbench's default 2G)", Profiles: map[string]string{"quick": "64M"}},
		{Name: "block-size", Default: "16K", Doc: "size of each I/O request (sysbench's default 16K)"},
		{Name: "io-mode", Default: "sync", Doc: "sync, async (Linux AIO) or mmap"},
		{Name: "fsync-freq", Default: "100", Doc: "fsync() after this many requests; 0: none (sysbench's default 100)"},
		{Name: "o-direct", Default: "false", Doc: "true: open the files with O_DIRECT, bypassing the page cache (not every filesystem allows it, e.g. tmpfs before Linux 6.6)"},
		{Name: "threads", Default: "1", Doc: "worker threads"},
		{Name: "time", Default: "10", Doc: "seconds of the timed run (sysbench's default 10)", Profiles: map[string]string{"quick": "2"}},
	}, storage.Params()...)
}

// Metrics implements workload.Workload. Read figures are recorded for the
// modes that read, write figures for those that write.
func (FileIO) Metrics() []workload.Metric {
	return []workload.Metric{
		{Name: "read_bytes_per_sec", Unit: workload.UnitBytesPerSec, Label: "read", HigherIsBetter: true, Headline: true},
		{Name: "write_bytes_per_sec", Unit: workload.UnitBytesPerSec, Label: "written", HigherIsBetter: true, Headline: true},
		{Name: "latency_avg", Unit: workload.UnitSeconds, Label: "avg latency", Headline: true},
		{Name: "reads_per_sec", Unit: workload.UnitOpsPerSec, Label: "reads/s", HigherIsBetter: true},
		{Name: "writes_per_sec", Unit: workload.UnitOpsPerSec, Label: "writes/s", HigherIsBetter: true},
		{Name: "fsyncs_per_sec", Unit: workload.UnitOpsPerSec, Label: "fsyncs/s", HigherIsBetter: true},
		{Name: "latency_min", Unit: workload.UnitSeconds, Label: "min latency"},
		{Name: "latency_max", Unit: workload.UnitSeconds, Label: "max latency"},
		{Name: "latency_p95", Unit: workload.UnitSeconds, Label: "p95 latency"},
		{Name: "total_time", Unit: workload.UnitSeconds, Label: "total time"},
		{Name: "events", Unit: workload.UnitCount, Label: "requests", HigherIsBetter: true},
	}
}

// modeList splits the mode parameter.
func modeList(v string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, m := range strings.Split(v, ",") {
		m = strings.TrimSpace(m)
		if !contains(fileModes(), m) {
			return nil, fmt.Errorf("parameter mode: %q is not one of %s", m, strings.Join(fileModes(), ", "))
		}
		if seen[m] {
			return nil, fmt.Errorf("parameter mode: %q is listed twice", m)
		}
		seen[m] = true
		out = append(out, m)
	}
	return out, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Sweep gives one parameter set per listed mode (see plan.Sweeper).
func (FileIO) Sweep(p map[string]string) ([]map[string]string, error) {
	modes, err := modeList(p["mode"])
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, m := range modes {
		q := maps.Clone(p)
		q["mode"] = m
		out = append(out, q)
	}
	return out, nil
}

// Check implements workload.Workload. It takes the parameters of one cell
// (one mode).
func (FileIO) Check(_ driver.Info, p map[string]string) error {
	if err := checkChoice(p, "mode", fileModes()...); err != nil {
		if strings.Contains(p["mode"], ",") {
			return fmt.Errorf("parameter mode: %q lists several modes; a cell takes one (the plan makes one cell per mode)", p["mode"])
		}
		return err
	}
	if err := checkInts(p, map[string]intRange{
		"file-num":   {1, maxFileNum},
		"fsync-freq": {0, maxFsyncFreq},
		"threads":    {1, workload.MaxThreads},
		"time":       {1, workload.MaxSeconds},
	}); err != nil {
		return err
	}
	if err := checkSizes(p, map[string]intRange{"file-total-size": {1, maxFileTotal}, "block-size": {1, maxBlockSize}}); err != nil {
		return err
	}
	if err := checkChoice(p, "io-mode", "sync", "async", "mmap"); err != nil {
		return err
	}
	direct, err := storage.Bool(p, "o-direct")
	if err != nil {
		return err
	}
	if err := storage.Check(p); err != nil {
		return err
	}
	n, _ := strconv.Atoi(p["file-num"])
	total, _ := parseSize(p["file-total-size"])
	block, _ := parseSize(p["block-size"])
	if total/int64(n) < block {
		return fmt.Errorf("parameters file-total-size, file-num, block-size: each file (%d bytes) is smaller than one block (%d bytes)", total/int64(n), block)
	}
	if direct && block%512 != 0 {
		return fmt.Errorf("parameter block-size: O_DIRECT needs a multiple of 512 bytes, got %d", block)
	}
	return nil
}

// prepareTimeout allows prepare (or cleanup) to write size bytes at a
// pessimistic 5 MiB/s, plus two minutes.
func prepareTimeout(size int64) time.Duration {
	return 2*time.Minute + time.Duration(size/(5<<20))*time.Second
}

// TrialTimeout implements workload.TrialTimeouter: the sandbox's start,
// prepare and cleanup (bounded by the size), the page-cache step and the
// timed run.
func (FileIO) TrialTimeout(p map[string]string) time.Duration {
	secs, err := strconv.Atoi(p["time"])
	if err != nil || secs < 0 {
		secs = 0
	}
	size, err := parseSize(p["file-total-size"])
	if err != nil {
		size = 0
	}
	return startMargin + 2*prepareTimeout(size) + 3*time.Minute + runTimeout(secs)
}

// args are the options of every sysbench fileio command of the trial.
func (FileIO) args(p map[string]string) ([]string, error) {
	total, err := parseSize(p["file-total-size"])
	if err != nil {
		return nil, fmt.Errorf("parameter file-total-size: %w", err)
	}
	block, err := parseSize(p["block-size"])
	if err != nil {
		return nil, fmt.Errorf("parameter block-size: %w", err)
	}
	direct, err := storage.Bool(p, "o-direct")
	if err != nil {
		return nil, err
	}
	a := []string{"sysbench", "fileio",
		"--file-num=" + p["file-num"],
		"--file-total-size=" + strconv.FormatInt(total, 10),
		"--file-block-size=" + strconv.FormatInt(block, 10),
		"--file-test-mode=" + p["mode"],
		"--file-io-mode=" + p["io-mode"],
		"--file-fsync-freq=" + p["fsync-freq"],
		"--threads=" + p["threads"],
		"--time=" + p["time"],
		"--events=0",
	}
	if direct {
		a = append(a, "--file-extra-flags=direct")
	}
	return a, nil
}

// Run implements workload.Workload.
func (f FileIO) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) error {
	p := t.Params
	args, err := f.args(p)
	if err != nil {
		return err
	}
	drop, err := storage.Bool(p, storage.ParamDropCaches)
	if err != nil {
		return err
	}
	size, _ := parseSize(p["file-total-size"])
	secs, _ := strconv.Atoi(p["time"])
	fs, err := storage.Describe(ctx, t, rec)
	if err != nil {
		return err
	}
	cmd := func(step string) []string { return append(append([]string(nil), args...), step) }

	prep, err := t.Run(ctx, agent.Request{Argv: cmd("prepare"), Dir: t.Scratch, Timeout: prepareTimeout(size)})
	if err != nil {
		return fmt.Errorf("sysbench fileio prepare: %w", err)
	}
	rec.Raw("sysbench.prepare", prep.Stdout)
	if err := prep.Err(); err != nil {
		return fmt.Errorf("sysbench fileio prepare on %s (%s): %w%s", fs.FSType, t.ScratchKind, err, said(prep.Stdout))
	}
	rec.Attr("fileio.prepare_seconds", storage.FormatSeconds(prep.Wall()))

	if err := storage.SettleCache(ctx, t, rec, drop); err != nil {
		return err
	}
	out, err := run(ctx, t, rec, "sysbench.stdout", agent.Request{Argv: cmd("run"), Dir: t.Scratch, Timeout: runTimeout(secs)})
	if err != nil {
		return fmt.Errorf("sysbench fileio %s on %s (%s): %w", p["mode"], fs.FSType, t.ScratchKind, err)
	}
	if err := parseFileIO(out, p["mode"], rec); err != nil {
		return err
	}
	// Cleanup is outside the measurement: its failure is said, not fatal,
	// and the sandbox's scratch goes with the sandbox anyway.
	clean, err := t.Run(ctx, agent.Request{Argv: cmd("cleanup"), Dir: t.Scratch, Timeout: prepareTimeout(0)})
	if err == nil {
		err = clean.Err()
	}
	if err != nil {
		rec.Attr("fileio.cleanup_error", err.Error())
	}
	return nil
}

// said returns sysbench's error lines of out, as a suffix for an error.
func said(out string) string {
	if f := fatalLines(out); f != "" {
		return "; sysbench said: " + f
	}
	return ""
}

// modeReads and modeWrites say which figures a mode produces.
func modeReads(mode string) bool  { return mode == "seqrd" || mode == "rndrd" || mode == "rndrw" }
func modeWrites(mode string) bool { return mode != "seqrd" && mode != "rndrd" }

// parseFileIO records the figures of a sysbench fileio report of the given
// mode: the read figures if the mode reads, the write figures (and fsyncs)
// if it writes. A mode that should have read or written and did not is an
// error, not a zero. Nothing is recorded unless every figure is there.
func parseFileIO(text, mode string, rec workload.Recorder) error {
	if !contains(fileModes(), mode) {
		return fmt.Errorf("sysbench fileio: unknown mode %q", mode)
	}
	rep, err := Parse(text)
	if err != nil {
		return err
	}
	if want := "Doing " + modeTitle(mode) + " test"; !rep.HasLine(want) {
		return fmt.Errorf("sysbench fileio report lacks the line %q: it is not a report of mode %s", want, mode)
	}
	var b buffered
	get := func(key string) (float64, error) {
		v, err := rep.Float(key)
		if err == nil && v < 0 {
			err = fmt.Errorf("sysbench report %q: %v is negative", key, v)
		}
		return v, err
	}
	var vals [5]float64
	for i, key := range []string{
		"file operations/reads/s",
		"file operations/writes/s",
		"file operations/fsyncs/s",
		"throughput/read, mib/s",
		"throughput/written, mib/s",
	} {
		if vals[i], err = get(key); err != nil {
			return err
		}
	}
	readsPS, writesPS, fsyncsPS, readMiB, writtenMiB := vals[0], vals[1], vals[2], vals[3], vals[4]
	if err := recordGeneral(rep, &b); err != nil {
		return err
	}
	if modeReads(mode) {
		if readsPS == 0 {
			return fmt.Errorf("sysbench fileio %s reported 0 reads/s: nothing was read, no figure to record", mode)
		}
		b.Sample("reads_per_sec", readsPS)
		b.Sample("read_bytes_per_sec", readMiB*(1<<20))
	}
	if modeWrites(mode) {
		if writesPS == 0 {
			return fmt.Errorf("sysbench fileio %s reported 0 writes/s: nothing was written, no figure to record", mode)
		}
		b.Sample("writes_per_sec", writesPS)
		b.Sample("write_bytes_per_sec", writtenMiB*(1<<20))
		b.Sample("fsyncs_per_sec", fsyncsPS)
	}
	b.flush(rec)
	return nil
}

// modeTitle is how sysbench's report names a mode ("Doing sequential read
// test").
func modeTitle(mode string) string {
	return map[string]string{
		"seqrd": "sequential read", "seqwr": "sequential write (creation)", "seqrewr": "sequential rewrite",
		"rndrd": "random read", "rndwr": "random write", "rndrw": "random r/w",
	}[mode]
}
