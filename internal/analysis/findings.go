package analysis

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload/storage"
)

// FindingsTitle is the title of the section that tests the study's
// findings, in every format.
const FindingsTitle = "The study's findings on this host"

// Thresholds of the findings' words (see FindingsDefinitions).
const (
	// ParBand: medians within this factor of each other are on a par.
	ParBand = 1.05
	// WideFactor: medians at least this factor apart differ widely.
	WideFactor = 1.5
)

// Verdict is what a finding, or one part of it, comes to on a run.
type Verdict string

// Verdicts.
const (
	VerdictHolds      Verdict = "holds"
	VerdictDoesNot    Verdict = "does not hold"
	VerdictCannotTell Verdict = "cannot tell"
	VerdictNotRun     Verdict = "not run here"
)

// Findings is the section that tests the study's six findings on a run.
type Findings struct {
	Title    string `json:"title"`
	Baseline string `json:"baseline"`
	// Definitions say what the findings' words mean in medians, intervals
	// and significance, one sentence each.
	Definitions []string  `json:"definitions"`
	Findings    []Finding `json:"findings"`
}

// Finding is one of the study's findings, judged on this run.
type Finding struct {
	N     int    `json:"n"`
	Claim string `json:"claim"`
	// Figures names the study's figures the claim reads.
	Figures string           `json:"figures"`
	Needs   []FindingRuntime `json:"needs"`
	Verdict Verdict          `json:"verdict"`
	// Parts are the claim's parts on each metric, each with its verdict
	// and the statistic behind it.
	Parts []FindingPart `json:"parts,omitempty"`
	// NotRun says what the run lacks (a runtime, with the reason it was
	// skipped when it was; a workload) when the verdict is "not run here".
	NotRun []string `json:"not_run,omitempty"`
	// Notes name known artifacts that explain a difference, and metrics
	// left out.
	Notes []string `json:"notes,omitempty"`
}

// FindingRuntime is one of the study's tools a finding needs: its name in
// the study, the isobench runtimes that stand for it (in order of
// preference) and the one this run used.
type FindingRuntime struct {
	Study   string   `json:"study"`
	Aliases []string `json:"aliases"`
	Used    string   `json:"used,omitempty"`
}

// FindingPart is one part of a claim on one metric.
type FindingPart struct {
	Metric   string  `json:"metric"`
	Claim    string  `json:"claim"`
	Verdict  Verdict `json:"verdict"`
	Evidence string  `json:"evidence"`
}

// FindingsDefinitions says what the findings' words mean; the section's
// introduction in every format.
func FindingsDefinitions(baseline string) []string {
	return []string{
		"Each finding is judged on this run's medians, their 95% intervals and the ratios to " + cmp.Or(baseline, "-") + ", as the tables show them. The study's tools are this run's runtimes: Docker+runc is docker (when its OCI runtime is runc) or docker:runc; runsc is docker:runsc, else bare runsc; Incus is incus; Firecracker is firecracker; \"runc\" in findings 2 and 3 is Docker+runc, else bare runc. The runtime used is named.",
		fmt.Sprintf("On a par (and \"close to\"): the two medians are within ±%g%% of each other (a factor of %g) and each is known to within ±%g%% (its 95%% interval; the ratio interval where a median has none); medians within ±%g%% with a wider interval cannot be told.", (ParBand-1)*100, ParBand, (ParBand-1)*100, (ParBand-1)*100),
		fmt.Sprintf("Better (\"beats\"): the median is better by more than %g%% and the two medians' 95%% intervals do not overlap (where a median has no interval, below 6 trials, the ratio intervals against %s are compared instead). Medians more than %g%% apart with overlapping intervals cannot be told apart.", (ParBand-1)*100, cmp.Or(baseline, "-"), (ParBand-1)*100),
		"Lowest overhead, best: no other study tool run here is better; worst, slowest: no other is worse. Ties on a par are allowed and named.",
		fmt.Sprintf("Differ widely: the medians are a factor of %g or more apart and their intervals do not overlap; it does not hold when even the intervals' far ends are less than %g× apart.", WideFactor, WideFactor),
		fmt.Sprintf("Adds overhead: significantly worse than %s (the U test after Holm's correction and the ratio interval agree, as in the tables) by more than %g%%; it does not hold when the median ratio is within %g%% of 1 or better.", cmp.Or(baseline, "-"), (ParBand-1)*100, (ParBand-1)*100),
		"A finding holds when each of its parts holds on each metric, does not hold when one part does not, and otherwise cannot tell. A metric whose median is 0 for a tool (below sysbench's print resolution) is left out. Not run here: the run lacks a tool or workload the finding needs.",
	}
}

