package sysbench

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleRecorder collects samples for tests.
type sampleRecorder struct {
	samples map[string]float64
	attrs   map[string]string
}

func newRecorder() *sampleRecorder {
	return &sampleRecorder{samples: map[string]float64{}, attrs: map[string]string{}}
}

func (r *sampleRecorder) Sample(m string, v float64) { r.samples[m] = v }
func (r *sampleRecorder) Attr(k, v string)           { r.attrs[k] = v }
func (r *sampleRecorder) Raw(string, string)         {}

// TestParseCPUGolden parses every captured cpu report (from the host and
// from each runtime) and compares the samples with the golden file beside it.
func TestParseCPUGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/cpu-*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured cpu reports in testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			text, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rec := newRecorder()
			if err := parseCPU(string(text), rec); err != nil {
				t.Fatalf("parse: %v", err)
			}
			checkGolden(t, strings.TrimSuffix(f, ".txt")+".golden.json", rec.samples)
		})
	}
}

func checkGolden(t *testing.T, path string, got map[string]float64) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	var wantMap map[string]float64
	if err := json.Unmarshal(want, &wantMap); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range wantMap {
		keys[k] = true
	}
	for k := range keys {
		g, okg := got[k]
		w, okw := wantMap[k]
		if !okg || !okw || math.Abs(g-w) > 1e-12*math.Max(1, math.Abs(w)) {
			t.Errorf("%s: got %v (present %v), want %v (present %v)", k, g, okg, w, okw)
		}
	}
}

// TestParseCPUValues checks figures against the text of one captured report,
// converted to base units by hand.
func TestParseCPUValues(t *testing.T) {
	text := `sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)

Running the test with following options:
Number of threads: 1

Prime numbers limit: 20000

Threads started!

CPU speed:
    events per second:  1127.02

General statistics:
    total time:                          2.0006s
    total number of events:              2256

Latency (ms):
         min:                                    0.74
         avg:                                    0.88
         max:                                    7.21
         95th percentile:                        0.95
         sum:                                 1993.87

Threads fairness:
    events (avg/stddev):           2256.0000/0.00
    execution time (avg/stddev):   1.9939/0.00
`
	rec := newRecorder()
	if err := parseCPU(text, rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"events_per_sec": 1127.02,
		"total_time":     2.0006,
		"events":         2256,
		"latency_min":    0.74e-3,
		"latency_avg":    1993.87e-3 / 2256,
		"latency_max":    7.21e-3,
		"latency_p95":    0.95e-3,
	}
	for k, w := range want {
		if g := rec.samples[k]; math.Abs(g-w) > 1e-12 {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
	if len(rec.samples) != len(want) {
		t.Errorf("recorded %d samples, want %d", len(rec.samples), len(want))
	}
}

// TestParseCPUTruncated cuts a real report at every line and checks that a
// cut report is an error that records nothing — never a zero or a partial
// number that looks like a result.
func TestParseCPUTruncated(t *testing.T) {
	text, err := os.ReadFile("testdata/cpu-host.txt")
	if err != nil {
		t.Fatal(err)
	}
	full := string(text)
	end := strings.Index(full, "execution time (avg/stddev)")
	if end < 0 {
		t.Fatal("captured report lacks its last line")
	}
	for cut := 0; cut < end; cut++ {
		rec := newRecorder()
		err := parseCPU(full[:cut], rec)
		if err == nil {
			t.Fatalf("report cut at byte %d parsed without error", cut)
		}
		if len(rec.samples) != 0 {
			t.Fatalf("report cut at byte %d recorded %v", cut, rec.samples)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"empty", "", "not a sysbench report"},
		{"other tool", "fio-3.33\nREAD: bw=1MiB/s\n", "not a sysbench report"},
		{"error text", "sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)\nFATAL: invalid option\n", "no \"cpu speed/events per second\""},
		{"bad number", strings.Replace(mustRead(t, "testdata/cpu-host.txt"), "events per second:", "events per second: x", 1), "does not start with a number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := parseCPU(c.text, newRecorder())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReportKeys(t *testing.T) {
	rep, err := Parse(mustRead(t, "testdata/cpu-host.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Version != "1.0.20" {
		t.Errorf("version %q, want 1.0.20", rep.Version)
	}
	keys := rep.Keys()
	sort.Strings(keys)
	for _, k := range []string{"options/number of threads", "options/prime numbers limit", "latency (ms)/sum"} {
		if i := sort.SearchStrings(keys, k); i == len(keys) || keys[i] != k {
			t.Errorf("key %q missing from %v", k, keys)
		}
	}
}

func FuzzParseCPU(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(string(b))
		}
	}
	f.Add("sysbench 1.0\nCPU speed:\n events per second: 1e308\n")
	f.Fuzz(func(t *testing.T, text string) {
		rec := newRecorder()
		err := parseCPU(text, rec)
		if err != nil {
			if len(rec.samples) != 0 {
				t.Fatalf("error %v but recorded %v", err, rec.samples)
			}
			return
		}
		for k, v := range rec.samples {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s = %v", k, v)
			}
		}
	})
}
