package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
)

// jsonReport is the JSON form of a report: the run's record, the
// environment (raw and as Table 1), the method, warnings, the analysis of
// every group, the figures' data, failed trials, and every trial with its
// samples and raw tool output.
type jsonReport struct {
	// SchemaVersion changes when a field scripts rely on changes meaning
	// or goes away (see JSONSchemaVersion).
	SchemaVersion    int                `json:"schema_version"`
	Run              jsonRun            `json:"run"`
	Environment      map[string]string  `json:"environment,omitempty"`
	EnvironmentTable []EnvRow           `json:"environment_table,omitempty"`
	Runtimes         []result.Runtime   `json:"runtimes,omitempty"`
	Skipped          []result.Skip      `json:"skipped,omitempty"`
	Warnings         []stats.Warning    `json:"warnings,omitempty"`
	Method           Method             `json:"method"`
	Groups           []analysis.Group   `json:"groups"`
	Figures          []Figure           `json:"figures,omitempty"`
	Curves           []Curve            `json:"curves,omitempty"`
	Findings         *analysis.Findings `json:"findings,omitempty"`
	Failures         []Failure          `json:"failures,omitempty"`
	Trials           []result.Trial     `json:"trials"`
}

type jsonRun struct {
	ID       string           `json:"id"`
	Started  time.Time        `json:"started"`
	Ended    time.Time        `json:"ended,omitzero"`
	Status   result.RunStatus `json:"status,omitempty"`
	Command  []string         `json:"command,omitempty"`
	Version  string           `json:"version,omitempty"`
	Seed     int64            `json:"seed"`
	Order    string           `json:"order,omitempty"`
	Profile  string           `json:"profile,omitempty"`
	Baseline string           `json:"baseline,omitempty"`
	Suite    json.RawMessage  `json:"suite,omitempty"`
}

// JSONSchemaVersion is the version of the JSON document that both
// `report --format json` and `run --json` write. Version 1: run, environment,
// environment_table, runtimes, skipped, warnings, method, groups (each
// metric's cells with summary, ratio, compare, p_holm, significant),
// figures, curves, findings (the study's findings tested on the run, when
// it has the study's workloads), failures and trials.
const JSONSchemaVersion = 1

// JSON writes the report as one indented JSON document. Sample values that
// are not finite numbers (which JSON cannot hold) are left out of the
// trials and counted in a warning.
func (r *Report) JSON(w io.Writer) error {
	run := r.Run
	out := jsonReport{
		SchemaVersion: JSONSchemaVersion,
		Run: jsonRun{ID: run.ID, Started: run.Started, Ended: run.Ended, Status: run.Status, Command: run.Command,
			Version: run.Version, Seed: run.Seed, Order: run.Order, Profile: run.Profile, Baseline: run.Baseline},
		Environment: run.Env, EnvironmentTable: r.Environment, Runtimes: run.Runtimes, Skipped: run.Skipped,
		Warnings: r.Warnings, Method: r.Method, Groups: r.Analysis.Groups, Figures: r.Figures, Curves: r.Curves, Findings: r.Findings, Failures: r.Failures,
		Trials: make([]result.Trial, len(run.Trials)),
	}
	if json.Valid([]byte(run.Suite)) {
		out.Run.Suite = json.RawMessage(run.Suite)
	}
	dropped := 0
	for i, t := range run.Trials {
		var samples []result.Sample
		for _, s := range t.Samples {
			if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
				dropped++
				continue
			}
			samples = append(samples, s)
		}
		t.Samples = samples
		out.Trials[i] = t
	}
	if dropped > 0 {
		out.Warnings = append(out.Warnings, stats.Warning{Code: stats.CodeNonFinite,
			Message: fmt.Sprintf("%d sample values are not finite numbers and are left out of the trials", dropped)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("writing JSON report: %w", err)
	}
	return nil
}