// studyRole is one of the study's tools, as a finding names it.
type studyRole int

const (
	roleDockerRunc studyRole = iota
	roleRunc                 // Docker+runc, else bare runc (findings 2 and 3)
	roleRunsc
	roleIncus
	roleFirecracker
)

// name is the tool's name in the study.
func (r studyRole) name() string {
	return [...]string{"Docker+runc", "runc", "runsc", "Incus", "Firecracker"}[r]
}

// aliases are the isobench runtimes that stand for the tool, preferred
// first.
func (r studyRole) aliases() []string {
	switch r {
	case roleDockerRunc:
		return []string{"docker", "docker:runc"}
	case roleRunc:
		return []string{"docker", "docker:runc", "runc"}
	case roleRunsc:
		return []string{"docker:runsc", "runsc"}
	case roleIncus:
		return []string{"incus"}
	}
	return []string{"firecracker"}
}

// studyTools are the tools a superlative ranks a runtime among: the
// study's four, runc as the finding names it.
func studyTools(runc studyRole) []studyRole {
	return []studyRole{runc, roleRunsc, roleIncus, roleFirecracker}
}

// findingMetric selects one metric of one workload group.
type findingMetric struct {
	Label    string
	Workload string
	Metric   string
	Params   map[string]string
}

// findingRule is one of the study's findings as data: its claim, the
// tools it needs, the metrics it reads and a judge of one metric.
type findingRule struct {
	Claim   string
	Figures string
	Needs   []studyRole
	// NeedsOneOf, when set, are tools of which at least one must be run
	// (something to rank the needed ones against).
	NeedsOneOf []studyRole
	Metrics    []findingMetric
	Judge      func(j *judging) []FindingPart
}

// The study's metrics.
func cpuMetrics() []findingMetric {
	return []findingMetric{
		{Label: "cpu avg latency", Workload: "cpu", Metric: "latency_avg"},
		{Label: "cpu min latency", Workload: "cpu", Metric: "latency_min"},
	}
}

func seqReadMetrics() []findingMetric {
	return []findingMetric{{Label: "fileio sequential read", Workload: "fileio", Metric: "read_bytes_per_sec", Params: map[string]string{"mode": "seqrd"}}}
}

func seqWriteMetrics() []findingMetric {
	return []findingMetric{
		{Label: "fileio sequential write", Workload: "fileio", Metric: "write_bytes_per_sec", Params: map[string]string{"mode": "seqwr"}},
		{Label: "fileio sequential rewrite", Workload: "fileio", Metric: "write_bytes_per_sec", Params: map[string]string{"mode": "seqrewr"}},
	}
}

func memTimeMetrics() []findingMetric {
	return []findingMetric{{Label: "memory total time", Workload: "memory", Metric: "total_time"}}
}

func memLatencyMetrics() []findingMetric {
	return []findingMetric{
		{Label: "memory avg latency", Workload: "memory", Metric: "latency_avg"},
		{Label: "memory min latency", Workload: "memory", Metric: "latency_min"},
	}
}

