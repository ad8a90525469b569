package sysbench

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The memory-*.txt and fileio-MODE-*.txt reports in testdata were captured
// from real runs on host, runc, crun and runsc (go test -run OnRuntimes
// -capture): memory with 1K blocks and 256M in all; fileio with 4 files of
// 16M in all and 16K blocks.
const (
	capturedBlock = 1 << 10
	capturedTotal = 256 << 20
)

// TestParseMemoryGolden parses every captured memory report and compares
// the samples with the golden file beside it.
func TestParseMemoryGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/memory-*.txt")
	if err != nil || len(files) < 4 {
		t.Fatalf("want captured memory reports of host, runc, crun and runsc in testdata, found %v (%v)", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rec := newRecorder()
			if err := parseMemory(mustRead(t, f), capturedBlock, capturedTotal, rec); err != nil {
				t.Fatalf("parse: %v", err)
			}
			checkGolden(t, strings.TrimSuffix(f, ".txt")+".golden.json", rec.samples)
			if rec.attrs["memory.ended_by"] != "total-size" {
				t.Errorf("memory.ended_by = %q", rec.attrs["memory.ended_by"])
			}
			if rec.attrs[ResolutionAttr("latency_min")] != "1e-05" {
				t.Errorf("latency_min resolution = %q", rec.attrs[ResolutionAttr("latency_min")])
			}
		})
	}
}

// TestParseMemoryValues checks figures against the text of a captured
// report, converted to base units by hand.
func TestParseMemoryValues(t *testing.T) {
	text := mustRead(t, "testdata/memory-runsc.txt")
	for _, want := range []string{"Total operations: 262144 (318061.60 per second)", "256.00 MiB transferred (310.61 MiB/sec)", "total time:                          0.8193s", "sum:                                  411.16"} {
		if !strings.Contains(text, want) {
			t.Fatalf("captured report changed: no %q", want)
		}
	}
	rec := newRecorder()
	if err := parseMemory(text, capturedBlock, capturedTotal, rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"total_time":    0.8193,
		"events":        262144,
		"ops_per_sec":   318061.60,
		"bytes_per_sec": 310.61 * (1 << 20),
		"bytes":         256 << 20,
		"latency_avg":   411.16e-3 / 262144,
		"latency_min":   0,
		"latency_max":   4.21e-3,
		"latency_p95":   0,
	}
	for k, w := range want {
		if g, ok := rec.samples[k]; !ok || math.Abs(g-w) > 1e-9*math.Max(1, w) {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
		}
	}
	if len(rec.samples) != len(want) {
		t.Errorf("recorded %d samples, want %d: %v", len(rec.samples), len(want), rec.samples)
	}
}

// TestParseMemoryTimeLimited: a run cut by --time says so.
func TestParseMemoryTimeLimited(t *testing.T) {
	rec := newRecorder()
	// The captured run did 256 MiB; had 512 MiB been asked, time ended it.
	if err := parseMemory(mustRead(t, "testdata/memory-host.txt"), capturedBlock, 2*capturedTotal, rec); err != nil {
		t.Fatal(err)
	}
	if rec.attrs["memory.ended_by"] != "time" {
		t.Errorf("memory.ended_by = %q, want time", rec.attrs["memory.ended_by"])
	}
}

// TestParseFileIOGolden parses every captured fileio report with its mode
// and compares the samples with the golden file beside it.
func TestParseFileIOGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/fileio-*.txt")
	if err != nil || len(files) < 12 {
		t.Fatalf("want captured fileio reports of three modes on four runtimes, found %v (%v)", files, err)
	}
	for _, f := range files {
		mode := strings.Split(filepath.Base(f), "-")[1]
		t.Run(filepath.Base(f), func(t *testing.T) {
			rec := newRecorder()
			if err := parseFileIO(mustRead(t, f), mode, rec); err != nil {
				t.Fatalf("parse: %v", err)
			}
			checkGolden(t, strings.TrimSuffix(f, ".txt")+".golden.json", rec.samples)
			_, reads := rec.samples["read_bytes_per_sec"]
			_, writes := rec.samples["write_bytes_per_sec"]
			if reads != modeReads(mode) || writes != modeWrites(mode) {
				t.Errorf("mode %s: read figures %v, write figures %v", mode, reads, writes)
			}
		})
	}
}

// TestParseFileIOValues checks a captured rewrite report by hand.
func TestParseFileIOValues(t *testing.T) {
	text := mustRead(t, "testdata/fileio-seqrewr-host.txt")
	rep, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	// Read the figures the way a person would, from the text.
	num := func(key string) float64 {
		v, err := rep.Float(key)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	rec := newRecorder()
	if err := parseFileIO(text, "seqrewr", rec); err != nil {
		t.Fatal(err)
	}
	events := num("general statistics/total number of events")
	want := map[string]float64{
		"writes_per_sec":      num("file operations/writes/s"),
		"fsyncs_per_sec":      num("file operations/fsyncs/s"),
		"write_bytes_per_sec": num("throughput/written, mib/s") * 1048576,
		"total_time":          num("general statistics/total time"),
		"events":              events,
		"latency_avg":         num("latency (ms)/sum") / 1000 / events,
		"latency_min":         num("latency (ms)/min") / 1000,
		"latency_max":         num("latency (ms)/max") / 1000,
		"latency_p95":         num("latency (ms)/95th percentile") / 1000,
	}
	for k, w := range want {
		if g, ok := rec.samples[k]; !ok || math.Abs(g-w) > 1e-12*math.Max(1, w) {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
		}
	}
	if len(rec.samples) != len(want) {
		t.Errorf("recorded %v, want exactly %d samples", rec.samples, len(want))
	}
	if want["writes_per_sec"] <= 0 || want["write_bytes_per_sec"] <= 0 {
		t.Fatalf("captured rewrite report wrote nothing")
	}
}

// TestParseTruncated cuts real memory and fileio reports at every byte
// before their last line: each cut is an error that records nothing.
func TestParseTruncated(t *testing.T) {
	cases := []struct {
		file  string
		parse func(string, *sampleRecorder) error
	}{
		{"testdata/memory-runc.txt", func(s string, r *sampleRecorder) error { return parseMemory(s, capturedBlock, capturedTotal, r) }},
		{"testdata/fileio-seqrd-runsc.txt", func(s string, r *sampleRecorder) error { return parseFileIO(s, "seqrd", r) }},
		{"testdata/fileio-seqwr-crun.txt", func(s string, r *sampleRecorder) error { return parseFileIO(s, "seqwr", r) }},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			full := mustRead(t, c.file)
			end := strings.Index(full, "execution time (avg/stddev)")
			if end < 0 {
				t.Fatal("captured report lacks its last line")
			}
			for cut := 0; cut < end; cut++ {
				rec := newRecorder()
				if err := c.parse(full[:cut], rec); err == nil {
					t.Fatalf("report cut at byte %d parsed without error", cut)
				}
				if len(rec.samples) != 0 || len(rec.attrs) != 0 {
					t.Fatalf("report cut at byte %d recorded %v %v", cut, rec.samples, rec.attrs)
				}
			}
		})
	}
}

