package apps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readAll returns the captured outputs in testdata matching glob.
func readAll(t testing.TB, glob string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured output %s in testdata: %v", glob, err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(b)
	}
	return out
}

// TestParseWrk reads wrk 4.1 reports captured on this kind of host (on
// the loopback, and of the http workload's trials on each runtime, saved
// with go test -run TestAppsOnRuntimes -args -capture).
func TestParseWrk(t *testing.T) {
	for name, text := range readAll(t, "wrk-*.txt") {
		t.Run(name, func(t *testing.T) {
			r, err := ParseWrk(text)
			if err != nil {
				t.Fatal(err)
			}
			if r.RequestsPerSec < 10 || r.TransferPerSec < 1024 || r.Requests < 10 || r.Seconds < 0.5 {
				t.Errorf("implausible: %+v", r)
			}
			if p50, p99 := r.Percentiles[50], r.Percentiles[99]; p50 <= 0 || p99 < p50 || p99 > 60 {
				t.Errorf("latencies p50 %v p99 %v", p50, p99)
			}
			// requests/duration and Requests/sec agree (wrk's own rounding).
			if q := float64(r.Requests) / r.Seconds / r.RequestsPerSec; q < 0.95 || q > 1.05 {
				t.Errorf("%d requests in %v s but %v/s", r.Requests, r.Seconds, r.RequestsPerSec)
			}
			if got := r.Non2xx > 0; got != strings.Contains(name, "404") {
				t.Errorf("non-2xx %d", r.Non2xx)
			}
		})
	}
	r, err := ParseWrk(readAll(t, "wrk-4.1-loopback-1k.txt")["wrk-4.1-loopback-1k.txt"])
	if err != nil {
		t.Fatal(err)
	}
	// By hand from the report: 653.00us, 8.88ms, 13.76MB, 11286.20.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"p50", r.Percentiles[50], 653e-6}, {"p99", r.Percentiles[99], 8.88e-3},
		{"transfer", r.TransferPerSec, 13.76 * 1024 * 1024}, {"rps", r.RequestsPerSec, 11286.20},
		{"avg", r.LatencyAvg, 1.26e-3}, {"seconds", r.Seconds, 1.11},
	} {
		if d := c.got/c.want - 1; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	good := readAll(t, "wrk-4.1-loopback-1k.txt")["wrk-4.1-loopback-1k.txt"]
	for name, text := range map[string]string{
		"empty":          "",
		"no closing":     good[:strings.Index(good, "Requests/sec")],
		"no latency":     strings.Replace(good, "     99%    8.88ms\n", "", 1),
		"bad unit":       strings.Replace(good, "13.76MB", "13.76XB", 1),
		"bad time":       strings.Replace(good, "653.00us", "653.00", 1),
		"negative":       strings.Replace(good, "11286.20", "-11286.20", 1),
		"socket garbage": strings.Replace(good, "Requests/sec", "  Socket errors: connect x, read 0\nRequests/sec", 1),
		"p99 below p50":  strings.Replace(good, "8.88ms", "8.88us", 1),
		"no requests":    strings.Replace(good, "12529 requests", "0 requests", 1),
	} {
		if _, err := ParseWrk(text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	withErrors := strings.Replace(good, "Requests/sec", "  Socket errors: connect 1, read 2, write 3, timeout 4\nRequests/sec", 1)
	if r, err := ParseWrk(withErrors); err != nil || r.ConnectErr+r.ReadErr+r.WriteErr+r.Timeout != 10 {
		t.Errorf("socket errors: %+v, %v", r, err)
	}
}

// FuzzParseWrk: no input panics; what is accepted has positive figures.
func FuzzParseWrk(f *testing.F) {
	for _, text := range readAll(f, "wrk-*.txt") {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseWrk(s)
		if err != nil {
			return
		}
		if r.RequestsPerSec <= 0 || r.Requests <= 0 || r.Seconds <= 0 || r.Percentiles[99] < r.Percentiles[50] {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// TestParseRedisCSV reads redis-benchmark 7.0 CSV reports captured on
// this kind of host.
func TestParseRedisCSV(t *testing.T) {
	for name, text := range readAll(t, "redis-benchmark-*.csv") {
		t.Run(name, func(t *testing.T) {
			tests, err := ParseRedisCSV(text)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"SET", "GET"} {
				r, ok := tests[n]
				if !ok {
					t.Fatalf("no %s test", n)
				}
				if r.OpsPerSec < 100 || r.P50 <= 0 || r.P99 < r.P50 || r.P99 > 10 {
					t.Errorf("%s: implausible %+v", n, r)
				}
			}
		})
	}
	good := readAll(t, "redis-benchmark-7.0-loopback.csv")["redis-benchmark-7.0-loopback.csv"]
	tests, err := ParseRedisCSV(good)
	if err != nil {
		t.Fatal(err)
	}
	// By hand: "GET","8654.26","0.769","0.048","0.303","2.871","7.127","57.759"
	if g := tests["GET"]; !near(g.OpsPerSec, 8654.26) || !near(g.P50, 0.303e-3) || !near(g.P99, 7.127e-3) || !near(g.Max, 57.759e-3) {
		t.Errorf("GET = %+v", g)
	}
	if _, err := ParseRedisCSV("WARNING: something\n" + good); err != nil {
		t.Errorf("lines before the header: %v", err)
	}
	for name, text := range map[string]string{
		"empty":          "",
		"header only":    strings.SplitN(good, "\n", 2)[0] + "\n",
		"missing column": strings.Replace(good, `"p99_latency_ms",`, "", 1),
		"not a number":   strings.Replace(good, `"8654.26"`, `"fast"`, 1),
		"zero rate":      strings.Replace(good, `"8654.26"`, `"0"`, 1),
		"duplicate":      good + `"GET","1","1","1","1","1","1","1"` + "\n",
		"short line":     good + `"INCR","1"` + "\n",
		"disordered":     strings.Replace(good, `"7.127"`, `"0.001"`, 1),
		"infinite":       strings.Replace(good, `"57.759"`, `"+Inf"`, 1),
	} {
		if _, err := ParseRedisCSV(text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func near(a, b float64) bool { return a/b-1 < 1e-12 && b/a-1 < 1e-12 }

// FuzzParseRedisCSV: no input panics; what is accepted is plausible.
func FuzzParseRedisCSV(f *testing.F) {
	for _, text := range readAll(f, "redis-benchmark-*.csv") {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tests, err := ParseRedisCSV(s)
		if err != nil {
			return
		}
		for n, r := range tests {
			if r.OpsPerSec <= 0 || r.P99 < r.P50 || n == "" {
				t.Fatalf("accepted %q: %+v", n, r)
			}
		}
	})
}

// TestParseCompute reads the compute script's output captured on this
// kind of host and in the python workload's trials.
func TestParseCompute(t *testing.T) {
	for name, text := range readAll(t, "compute-*.jsonl") {
		t.Run(name, func(t *testing.T) {
			r, err := ParseCompute(text)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(r.Version, "cpython 3.") {
				t.Errorf("version %q", r.Version)
			}
			for _, k := range Kernels {
				if r.Kernels[k].Seconds <= 0 {
					t.Errorf("%s: %+v", k, r.Kernels[k])
				}
			}
			// The same work gives the same checks on every runtime.
			if r.Kernels["nbody"].Work == 40000 && r.Kernels["nbody"].Check != "-0.167356827" {
				t.Errorf("nbody check %q", r.Kernels["nbody"].Check)
			}
		})
	}
	good := readAll(t, "compute-host-python3.11.jsonl")["compute-host-python3.11.jsonl"]
	lines := strings.Split(strings.TrimSpace(good), "\n")
	for name, text := range map[string]string{
		"empty":         "",
		"a line short":  strings.Join(lines[:len(lines)-1], "\n"),
		"a line more":   good + lines[1] + "\n",
		"out of order":  strings.Join([]string{lines[0], lines[2], lines[1], lines[3], lines[4]}, "\n"),
		"unknown field": strings.Replace(good, `"work"`, `"extra": 1, "work"`, 1),
		"no time":       strings.Replace(good, `"seconds"`, `"secs"`, 1),
		"negative time": strings.Replace(good, `"seconds": 0.`, `"seconds": -0.`, 1),
		"no version":    strings.Replace(good, `"python": "3.11.2"`, `"python": ""`, 1),
		"two objects":   strings.Replace(good, "\n", " {}\n", 1),
	} {
		if _, err := ParseCompute(text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseCompute: no input panics; what is accepted has every kernel.
func FuzzParseCompute(f *testing.F) {
	for _, text := range readAll(f, "compute-*.jsonl") {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseCompute(s)
		if err != nil {
			return
		}
		for _, k := range Kernels {
			if r.Kernels[k].Seconds <= 0 || r.Kernels[k].Work <= 0 {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}

// TestComputeDigest: the digest recorded is that of the embedded script.
func TestComputeDigest(t *testing.T) {
	if len(ComputeDigest()) != 64 || !strings.Contains(computeScript, "def nbody") {
		t.Errorf("digest %q of a script of %d bytes", ComputeDigest(), len(computeScript))
	}
}