// studyRules lists the study's six findings, in its order.
func studyRules() []findingRule {
	all := append(append(append(append(cpuMetrics(), seqReadMetrics()...), seqWriteMetrics()...), memTimeMetrics()...), memLatencyMetrics()...)
	return []findingRule{
		{
			Claim: "CPU: Incus has the lowest overhead; Docker+runc is close to it.", Figures: "figure 6",
			Needs: []studyRole{roleIncus, roleDockerRunc}, Metrics: cpuMetrics(),
			Judge: func(j *judging) []FindingPart {
				return []FindingPart{j.best(roleIncus, studyTools(roleDockerRunc), "has the lowest overhead"), j.par(roleDockerRunc, roleIncus, "is close to")}
			},
		},
		{
			Claim: "Sequential read: runc and runsc differ widely; Firecracker beats every other tool.", Figures: "figure 7",
			Needs: []studyRole{roleRunc, roleRunsc, roleFirecracker}, Metrics: seqReadMetrics(),
			Judge: func(j *judging) []FindingPart {
				parts := []FindingPart{j.widely(roleRunc, roleRunsc)}
				for _, o := range []studyRole{roleRunc, roleRunsc, roleIncus} {
					if o == roleIncus && j.cell(o) == nil {
						continue // Incus is not needed; compared only when run
					}
					parts = append(parts, j.beats(roleFirecracker, o))
				}
				return parts
			},
		},
		{
			Claim: "Sequential write and rewrite: runc and Incus are the worst.", Figures: "figure 8",
			Needs: []studyRole{roleRunc, roleIncus}, NeedsOneOf: []studyRole{roleRunsc, roleFirecracker}, Metrics: seqWriteMetrics(),
			Judge: func(j *judging) []FindingPart {
				others := []studyRole{roleRunsc, roleFirecracker}
				return []FindingPart{j.worst(roleRunc, others, "is among the worst"), j.worst(roleIncus, others, "is among the worst")}
			},
		},
		{
			Claim: "Memory total time: Docker+runc is best; Firecracker is on a par with it; Incus is the slowest.", Figures: "figure 9",
			Needs: []studyRole{roleDockerRunc, roleFirecracker, roleIncus}, Metrics: memTimeMetrics(),
			Judge: func(j *judging) []FindingPart {
				tools := studyTools(roleDockerRunc)
				return []FindingPart{j.best(roleDockerRunc, tools, "is best"), j.par(roleFirecracker, roleDockerRunc, "is on a par with"), j.worst(roleIncus, tools, "is the slowest")}
			},
		},
		{
			Claim: "Memory latency: runsc, Firecracker and Incus add overhead; Docker is best.", Figures: "figure 10",
			Needs: []studyRole{roleRunsc, roleFirecracker, roleIncus, roleDockerRunc}, Metrics: memLatencyMetrics(),
			Judge: func(j *judging) []FindingPart {
				return []FindingPart{j.overhead(roleRunsc), j.overhead(roleFirecracker), j.overhead(roleIncus), j.best(roleDockerRunc, studyTools(roleDockerRunc), "is best")}
			},
		},
		{
			Claim: "Firecracker, though a VM, performs better than runsc in every test.", Figures: "figures 6 to 10",
			Needs: []studyRole{roleFirecracker, roleRunsc}, Metrics: all,
			Judge: func(j *judging) []FindingPart {
				return []FindingPart{j.beats(roleFirecracker, roleRunsc)}
			},
		},
	}
}

// StudyFindings tests the study's six findings on an analysed run. It
// returns nil when the run has none of the study's workloads, or has only
// some and no finding can be judged on it.
func StudyFindings(a *Analysis) *Findings {
	has := map[string]bool{}
	for _, g := range a.Groups {
		has[g.Workload] = true
	}
	if !has["cpu"] && !has["memory"] && !has["fileio"] {
		return nil
	}
	used := resolveRoles(a.Run)
	out := &Findings{Title: FindingsTitle, Baseline: a.Baseline, Definitions: FindingsDefinitions(a.Baseline)}
	judged := false
	for i, rule := range studyRules() {
		f := judgeRule(a, rule, used)
		f.N = i + 1
		if f.Verdict != VerdictNotRun {
			judged = true
		}
		out.Findings = append(out.Findings, f)
	}
	if !judged && !(has["cpu"] && has["memory"] && has["fileio"]) {
		return nil
	}
	return out
}

