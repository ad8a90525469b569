package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/analysis/analysistest"
	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/result"
)

// TestBenchReadBack reads the bench report back with benchfmt and checks
// every result against the trials, and the medians benchmath computes
// against the analysis: benchstat sees the run's numbers.
func TestBenchReadBack(t *testing.T) {
	run := loadRun(t, "cpu-4runtimes")
	rep := Build(run, builtin.Workloads())
	var buf bytes.Buffer
	if err := rep.Bench(&buf); err != nil {
		t.Fatal(err)
	}
	var measured []result.Trial
	for _, tr := range run.Trials {
		if !tr.Warmup && tr.Status == result.StatusOK {
			measured = append(measured, tr)
		}
	}
	rd := benchfmt.NewReader(bytes.NewReader(buf.Bytes()), "run.bench")
	values := map[string][]float64{} // runtime + unit
	units := benchfmt.UnitMetadataMap{}
	n := 0
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatalf("syntax error: %v", rec)
		case *benchfmt.UnitMetadata:
			units[rec.UnitMetadataKey] = rec
		case *benchfmt.Result:
			if n >= len(measured) {
				t.Fatalf("more results than measured trials (%d)", len(measured))
			}
			tr := measured[n]
			n++
			if got := string(rec.Name); got != "Cpu" {
				t.Errorf("result %d: name %q", n, got)
			}
			if rec.GetConfig("runtime") != tr.Cell.Runtime || rec.GetConfig("workload") != tr.Cell.Workload {
				t.Errorf("result %d: runtime %q workload %q, want %s/%s", n, rec.GetConfig("runtime"), rec.GetConfig("workload"), tr.Cell.Runtime, tr.Cell.Workload)
			}
			for k, v := range tr.Cell.Params {
				if rec.GetConfig(k) != v {
					t.Errorf("result %d: config %s = %q, want %q", n, k, rec.GetConfig(k), v)
				}
			}
			if len(rec.Values) != len(tr.Samples) {
				t.Fatalf("result %d: %d values for %d samples", n, len(rec.Values), len(tr.Samples))
			}
			for i, v := range rec.Values {
				if v.Value != tr.Samples[i].Value || v.Unit != BenchUnit(tr.Samples[i].Metric, tr.Samples[i].Unit) {
					t.Errorf("result %d: value %v %s, sample %v %s", n, v.Value, v.Unit, tr.Samples[i].Value, tr.Samples[i].Metric)
				}
				values[tr.Cell.Runtime+" "+v.Unit] = append(values[tr.Cell.Runtime+" "+v.Unit], v.Value)
			}
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(measured) {
		t.Fatalf("read %d results, want %d (the measured OK trials)", n, len(measured))
	}
	if units.GetBetter("latency-avg-sec") != -1 || units.GetBetter("events/s") != 1 {
		t.Errorf("unit metadata: better(latency-avg-sec) = %d, better(events/s) = %d; want -1, 1",
			units.GetBetter("latency-avg-sec"), units.GetBetter("events/s"))
	}
	for _, m := range rep.Analysis.Groups[0].Metrics {
		for _, c := range m.Cells {
			key := c.Runtime + " " + BenchUnit(m.Metric.Name, m.Metric.Unit)
			s := benchmath.NewSample(values[key], &benchmath.DefaultThresholds)
			sum := benchmath.AssumeNothing.Summary(s, analysis.Level)
			if math.Abs(sum.Center-c.Summary.Median) > 1e-12*math.Abs(c.Summary.Median) {
				t.Errorf("%s: benchmath median %v, analysis %v", key, sum.Center, c.Summary.Median)
			}
		}
	}
}

func TestCSVReadBack(t *testing.T) {
	run := loadRun(t, "cpu-4runtimes")
	var buf bytes.Buffer
	if err := Build(run, builtin.Workloads()).CSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := 1
	sum := 0.0
	for _, tr := range run.Trials {
		want += max(1, len(tr.Samples))
		for _, s := range tr.Samples {
			sum += s.Value
		}
	}
	if len(rows) != want {
		t.Fatalf("%d rows, want %d (header + one per sample)", len(rows), want)
	}
	got := 0.0
	for _, row := range rows[1:] {
		if row[10] == "" {
			continue
		}
		v, err := strconv.ParseFloat(row[10], 64)
		if err != nil {
			t.Fatal(err)
		}
		got += v
	}
	if got != sum {
		t.Errorf("sum of values %v, of samples %v", got, sum)
	}
}

func TestJSONReadBack(t *testing.T) {
	run := loadRun(t, "cpu-4runtimes")
	var buf bytes.Buffer
	if err := Build(run, builtin.Workloads()).JSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Run      struct{ ID string }
		Groups   []analysis.Group
		Trials   []result.Trial
		Warnings []struct{ Code string }
		Method   Method
	}
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Run.ID != run.ID || len(back.Trials) != len(run.Trials) || len(back.Groups) != 1 {
		t.Errorf("read back run %q, %d trials, %d groups", back.Run.ID, len(back.Trials), len(back.Groups))
	}
	if back.Method.Trials != 6 || back.Method.Warmups != 1 || back.Method.Seed != run.Seed {
		t.Errorf("method %+v", back.Method)
	}
	var codes []string
	for _, w := range back.Warnings {
		codes = append(codes, w.Code)
	}
	if strings.Join(codes, ",") != "host-load,runtime" {
		t.Errorf("warnings %v, want the host load of the run and runsc's platform warning", codes)
	}
}

