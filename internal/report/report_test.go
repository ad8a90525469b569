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

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/result"
)

// scaled returns a copy of run whose samples of a runtime's metric are
// multiplied by f: a real run turned into a regression of known size.
func scaled(run *result.Run, runtime, metric string, f float64) *result.Run {
	c := *run
	c.Trials = make([]result.Trial, len(run.Trials))
	for i, t := range run.Trials {
		t.Samples = append([]result.Sample(nil), t.Samples...)
		if t.Cell.Runtime == runtime {
			for j := range t.Samples {
				if t.Samples[j].Metric == metric {
					t.Samples[j].Value *= f
				}
			}
		}
		c.Trials[i] = t
	}
	return &c
}

func TestCompareRegressions(t *testing.T) {
	reg := builtin.Workloads()
	base := loadRun(t, "cpu-host-runc")
	tests := []struct {
		name      string
		metric    string
		factor    float64
		failAbove float64
		want      []string // regressed metrics of runc
	}{
		{"same run", "latency_min", 1, 0.05, nil},
		{"min latency 20% slower, bound 5%", "latency_min", 1.2, 0.05, []string{"latency_min"}},
		{"min latency 20% slower, bound 30%", "latency_min", 1.2, 0.30, nil},
		{"min latency 20% faster is no regression", "latency_min", 0.8, 0.05, nil},
		{"events/s 40% fewer, bound 5%", "events_per_sec", 0.6, 0.05, []string{"events_per_sec"}},
		{"events/s 40% more is no regression", "events_per_sec", 1.4, 0.05, nil},
		{"no bound, no regression", "latency_min", 2, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CompareRuns(base, scaled(base, "runc", tt.metric, tt.factor), reg, CompareOptions{FailAbove: tt.failAbove})
			var got []string
			for _, r := range c.Regressions() {
				if r.Runtime != "runc" {
					t.Errorf("regression of %s %s, whose samples did not change", r.Runtime, r.Metric.Name)
				}
				got = append(got, r.Metric.Name)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("regressions = %v, want %v", got, tt.want)
			}
			for _, r := range c.Rows {
				if r.Runtime == "host" && r.Significant {
					t.Errorf("host %s significant against itself (p=%v)", r.Metric.Name, r.PHolm)
				}
			}
		})
	}
}

func TestCompareRuntimesMatchesAnalysis(t *testing.T) {
	run := loadRun(t, "cpu-4runtimes")
	c := CompareRuntimes(run, "host", "runc", builtin.Workloads(), CompareOptions{})
	a := Analyze(run, builtin.Workloads())
	if len(c.Rows) != len(a.Groups[0].Metrics) {
		t.Fatalf("%d rows, want one per metric (%d)", len(c.Rows), len(a.Groups[0].Metrics))
	}
	for i, r := range c.Rows {
		m := a.Groups[0].Metrics[i]
		host, _ := findCell(&m, "host")
		runc, _ := findCell(&m, "runc")
		if r.Old.Median != host.Summary.Median || r.New.Median != runc.Summary.Median {
			t.Errorf("%s: medians %v, %v; the analysis has %v, %v", r.Metric.Name, r.Old.Median, r.New.Median, host.Summary.Median, runc.Summary.Median)
		}
		if r.Compare == nil || r.Compare.P != runc.Compare.P {
			t.Errorf("%s: p-value differs from the analysis' U test", r.Metric.Name)
		}
		if r.PHolm < r.Compare.P {
			t.Errorf("%s: Holm-adjusted p %v below the raw p %v", r.Metric.Name, r.PHolm, r.Compare.P)
		}
	}
}

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
			sum := benchmath.AssumeNothing.Summary(s, Level)
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
		Groups   []Group
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

// without returns a copy of run with the trials of some runtimes dropped,
// or failed when fail is true.
func without(run *result.Run, fail bool, runtimes ...string) *result.Run {
	c := *run
	c.Trials = nil
	for _, t := range run.Trials {
		if contains(runtimes, t.Cell.Runtime) {
			if !fail {
				continue
			}
			t.Status, t.Error, t.Samples = result.StatusFailed, "exit status 1", nil
		}
		c.Trials = append(c.Trials, t)
	}
	return &c
}

// firstTrials keeps the first n measured trials of each runtime.
func firstTrials(run *result.Run, n int) *result.Run {
	c := *run
	c.Trials = nil
	seen := map[string]int{}
	for _, t := range run.Trials {
		if t.Warmup {
			continue
		}
		if seen[t.Cell.Runtime] < n {
			seen[t.Cell.Runtime]++
			c.Trials = append(c.Trials, t)
		}
	}
	return &c
}