// resolveRoles picks, for each of the study's tools, the first of its
// aliases the run measured (one with a successful trial, else any trial).
// docker stands for Docker+runc only when its OCI runtime is runc (or was
// not recorded).
func resolveRoles(run *result.Run) map[studyRole]string {
	ok, present := map[string]bool{}, map[string]bool{}
	for _, t := range run.Trials {
		if t.Warmup {
			continue
		}
		present[t.Cell.Runtime] = true
		if t.Status == result.StatusOK {
			ok[t.Cell.Runtime] = true
		}
	}
	runcDocker := func(name string) bool {
		if name != "docker" {
			return true
		}
		for _, r := range run.Runtimes {
			if r.Name == name {
				rt := r.Features["oci_runtime"]
				return rt == "" || rt == "runc"
			}
		}
		return true
	}
	out := map[studyRole]string{}
	for r := roleDockerRunc; r <= roleFirecracker; r++ {
		for _, have := range []map[string]bool{ok, present} {
			for _, name := range r.aliases() {
				if have[name] && runcDocker(name) && out[r] == "" {
					out[r] = name
				}
			}
		}
	}
	return out
}

// runtimeSkipped is why the run skipped a runtime, or "".
func runtimeSkipped(run *result.Run, names []string) string {
	for _, s := range run.Skipped {
		for _, n := range names {
			if s.Runtime == n && s.Workload == "" {
				r := strings.TrimPrefix(strings.Join(strings.Fields(s.Reason), " "), n+": ")
				if len(r) > 160 {
					r = r[:160] + "…"
				}
				return n + " skipped: " + r
			}
		}
	}
	return ""
}

func judgeRule(a *Analysis, rule findingRule, used map[studyRole]string) Finding {
	f := Finding{Claim: rule.Claim, Figures: rule.Figures}
	for _, r := range rule.Needs {
		f.Needs = append(f.Needs, FindingRuntime{Study: r.name(), Aliases: r.aliases(), Used: used[r]})
		if used[r] == "" {
			f.NotRun = append(f.NotRun, missingText(a.Run, r))
		}
	}
	if len(rule.NeedsOneOf) > 0 {
		var names, why []string
		anyRun := false
		for _, r := range rule.NeedsOneOf {
			names = append(names, r.name())
			if used[r] != "" {
				anyRun = true
			} else {
				why = append(why, missingText(a.Run, r))
			}
		}
		if !anyRun {
			f.NotRun = append(f.NotRun, "one of "+strings.Join(names, " or ")+" to compare with: "+strings.Join(why, "; "))
		}
	}
	groups := map[string]*Group{}
	var missingMetrics []string
	for _, m := range rule.Metrics {
		if g, _ := findingGroup(a, m); g != nil {
			groups[m.Label] = g
		} else {
			missingMetrics = append(missingMetrics, m.Label)
		}
	}
	if len(groups) == 0 {
		f.NotRun = append(f.NotRun, "no "+strings.Join(missingMetrics, ", ")+" in this run")
	}
	if len(f.NotRun) > 0 {
		f.Verdict = VerdictNotRun
		return f
	}
	for _, m := range rule.Metrics {
		g := groups[m.Label]
		if g == nil {
			f.Parts = append(f.Parts, FindingPart{Metric: m.Label, Claim: "measured", Verdict: VerdictCannotTell, Evidence: "not measured in this run"})
			continue
		}
		g, n := findingGroup(a, m)
		if n > 1 {
			f.Notes = append(f.Notes, fmt.Sprintf("%s: %d groups have it; the first (%s) is judged", m.Label, n, ParamsText(g.Params)))
		}
		j := &judging{a: a, m: m, g: g, row: g.Metric(m.Metric), used: used}
		if note := j.belowResolution(rule); note != "" {
			f.Notes = append(f.Notes, note)
			continue
		}
		f.Parts = append(f.Parts, rule.Judge(j)...)
	}
	f.Verdict = combine(f.Parts)
	f.Notes = append(f.Notes, artifactNotes(a, rule, used)...)
	return f
}

