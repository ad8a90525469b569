package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/hostinfo"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
	"github.com/isobench/isobench/internal/workload"
)

// Format names a rendering of a report.
type Format string

// Report formats.
const (
	FormatText     Format = "text"
	FormatJSON     Format = "json"
	FormatCSV      Format = "csv"
	FormatMarkdown Format = "markdown"
	FormatBench    Format = "bench"
	FormatHTML     Format = "html"
)

// Formats lists every format, in the order help texts show them.
func Formats() []Format {
	return []Format{FormatText, FormatJSON, FormatCSV, FormatMarkdown, FormatBench, FormatHTML}
}

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	if s == "md" {
		return FormatMarkdown, nil
	}
	var names []string
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("unknown report format %q (known: %s)", s, strings.Join(names, ", "))
}

// FormatOf returns the format a file name's extension asks for: .txt, .json,
// .csv, .md, .bench (or .benchfmt) and .html (or .htm); any other name is
// HTML.
func FormatOf(path string) Format {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".txt", ".text":
		return FormatText
	case ".json":
		return FormatJSON
	case ".csv":
		return FormatCSV
	case ".md", ".markdown":
		return FormatMarkdown
	case ".bench", ".benchfmt":
		return FormatBench
	}
	return FormatHTML
}

// Report is what every format renders: the analysis of a run with its
// environment (the study's Table 1), its method, every run-level warning,
// its failed trials and the figures.
type Report struct {
	Run      *result.Run
	Analysis *analysis.Analysis
	Host     hostinfo.Info
	// Environment is the study's Table 1: host facts, then each runtime
	// with its version and features, then the workload tools.
	Environment []EnvRow
	Method      Method
	// Warnings are about the whole run: the environment's (CPU governor,
	// host load) and each runtime's, prefixed with its name.
	Warnings []stats.Warning
	// Failures lists every trial that did not end OK, warm-ups included.
	Failures []Failure
	// Figures are the study's figures whose samples the run has, then one
	// chart per other workload's headline metrics.
	Figures []Figure
	// Curves are line charts of a metric against a numeric parameter
	// (density: memory and start time against the sandboxes alive).
	Curves []Curve
	// Findings tests the study's six findings on this run (see
	// analysis.StudyFindings); nil for a run without the study's
	// workloads.
	Findings *analysis.Findings
}

// EnvRow is one line of the environment table.
type EnvRow struct {
	Section string `json:"section"` // "host", "runtime" or "tool"
	Name    string `json:"name"`
	Value   string `json:"value"`
}

// Method says how the run was made and analysed.
type Method struct {
	Trials     int     `json:"trials"`
	Warmups    int     `json:"warmups"`
	Order      string  `json:"order"`
	Seed       int64   `json:"seed"`
	Profile    string  `json:"profile"`
	Baseline   string  `json:"baseline"`
	Confidence float64 `json:"confidence"`
	Alpha      float64 `json:"alpha"`
	Resamples  int     `json:"resamples"`
	// Statistics describes each statistical method, one sentence each.
	Statistics []string `json:"statistics"`
}

// Failure is a trial that did not end OK.
type Failure struct {
	Seq      int           `json:"seq"`
	Runtime  string        `json:"runtime"`
	Workload string        `json:"workload"`
	Params   string        `json:"params,omitempty"`
	Index    int           `json:"index"`
	Warmup   bool          `json:"warmup,omitempty"`
	Status   result.Status `json:"status"`
	Error    string        `json:"error"`
}

// Build analyses a run for reporting. reg gives the workloads' metric
// declarations; workloads it does not know are reported from their samples.
func Build(run *result.Run, reg *workload.Registry) *Report {
	r := &Report{Run: run, Analysis: analysis.Analyze(run, reg), Host: hostinfo.FromEnv(run.Env)}
	r.Environment = environment(run, r.Host)
	r.Method = method(run)
	r.Warnings = analysis.RunWarnings(run)
	for _, t := range run.Trials {
		if t.Status == result.StatusOK {
			continue
		}
		r.Failures = append(r.Failures, Failure{
			Seq: t.Seq, Runtime: t.Cell.Runtime, Workload: t.Cell.Workload, Params: ParamsText(t.Cell.Params),
			Index: t.Index, Warmup: t.Warmup, Status: t.Status, Error: t.Error,
		})
	}
	r.Figures = buildFigures(r.Analysis, StudyFigures(), ExtraFigures()...)
	r.Curves = buildCurves(r.Analysis, CurveSpecs())
	r.Findings = analysis.StudyFindings(r.Analysis)
	return r
}

// Write renders the report in a format.
func (r *Report) Write(w io.Writer, f Format) error {
	switch f {
	case FormatText:
		return r.Text(w)
	case FormatJSON:
		return r.JSON(w)
	case FormatCSV:
		return r.CSV(w)
	case FormatMarkdown:
		return r.Markdown(w)
	case FormatBench:
		return r.Bench(w)
	case FormatHTML:
		return r.HTML(w)
	}
	return fmt.Errorf("unknown report format %q", f)
}