func TestParseMemoryFileIOErrors(t *testing.T) {
	memory := mustRead(t, "testdata/memory-host.txt")
	seqrd := mustRead(t, "testdata/fileio-seqrd-host.txt")
	cases := []struct {
		name  string
		parse func() error
		want  string
	}{
		{"memory fatal", func() error {
			return parseMemory("sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)\n\nFATAL: Invalid value for memory-block-size: 1Q\n", 1, 1, newRecorder())
		}, "sysbench said: FATAL: Invalid value for memory-block-size: 1Q"},
		{"memory from cpu", func() error { return parseMemory(mustRead(t, "testdata/cpu-host.txt"), 1, 1, newRecorder()) }, `no "results/total operations"`},
		{"memory no rate", func() error {
			return parseMemory(strings.Replace(memory, " per second)", ")", 1), capturedBlock, capturedTotal, newRecorder())
		}, `has no "(N per second)"`},
		{"fileio as other mode", func() error { return parseFileIO(seqrd, "seqwr", newRecorder()) }, "not a report of mode seqwr"},
		{"fileio unknown mode", func() error { return parseFileIO(seqrd, "fast", newRecorder()) }, `unknown mode "fast"`},
		{"fileio read nothing", func() error {
			return parseFileIO(regexpReplace(seqrd, "reads/s:", "0.00"), "seqrd", newRecorder())
		}, "0 reads/s: nothing was read"},
		{"fileio no throughput", func() error {
			return parseFileIO(strings.Replace(seqrd, "Throughput:", "Speed:", 1), "seqrd", newRecorder())
		}, `no "throughput/read, mib/s"`},
		{"fileio negative", func() error {
			return parseFileIO(regexpReplace(seqrd, "fsyncs/s:", "-1.00"), "seqrd", newRecorder())
		}, "is negative"},
		{"fileio fatal", func() error {
			return parseFileIO("sysbench 1.0.20\nDoing sequential read test\nFATAL: Cannot open file 'test_file.0' errno = 2 (No such file or directory)\n", "seqrd", newRecorder())
		}, "sysbench said: FATAL: Cannot open file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.parse()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// regexpReplace replaces the value after key on its line.
func regexpReplace(text, key, value string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), key) {
			lines[i] = l[:strings.Index(l, key)+len(key)] + " " + value
		}
	}
	return strings.Join(lines, "\n")
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"1K", 1024, false}, {"16384", 16384, false}, {"100G", 100 << 30, false}, {"2g", 2 << 30, false},
		{"64MiB", 64 << 20, false}, {"1T", 1 << 40, false}, {"0", 0, false},
		{"", 0, true}, {"K", 0, true}, {"1Q", 0, true}, {"-1K", 0, true}, {"1.5G", 0, true},
		{"99999999999T", 0, true},
	}
	for _, tc := range tests {
		got, err := parseSize(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseMemory(f *testing.F) {
	files, _ := filepath.Glob("testdata/memory-*.txt")
	for _, p := range files {
		f.Add(mustReadF(p))
	}
	f.Fuzz(func(t *testing.T, text string) {
		rec := newRecorder()
		if err := parseMemory(text, capturedBlock, capturedTotal, rec); err != nil {
			if len(rec.samples) != 0 {
				t.Fatalf("error %v but recorded %v", err, rec.samples)
			}
			return
		}
		checkFinite(t, rec)
	})
}

func FuzzParseFileIO(f *testing.F) {
	files, _ := filepath.Glob("testdata/fileio-*.txt")
	for _, p := range files {
		f.Add(mustReadF(p), strings.Split(filepath.Base(p), "-")[1])
	}
	f.Fuzz(func(t *testing.T, text, mode string) {
		rec := newRecorder()
		if err := parseFileIO(text, mode, rec); err != nil {
			if len(rec.samples) != 0 {
				t.Fatalf("error %v but recorded %v", err, rec.samples)
			}
			return
		}
		checkFinite(t, rec)
		if modeReads(mode) && rec.samples["reads_per_sec"] <= 0 || modeWrites(mode) && rec.samples["writes_per_sec"] <= 0 {
			t.Fatalf("mode %s recorded %v", mode, rec.samples)
		}
	})
}

func checkFinite(t *testing.T, rec *sampleRecorder) {
	t.Helper()
	for k, v := range rec.samples {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%s = %v", k, v)
		}
	}
}

func mustReadF(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}