// missingText says a tool is not in the run, and why when it was skipped.
func missingText(run *result.Run, r studyRole) string {
	s := r.name() + " (" + strings.Join(r.aliases(), " or ") + ")"
	if why := runtimeSkipped(run, r.aliases()); why != "" {
		s += ": " + why
	}
	return s
}

// findingGroup returns the first group with the metric's workload,
// parameters and metric, and how many groups have them.
func findingGroup(a *Analysis, m findingMetric) (*Group, int) {
	var first *Group
	n := 0
	for gi := range a.Groups {
		g := &a.Groups[gi]
		if g.Workload != m.Workload || !g.HasParams(m.Params) || g.Metric(m.Metric) == nil {
			continue
		}
		if first == nil {
			first = g
		}
		n++
	}
	return first, n
}

// combine: does not hold if one part does not, holds if every part holds,
// otherwise cannot tell (no part at all: cannot tell).
func combine(parts []FindingPart) Verdict {
	if len(parts) == 0 {
		return VerdictCannotTell
	}
	v := VerdictHolds
	for _, p := range parts {
		switch p.Verdict {
		case VerdictDoesNot:
			return VerdictDoesNot
		case VerdictCannotTell, VerdictNotRun:
			v = VerdictCannotTell
		}
	}
	return v
}

// artifactNotes names the known artifacts behind the differences a
// finding reads.
func artifactNotes(a *Analysis, rule findingRule, used map[studyRole]string) []string {
	var notes []string
	reads, files := false, false
	for _, m := range rule.Metrics {
		if m.Workload == "fileio" {
			files = true
			if m.Params["mode"] == "seqrd" {
				reads = true
			}
		}
	}
	if reads && used[roleFirecracker] != "" {
		m := seqReadMetrics()[0]
		if g, _ := findingGroup(a, m); g != nil && g.Params[storage.ParamDropCaches] != "true" && g.Params["o-direct"] != "true" {
			notes = append(notes, fmt.Sprintf("Firecracker's sequential read comes from the guest's page cache: prepare has just written the files inside the guest and nothing dropped its cache (fileio %s=%s, o-direct=%s), so the read measures the guest's memory rather than its disk, as it likely did in the study. --set fileio.%s=true (or fileio.o-direct=true) reads from the device.",
				storage.ParamDropCaches, cmp.Or(g.Params[storage.ParamDropCaches], "false"), cmp.Or(g.Params["o-direct"], "false"), storage.ParamDropCaches))
		}
	}
	if files {
		for _, m := range rule.Metrics {
			if m.Workload != "fileio" {
				continue
			}
			g, _ := findingGroup(a, m)
			if g == nil {
				continue
			}
			var fs []string
			kinds := map[string]bool{}
			for _, rc := range g.Runtimes {
				if !isStudyRuntime(rc.Runtime, used) {
					continue
				}
				k := cmp.Or(rc.Attrs[AttrScratchFS], "?")
				kinds[k] = true
				fs = append(fs, rc.Runtime+" "+k)
			}
			if len(kinds) > 1 {
				notes = append(notes, "The files were on different filesystems ("+strings.Join(fs, ", ")+"): part of a difference is the filesystem's, not the isolation's.")
			}
			break
		}
	}
	if rs := used[roleRunsc]; rs != "" && files && involves(rule, roleRunsc) {
		for _, r := range a.Run.Runtimes {
			if r.Name == rs && r.Features["platform"] == "ptrace" {
				notes = append(notes, rs+" ran on gVisor's ptrace platform, its slowest: the study's runsc may have used another, and syscall-heavy work (file I/O) costs more here.")
			}
		}
	}
	return notes
}

func isStudyRuntime(rt string, used map[studyRole]string) bool {
	for _, u := range used {
		if u == rt {
			return true
		}
	}
	return false
}