// TestFigures checks which figures a run gets: the study's CPU figure and a
// generic one for events/s from a CPU run; the memory figures as soon as a
// run has memory samples; one figure per parameter variant.
func TestFigures(t *testing.T) {
	reg := builtin.Workloads()
	cpu := loadRun(t, "cpu-4runtimes")
	ids := func(r *Report) string {
		var s []string
		for _, f := range r.Figures {
			s = append(s, f.ID)
		}
		return strings.Join(s, " ")
	}
	if got := ids(Build(cpu, reg)); got != "cpu-latency cpu-0-ops-s" {
		t.Errorf("figures of a cpu run: %s", got)
	}
	f := Build(cpu, reg).Figures[0]
	if f.Bars() != 8 || len(f.Runtimes) != 4 || f.Clusters[0].Metric != "latency_avg" || f.Clusters[1].Metric != "latency_min" {
		t.Errorf("cpu-latency: %d bars, runtimes %v, clusters %+v", f.Bars(), f.Runtimes, f.Clusters)
	}

	// The same samples as a memory workload's (it reports total_time and
	// latencies too): the study's memory figures appear.
	mem := *cpu
	mem.Trials = append([]result.Trial(nil), cpu.Trials...)
	for i := range mem.Trials {
		mem.Trials[i].Cell.Workload = "memory"
	}
	if got := ids(Build(&mem, reg)); !strings.HasPrefix(got, "memory-time memory-latency") {
		t.Errorf("figures of memory samples: %s", got)
	}

	// Two parameter variants: two figures each.
	two := *cpu
	two.Trials = append([]result.Trial(nil), cpu.Trials...)
	for i := range two.Trials {
		if i%2 == 0 {
			p := map[string]string{}
			for k, v := range two.Trials[i].Cell.Params {
				p[k] = v
			}
			p["threads"] = "2"
			two.Trials[i].Cell.Params = p
		}
	}
	if got := ids(Build(&two, reg)); !strings.HasPrefix(got, "cpu-latency-1 cpu-latency-2 ") {
		t.Errorf("figures of two variants: %s", got)
	}
}

// TestHTMLSelfContained checks the page loads nothing from elsewhere and
// has an SVG chart with the right bars for every figure.
func TestHTMLSelfContained(t *testing.T) {
	rep := Build(loadRun(t, "cpu-4runtimes"), builtin.Workloads())
	var buf bytes.Buffer
	if err := rep.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script", "<link", "@import", "src=\"http", "href=\"http", "url(http"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: it must not load anything", bad)
		}
	}
	figs := regexp.MustCompile(`(?s)<figure class="chart-figure" id="fig-([^"]+)"[^>]*data-bars="(\d+)" data-colors="([^"]*)">(.*?)</figure>`).FindAllStringSubmatch(page, -1)
	if len(figs) != len(rep.Figures) {
		t.Fatalf("%d figures in the page, %d in the report", len(figs), len(rep.Figures))
	}
	for i, m := range figs {
		body := m[4]
		if strings.Count(body, "<svg ") != 1 || !strings.Contains(body, `class="chart"`) {
			t.Errorf("figure %s: want one inline svg.chart", m[1])
		}
		bars := 0
		for _, c := range strings.Fields(m[3]) {
			bars += strings.Count(body, "fill:"+c)
		}
		// Each bar is one filled path; the legend swatches are HTML.
		if want := rep.Figures[i].Bars(); bars != want {
			t.Errorf("figure %s: %d filled bars in the SVG, want %d", m[1], bars, want)
		}
	}
	for _, want := range []string{"load average", "gVisor platform ptrace", "youki", "Mann–Whitney", "sysbench 1.0.20"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestFormatOf(t *testing.T) {
	tests := map[string]Format{"r.html": FormatHTML, "r.HTM": FormatHTML, "r": FormatHTML, "r.json": FormatJSON, "a/b.csv": FormatCSV,
		"r.md": FormatMarkdown, "r.bench": FormatBench, "r.txt": FormatText, "r.svg": FormatHTML}
	for path, want := range tests {
		if got := FormatOf(path); got != want {
			t.Errorf("FormatOf(%q) = %s, want %s", path, got, want)
		}
	}
	if _, err := ParseFormat("pdf"); err == nil || !strings.Contains(err.Error(), "html") {
		t.Errorf("ParseFormat(pdf) = %v, want an error listing the formats", err)
	}
}

func TestPercentAndPText(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{PercentText(0.07), "7%"},
		{PercentText(0.05), "5%"},
		{PercentText(0.125), "12.5%"},
		{PText(0.0043), "0.0043"},
		{PText(0.00012), "0.00012"},
		{PText(0.177), "0.177"},
		{PText(1), "1.000"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestCompareUnjudgedShown: a cell the comparison could not judge (see
// package analysis' TestCompareGate) is named with its kind in the text
// and Markdown outputs.
func TestCompareUnjudgedShown(t *testing.T) {
	reg := builtin.Workloads()
	base := loadRun(t, "cpu-host-runc")
	for _, tc := range []struct {
		name     string
		old, new *result.Run
		kind     string
	}{
		{"runc gone", base, analysistest.Without(base, false, "runc"), analysis.UnjudgedMissing},
		{"runc all failed", base, analysistest.Without(base, true, "runc"), analysis.UnjudgedInconclusive},
		{"3 trials a side", analysistest.FirstTrials(base, 3), analysistest.FirstTrials(analysistest.Scaled(base, "runc", "events_per_sec", 0.5), 3), analysis.UnjudgedInconclusive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := analysis.CompareRuns(tc.old, tc.new, reg, analysis.CompareOptions{FailAbove: 0.05})
			for _, f := range []Format{FormatText, FormatMarkdown} {
				var out bytes.Buffer
				if err := WriteComparison(&out, c, f); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(out.String(), "not judged") || !strings.Contains(out.String(), tc.kind+" runc cpu") {
					t.Errorf("the %s output does not name runc as %s:\n%s", f, tc.kind, out.String())
				}
			}
		})
	}
}
