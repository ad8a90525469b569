package report

import (
	"bytes"
	"encoding/json"
	"html"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/analysis/analysistest"
	"github.com/isobench/isobench/internal/builtin"
)

// TestStudyFindingsShown checks when the section appears.
func TestStudyFindingsShown(t *testing.T) {
	reg := builtin.Workloads()
	if f := Build(loadRun(t, "cpu-4runtimes"), reg).Findings; f != nil {
		t.Errorf("a cpu run of host, runc, crun, runsc: findings section shown, nothing in it can be judged")
	}
	f := Build(loadRun(t, "sysbench-host-runc"), reg).Findings
	if f == nil {
		t.Fatal("a run of the study's three workloads has no findings section")
	}
	for _, fd := range f.Findings {
		if fd.Verdict != analysis.VerdictNotRun || len(fd.NotRun) == 0 {
			t.Errorf("host and runc only: finding %d is %s (%v)", fd.N, fd.Verdict, fd.NotRun)
		}
	}
	// In every format.
	rep := Build(analysistest.StudyRun(analysistest.StudyMedians(), nil), reg)
	for _, format := range []Format{FormatText, FormatJSON, FormatMarkdown, FormatHTML} {
		var buf bytes.Buffer
		if err := rep.Write(&buf, format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), analysis.FindingsTitle) && !strings.Contains(buf.String(), html.EscapeString(analysis.FindingsTitle)) {
			t.Errorf("%s report has no section %q", format, analysis.FindingsTitle)
		}
	}
	var buf bytes.Buffer
	if err := Text(&buf, rep.Run, reg, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), analysis.FindingsTitle) || !strings.Contains(buf.String(), "1. holds         CPU: Incus") {
		t.Errorf("the terminal table has no short findings section:\n%s", buf.String())
	}
}

// TestGoldenFindings keeps the section of a synthetic run of the study's
// runtimes in text, HTML and JSON: findings 1 and 2 hold; runsc writes
// slowest, so finding 3 does not hold; Firecracker is noisy on memory, so
// findings 4 to 6 cannot tell. (The fixture sysbench-host-runc's reports
// have every finding not run here.)
func TestGoldenFindings(t *testing.T) {
	m := analysistest.StudyMedians()
	m["docker:runsc"][analysistest.StudyCell{Workload: "fileio", Mode: "seqwr", Metric: "write_bytes_per_sec"}] = 100 * (1 << 20)
	m["firecracker"][analysistest.StudyCell{Workload: "memory", Metric: "total_time"}] = 10.7
	rep := Build(analysistest.StudyRun(m, map[string]float64{"firecracker/memory": 0.3}), builtin.Workloads())
	want := []analysis.Verdict{analysis.VerdictHolds, analysis.VerdictHolds, analysis.VerdictDoesNot, analysis.VerdictCannotTell, analysis.VerdictCannotTell, analysis.VerdictCannotTell}
	for i, fd := range rep.Findings.Findings {
		if fd.Verdict != want[i] {
			t.Errorf("finding %d: %s, want %s", fd.N, fd.Verdict, want[i])
		}
	}
	var txt bytes.Buffer
	if err := writeFindingsText(&txt, rep.Findings, rep.Run.ID, false); err != nil {
		t.Fatal(err)
	}
	golden(t, "study-findings.txt", txt.Bytes())

	var page bytes.Buffer
	if err := rep.HTML(&page); err != nil {
		t.Fatal(err)
	}
	s := page.String()
	i, j := strings.Index(s, `<section id="findings">`), strings.Index(s, "</section>")
	if i < 0 || j < i {
		t.Fatal("no findings section in the HTML page")
	}
	golden(t, "study-findings.html", []byte(s[i:j+len("</section>")]+"\n"))

	var doc struct {
		Findings *analysis.Findings `json:"findings"`
	}
	var js bytes.Buffer
	if err := rep.JSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil || doc.Findings == nil {
		t.Fatalf("JSON report without findings (%v)", err)
	}
	out, err := json.MarshalIndent(doc.Findings, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "study-findings.json", append(out, '\n'))
}