func involves(rule findingRule, r studyRole) bool {
	for _, n := range append(append([]studyRole(nil), rule.Needs...), rule.NeedsOneOf...) {
		if n == r {
			return true
		}
	}
	return false
}

// judging holds one metric of one finding while its parts are judged.
type judging struct {
	a    *Analysis
	m    findingMetric
	g    *Group
	row  *MetricRow
	used map[studyRole]string
}

// cell returns the tool's cell of the metric, nil when the tool has none
// in this group.
func (j *judging) cell(r studyRole) *Cell {
	rt := j.used[r]
	if rt == "" {
		return nil
	}
	for i := range j.row.Cells {
		if j.row.Cells[i].Runtime == rt {
			return &j.row.Cells[i]
		}
	}
	return nil
}

func (j *judging) unit() string { return j.row.Metric.Unit }
func (j *judging) hib() bool    { return j.row.Metric.HigherIsBetter }

// belowResolution says why the metric is left out when a tool's median
// is 0 (below the tool's print resolution), or "".
func (j *judging) belowResolution(rule findingRule) string {
	var zero []string
	for r := roleDockerRunc; r <= roleFirecracker; r++ {
		if c := j.cell(r); c != nil && c.Summary.N > 0 && c.Summary.Median == 0 && !slices.Contains(zero, c.Runtime) {
			zero = append(zero, c.Runtime)
		}
	}
	if len(zero) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: left out: the median of %s is 0, below sysbench's print resolution", j.m.Label, strings.Join(zero, ", "))
}

// describe renders a cell: median [interval], ×ratio [interval] of the
// baseline, "~" when not significant (as the tables mark it).
func (j *judging) describe(c *Cell) string {
	if c.Summary.N == 0 {
		return c.Runtime + " (no successful trial)"
	}
	s := c.Runtime + " " + FormatValue(c.Summary.Median, j.unit())
	if c.Summary.CI.Defined() {
		s += " [" + FormatValue(c.Summary.CI.Lo, j.unit()) + ", " + FormatValue(c.Summary.CI.Hi, j.unit()) + "]"
	}
	if c.Ratio != nil {
		s += fmt.Sprintf(", ×%.2f [%.2f, %.2f] of %s", c.Ratio.Ratio, c.Ratio.Lo, c.Ratio.Hi, j.a.Baseline)
		if !c.Significant {
			s += " ~"
		}
	}
	return s
}

// relation is how one cell compares with another.
type relation int

const (
	relUnknown relation = iota // no data or no interval to compare
	relBetter
	relWorse
	relPar
	relUnclear // more than ParBand apart, intervals overlap
)

type comparison struct {
	rel relation
	// factor is the larger median over the smaller, in the metric's
	// direction.
	factor float64
	why    string
}

// interval returns the cell's interval to compare with another's: the
// median's interval, or the ratio's (then in ratio units) when the median
// has none.
func interval(c *Cell, ratio bool) (lo, hi float64, ok bool) {
	if !ratio {
		return c.Summary.CI.Lo, c.Summary.CI.Hi, c.Summary.CI.Defined()
	}
	if c.Ratio == nil {
		return 0, 0, false
	}
	return c.Ratio.Lo, c.Ratio.Hi, true
}

// precise reports whether a cell's interval (the median's, or the
// ratio's) is within ±(ParBand−1) of its centre: the value is known well
// enough to call it on a par with another.
func precise(c *Cell, ratio bool) bool {
	lo, hi, ok := interval(c, ratio)
	if !ok {
		return false
	}
	mid := c.Summary.Median
	if ratio {
		mid = c.Ratio.Ratio
	}
	return mid > 0 && math.Max(mid-lo, hi-mid)/mid <= ParBand-1
}

