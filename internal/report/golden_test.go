package report

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/analysis/analysistest"
	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden from the current output")

// Fixtures in testdata/runs are real runs, read back from the store of the
// machine they ran on:
//
//	cpu-4runtimes: isobench run --runtimes host,runc,crun,runsc,youki --trials 6 --warmups 1
//	               (youki not installed, so skipped; the host was busy, so noisy)
//	cpu-host-runc: isobench run --runtimes host,runc --trials 6 --warmups 1, right after
//	sysbench-host-runc: isobench run --runtimes host,runc --workloads cpu,memory,fileio --trials 3 --warmups 0
//
// (Package analysis tests its computations on them too.)
func loadRun(t *testing.T, name string) *result.Run {
	t.Helper()
	return analysistest.LoadRun(t, filepath.Join("testdata", "runs", name+".json"))
}

// golden compares got with testdata/golden/name, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it): %s", name, firstDiff(got, want))
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %.300q\nwant: %.300q", i+1, gl, wl)
		}
	}
	return "same lines, different bytes"
}

func TestGoldenReports(t *testing.T) {
	reg := builtin.Workloads()
	for _, run := range []string{"cpu-4runtimes", "cpu-host-runc", "sysbench-host-runc"} {
		for _, f := range Formats() {
			t.Run(run+"/"+string(f), func(t *testing.T) {
				var buf bytes.Buffer
				if err := Build(loadRun(t, run), reg).Write(&buf, f); err != nil {
					t.Fatal(err)
				}
				ext := map[Format]string{FormatText: "txt", FormatJSON: "json", FormatCSV: "csv",
					FormatMarkdown: "md", FormatBench: "bench", FormatHTML: "html"}[f]
				golden(t, run+"."+ext, buf.Bytes())
			})
		}
	}
}

func TestGoldenCompare(t *testing.T) {
	reg := builtin.Workloads()
	old, cur := loadRun(t, "cpu-4runtimes"), loadRun(t, "cpu-host-runc")
	tests := []struct {
		name string
		c    *analysis.Comparison
	}{
		{"compare-runs", analysis.CompareRuns(old, cur, reg, analysis.CompareOptions{FailAbove: 0.05})},
		{"compare-runs-latency", analysis.CompareRuns(old, cur, reg, analysis.CompareOptions{Metrics: []string{"latency_avg", "latency_min"}, Runtimes: []string{"runc"}})},
		{"compare-runtimes", analysis.CompareRuntimes(old, "host", "runsc", reg, analysis.CompareOptions{FailAbove: 0.05})},
	}
	for _, tt := range tests {
		for _, f := range []struct {
			ext    string
			format Format
		}{{"txt", FormatText}, {"md", FormatMarkdown}, {"json", FormatJSON}} {
			t.Run(tt.name+"/"+f.ext, func(t *testing.T) {
				var buf bytes.Buffer
				if err := WriteComparison(&buf, tt.c, f.format); err != nil {
					t.Fatal(err)
				}
				golden(t, tt.name+"."+f.ext, buf.Bytes())
			})
		}
	}
	var buf bytes.Buffer
	if err := WriteComparison(&buf, tests[0].c, FormatHTML); err == nil {
		t.Error("a comparison written as HTML: want an error, there is no such rendering")
	}
}