// method reads the run's plan back from its stored suite.
func method(run *result.Run) Method {
	m := Method{
		Order: run.Order, Seed: run.Seed, Profile: run.Profile, Baseline: run.Baseline,
		Confidence: analysis.Level, Alpha: analysis.Alpha, Resamples: stats.DefaultResamples,
	}
	var s plan.Suite
	if run.Suite != "" && json.Unmarshal([]byte(run.Suite), &s) == nil {
		m.Trials, m.Warmups = s.Trials, s.Warmups
		if m.Trials == 0 {
			if p, err := plan.LookupProfile(s.Profile); err == nil {
				m.Trials = p.Trials
			}
		}
	}
	m.Statistics = []string{
		fmt.Sprintf("Each figure is the median of a cell's measured trials (warm-ups left out); its %g%% confidence interval is distribution-free, from order statistics (Conover), and is absent below 6 trials.", analysis.Level*100),
		fmt.Sprintf("The ratio to %s is median over median, with a %g%% percentile bootstrap interval (%d resamples, seeded with the run's seed).", orDash(run.Baseline), analysis.Level*100, stats.DefaultResamples),
		fmt.Sprintf("A difference is significant when the two-sided Mann–Whitney U test (exact up to 50 values per side without ties, exact conditional on the ties up to 25 per side, otherwise the normal approximation with tie correction) rejects at α=%g after Holm's correction over the runtimes compared on one metric, and the ratio's interval excludes 1; otherwise it is shown as ~ (‡ where the test rejects but the interval holds 1).", analysis.Alpha),
		"Outliers are values beyond Tukey's fences (1.5×IQR beyond the quartiles); they are reported, never removed.",
		fmt.Sprintf("A summary warns when its coefficient of variation exceeds %g%%.", stats.DefaultMaxCV*100),
	}
	return m
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// environment builds the study's Table 1 and more.
func environment(run *result.Run, h hostinfo.Info) []EnvRow {
	var rows []EnvRow
	add := func(section, name, value string) {
		if value != "" {
			rows = append(rows, EnvRow{section, name, value})
		}
	}
	add("host", "operating system", h.OS)
	kernel := h.Kernel
	if h.KernelBuild != "" {
		kernel += " (" + h.KernelBuild + ")"
	}
	add("host", "kernel", kernel)
	add("host", "architecture", h.Arch)
	if h.CPUModel != "" || h.CPUs > 0 {
		cpu := h.CPUModel
		if h.CPUs > 0 {
			cpu += fmt.Sprintf(", %d logical CPUs", h.CPUs)
		}
		if h.Cores > 0 {
			cpu += fmt.Sprintf(", %d cores", h.Cores)
		}
		if h.Sockets > 0 {
			cpu += fmt.Sprintf(" in %d socket(s)", h.Sockets)
		}
		add("host", "CPU", strings.TrimPrefix(cpu, ", "))
	}
	add("host", "SMT", h.SMT)
	if h.MemoryBytes > 0 {
		add("host", "memory", fmt.Sprintf("%.1f GiB", float64(h.MemoryBytes)/(1<<30)))
	}
	add("host", "cgroup layout", h.Cgroup)
	if len(run.Env) > 0 {
		add("host", "CPU frequency governor", h.GovernorSummary())
		virt := h.VirtSummary()
		if len(h.VirtEvidence) > 0 {
			virt += " (from " + strings.Join(h.VirtEvidence, "; ") + ")"
		}
		add("host", "host virtualisation", virt)
	}
	if len(h.Load) == 3 {
		add("host", "load average at start", fmt.Sprintf("%.2f %.2f %.2f", h.Load[0], h.Load[1], h.Load[2]))
	}
	isb := run.Version
	if h.Go != "" {
		isb = strings.TrimSpace(isb + " (" + h.Go + ")")
	}
	add("host", "isobench", isb)
	for _, p := range h.Problems {
		add("host", "not read", p)
	}
	for _, rt := range run.Runtimes {
		v := orDash(rt.Version)
		if rt.Isolation != "" {
			v += " [" + rt.Isolation + "]"
		}
		add("runtime", rt.Name, v)
		keys := make([]string, 0, len(rt.Features))
		for k := range rt.Features {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			add("runtime", rt.Name+" "+k, rt.Features[k])
		}
	}
	tools := make([]string, 0, len(h.Tools))
	for k := range h.Tools {
		tools = append(tools, k)
	}
	sort.Strings(tools)
	for _, k := range tools {
		add("tool", k, h.Tools[k])
	}
	if h.Image != "" {
		img := shortID(h.Image)
		if h.ImageSource != "" {
			img += " (built from " + h.ImageSource + ")"
		}
		add("tool", "workload image", img)
	}
	return rows
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