// compare compares a with b (see FindingsDefinitions).
func (j *judging) compare(a, b *Cell) comparison {
	if a.Summary.N == 0 || b.Summary.N == 0 || a.Summary.Median <= 0 || b.Summary.Median <= 0 {
		return comparison{rel: relUnknown, why: "no median to compare"}
	}
	adv := b.Summary.Median / a.Summary.Median // > 1: a better (lower)
	if j.hib() {
		adv = 1 / adv
	}
	factor := math.Max(adv, 1/adv)
	ratio := !a.Summary.CI.Defined() || !b.Summary.CI.Defined()
	if factor <= ParBand {
		if precise(a, ratio) && precise(b, ratio) {
			return comparison{rel: relPar, factor: factor, why: fmt.Sprintf("on a par: medians ×%.3f apart, within ±%g%%", factor, (ParBand-1)*100)}
		}
		return comparison{rel: relUnclear, factor: factor, why: fmt.Sprintf("medians ×%.3f apart, but an interval is wider than ±%g%%", factor, (ParBand-1)*100)}
	}
	alo, ahi, aok := interval(a, ratio)
	blo, bhi, bok := interval(b, ratio)
	if !aok || !bok {
		return comparison{rel: relUnknown, factor: factor, why: fmt.Sprintf("medians ×%.2f apart, but without intervals to tell them apart", factor)}
	}
	what := "the medians' intervals"
	if ratio {
		what = "the ratio intervals"
	}
	if ahi < blo || bhi < alo {
		if adv > 1 {
			return comparison{rel: relBetter, factor: factor, why: fmt.Sprintf("better by ×%.2f, %s apart", factor, what)}
		}
		return comparison{rel: relWorse, factor: factor, why: fmt.Sprintf("worse by ×%.2f, %s apart", factor, what)}
	}
	return comparison{rel: relUnclear, factor: factor, why: fmt.Sprintf("×%.2f apart, but %s overlap", factor, what)}
}

// part starts a part of the claim about a tool.
func (j *judging) part(r studyRole, claim string) FindingPart {
	return FindingPart{Metric: j.m.Label, Claim: r.name() + " " + claim}
}

// absent fills a part whose tool has no cell in the group.
func (j *judging) absent(p FindingPart, r studyRole) FindingPart {
	p.Verdict = VerdictCannotTell
	p.Evidence = fmt.Sprintf("%s has no %s trials", j.used[r], j.m.Label)
	return p
}

// rank judges "r is best" (want relWorse absent) or "r is worst" among
// the tools run here.
func (j *judging) rank(r studyRole, tools []studyRole, claim string, worst bool) FindingPart {
	p := j.part(r, claim)
	c := j.cell(r)
	if c == nil {
		return j.absent(p, r)
	}
	against, beaten := relWorse, relBetter
	if worst {
		against, beaten = relBetter, relWorse
	}
	var ev, failed, unclear, ties []string
	ev = append(ev, j.describe(c))
	n := 0
	for _, o := range tools {
		oc := j.cell(o)
		if o == r || oc == nil || oc.Runtime == c.Runtime {
			continue
		}
		n++
		cmp := j.compare(c, oc)
		ev = append(ev, "vs "+j.describe(oc)+": "+cmp.why)
		switch cmp.rel {
		case against:
			failed = append(failed, oc.Runtime)
		case relPar:
			ties = append(ties, oc.Runtime)
		case relUnknown, relUnclear:
			unclear = append(unclear, oc.Runtime)
		case beaten:
		}
	}
	switch {
	case n == 0:
		p.Verdict = VerdictCannotTell
		ev = append(ev, "no other study tool run here to rank it against")
	case len(failed) > 0:
		p.Verdict = VerdictDoesNot
	case len(unclear) > 0:
		p.Verdict = VerdictCannotTell
	default:
		p.Verdict = VerdictHolds
		if len(ties) > 0 {
			ev = append(ev, "tied with "+strings.Join(ties, ", "))
		}
	}
	p.Evidence = strings.Join(ev, "; ")
	return p
}

func (j *judging) best(r studyRole, tools []studyRole, claim string) FindingPart {
	return j.rank(r, tools, claim, false)
}

func (j *judging) worst(r studyRole, tools []studyRole, claim string) FindingPart {
	return j.rank(r, tools, claim, true)
}

