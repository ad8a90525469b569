package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/result"
)

// TestEmulatedRuntimeMarked checks that a runtime recorded as running under
// software emulation is marked beside its name in every table format.
func TestEmulatedRuntimeMarked(t *testing.T) {
	run := &result.Run{ID: "r", Baseline: "host", Seed: 1,
		Runtimes: []result.Runtime{{Name: "host"}, {Name: "qemu-microvm", Features: map[string]string{"accel": "tcg"}}}}
	for i, rt := range []string{"host", "qemu-microvm"} {
		for k := 0; k < 6; k++ {
			run.Trials = append(run.Trials, result.Trial{Seq: i*6 + k, Index: k, Status: result.StatusOK,
				Cell:    result.Cell{Runtime: rt, Workload: "cpu"},
				Samples: []result.Sample{{Metric: "events_per_sec", Unit: "ops/s", Value: float64(100*(i+1) + k)}},
				Start:   time.Unix(0, 0), End: time.Unix(1, 0)})
		}
	}
	rep := Build(run, nil)
	for _, f := range []Format{FormatText, FormatMarkdown, FormatHTML} {
		var b bytes.Buffer
		if err := rep.Write(&b, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out := b.String()
		if !strings.Contains(out, "qemu-microvm"+analysis.EmulatedMark) {
			t.Errorf("%s: emulated runtime not marked", f)
		}
		if strings.Contains(out, "host"+analysis.EmulatedMark) {
			t.Errorf("%s: host marked as emulated", f)
		}
	}
}