// TestCompareGate: the gate never passes what it did not measure. A
// runtime gone from the new run, a runtime whose every trial failed, and
// a big change measured on too few trials are each listed as not judged,
// with the runtime named, and block the gate unless allowed.
func TestCompareGate(t *testing.T) {
	reg := builtin.Workloads()
	base := loadRun(t, "cpu-host-runc")
	for _, tc := range []struct {
		name     string
		old, new *result.Run
		kind     string // of runc's unjudged cells
		hostToo  bool   // host is not judged either
		regress  bool
	}{
		{"runc gone", base, without(base, false, "runc"), UnjudgedMissing, false, false},
		{"runc new", without(base, false, "runc"), base, UnjudgedMissing, false, false},
		{"runc all failed", base, without(base, true, "runc"), UnjudgedInconclusive, false, false},
		{"50% slower on 3 trials a side", firstTrials(base, 3), firstTrials(scaled(base, "runc", "events_per_sec", 0.5), 3), UnjudgedInconclusive, true, false},
		{"50% slower on 6 trials a side", base, scaled(base, "runc", "events_per_sec", 0.5), "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := CompareRuns(tc.old, tc.new, reg, CompareOptions{FailAbove: 0.05})
			var runc []Unjudged
			for _, u := range c.Unjudged {
				if u.Runtime == "runc" {
					runc = append(runc, u)
				} else if u.Runtime == "host" && !tc.hostToo {
					t.Errorf("host, the same on both sides, not judged: %+v", u)
				}
			}
			if tc.kind == "" && len(runc) > 0 {
				t.Errorf("runc not judged: %+v", runc)
			}
			if tc.kind != "" {
				if len(runc) == 0 {
					t.Fatalf("runc judged; want it listed as %s", tc.kind)
				}
				for _, u := range runc {
					if u.Kind != tc.kind || u.Reason == "" {
						t.Errorf("runc listed as %s (%q), want %s with a reason", u.Kind, u.Reason, tc.kind)
					}
				}
				if len(c.Blocking(false, false)) == 0 {
					t.Error("the gate does not block on them")
				}
				allowMissing, allowInconclusive := tc.kind == UnjudgedMissing, tc.kind == UnjudgedInconclusive
				if b := c.Blocking(allowMissing, allowInconclusive); len(b) != 0 {
					t.Errorf("allowed, still blocking: %+v", b)
				}
				var txt, md bytes.Buffer
				if err := c.Text(&txt); err != nil {
					t.Fatal(err)
				}
				if err := c.Markdown(&md); err != nil {
					t.Fatal(err)
				}
				for name, out := range map[string]string{"text": txt.String(), "markdown": md.String()} {
					if !strings.Contains(out, "not judged") || !strings.Contains(out, tc.kind+" runc cpu") {
						t.Errorf("the %s output does not name runc as %s:\n%s", name, tc.kind, out)
					}
				}
			}
			if got := len(c.Regressions()) > 0; got != tc.regress {
				t.Errorf("regression = %v, want %v", got, tc.regress)
			}
		})
	}
}

// TestCompareOneStory: a row called significant has a ratio interval that
// excludes 1; a row whose U test rejects while its interval holds 1 is
// marked, not called.
func TestCompareOneStory(t *testing.T) {
	reg := builtin.Workloads()
	base := loadRun(t, "cpu-host-runc")
	for _, f := range []float64{0.97, 0.99, 1.01, 1.03, 1.1} {
		c := CompareRuns(base, scaled(base, "runc", "latency_avg", f), reg, CompareOptions{})
		for _, r := range c.Rows {
			if r.Ratio == nil && r.Compare != nil {
				t.Errorf("×%v %s %s: no ratio interval shown", f, r.Runtime, r.Metric.Name)
				continue
			}
			if r.Significant && r.Ratio.Lo <= 1 && r.Ratio.Hi >= 1 {
				t.Errorf("×%v %s %s: significant with ratio interval [%v, %v]", f, r.Runtime, r.Metric.Name, r.Ratio.Lo, r.Ratio.Hi)
			}
			if r.Disagree && (r.Significant || r.PHolm > c.Alpha) {
				t.Errorf("×%v %s %s: marked as disagreeing, but significant=%v p=%v", f, r.Runtime, r.Metric.Name, r.Significant, r.PHolm)
			}
		}
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

// TestFormatValueCarry: a value that rounds up to 1000 of a unit is said
// in the next one.
func TestFormatValueCarry(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{
		{0.99996, "sec", "1s"},
		{0.9994, "sec", "999.4ms"},
		{0.00099996, "sec", "1ms"},
		{0.00000099996, "sec", "1µs"},
		{0.00073, "sec", "730.0µs"},
		{2.5, "sec", "2.5s"},
		{0, "sec", "0s"},
		{-0.99996, "sec", "-1s"},
	} {
		if got := FormatValue(tc.v, tc.unit); got != tc.want {
			t.Errorf("FormatValue(%v, %s) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}