// pair judges a claim about two tools from their comparison.
func (j *judging) pair(a, b studyRole, claim string, verdict func(comparison) Verdict) FindingPart {
	p := j.part(a, claim+" "+b.name())
	ca, cb := j.cell(a), j.cell(b)
	switch {
	case ca == nil:
		return j.absent(p, a)
	case cb == nil:
		return j.absent(p, b)
	}
	cmp := j.compare(ca, cb)
	p.Verdict = verdict(cmp)
	p.Evidence = j.describe(ca) + " vs " + j.describe(cb) + ": " + cmp.why
	return p
}

// par: on a par holds, better or worse does not, otherwise cannot tell.
func (j *judging) par(a, b studyRole, claim string) FindingPart {
	return j.pair(a, b, claim, func(c comparison) Verdict {
		switch c.rel {
		case relPar:
			return VerdictHolds
		case relBetter, relWorse:
			return VerdictDoesNot
		}
		return VerdictCannotTell
	})
}

// beats: better holds, on a par or worse does not, otherwise cannot tell.
func (j *judging) beats(a, b studyRole) FindingPart {
	return j.pair(a, b, "beats", func(c comparison) Verdict {
		switch c.rel {
		case relBetter:
			return VerdictHolds
		case relPar, relWorse:
			return VerdictDoesNot
		}
		return VerdictCannotTell
	})
}

// widely: medians WideFactor or more apart with intervals apart holds;
// intervals' far ends less than WideFactor apart does not.
func (j *judging) widely(a, b studyRole) FindingPart {
	p := j.part(a, "and "+b.name()+" differ widely")
	ca, cb := j.cell(a), j.cell(b)
	switch {
	case ca == nil:
		return j.absent(p, a)
	case cb == nil:
		return j.absent(p, b)
	}
	cmp := j.compare(ca, cb)
	p.Evidence = j.describe(ca) + " vs " + j.describe(cb) + ": " + cmp.why
	switch {
	case cmp.rel == relUnknown && cmp.factor == 0:
		p.Verdict = VerdictCannotTell
	case cmp.factor >= WideFactor && (cmp.rel == relBetter || cmp.rel == relWorse):
		p.Verdict = VerdictHolds
	case cmp.rel == relPar:
		p.Verdict = VerdictDoesNot
	default:
		// The widest the two could be apart: the far ends of their
		// intervals.
		alo, ahi, aok := interval(ca, false)
		blo, bhi, bok := interval(cb, false)
		if aok && bok && alo > 0 && blo > 0 && math.Max(ahi/blo, bhi/alo) < WideFactor {
			p.Verdict = VerdictDoesNot
			p.Evidence += fmt.Sprintf("; even the intervals' far ends are less than ×%g apart", WideFactor)
		} else {
			p.Verdict = VerdictCannotTell
		}
	}
	return p
}

// overhead: significantly worse than the baseline by more than ParBand.
func (j *judging) overhead(r studyRole) FindingPart {
	p := j.part(r, "adds overhead")
	c := j.cell(r)
	if c == nil {
		return j.absent(p, r)
	}
	p.Evidence = j.describe(c)
	if c.Ratio == nil {
		p.Verdict = VerdictCannotTell
		p.Evidence += ": no ratio to " + cmp.Or(j.a.Baseline, "-")
		if c.RatioError != "" {
			p.Evidence += " (" + c.RatioError + ")"
		}
		return p
	}
	cost := c.Ratio.Ratio // > 1: worse than the baseline
	if j.hib() {
		cost = 1 / cost
	}
	switch {
	case cost <= ParBand:
		p.Verdict = VerdictDoesNot
		p.Evidence += fmt.Sprintf(": within ±%g%% of %s or better", (ParBand-1)*100, j.a.Baseline)
	case c.Significant:
		p.Verdict = VerdictHolds
	default:
		p.Verdict = VerdictCannotTell
		p.Evidence += ": not significant"
	}
	return p
}
