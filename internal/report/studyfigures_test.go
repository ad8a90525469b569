package report

import (
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/analysis/analysistest"
	"github.com/isobench/isobench/internal/builtin"
)

// TestStudyFiguresAsDrawn checks that a run of the study's workloads has
// the study's figures 6 to 10, one each, with sequential read (figure 7)
// apart from write and rewrite (figure 8), so that each has an axis that
// fits its values.
func TestStudyFiguresAsDrawn(t *testing.T) {
	rep := Build(analysistest.StudyRun(analysistest.StudyMedians(), nil), builtin.Workloads())
	var got []string
	byID := map[string]Figure{}
	for _, f := range rep.Figures {
		if f.Study {
			got = append(got, f.ID+"="+f.StudyFigure)
			byID[f.ID] = f
		}
	}
	want := "cpu-latency=6 fileio-read=7 fileio-write=8 memory-time=9 memory-latency=10"
	if strings.Join(got, " ") != want {
		t.Fatalf("study figures %v, want %s", got, want)
	}
	top := func(f Figure) float64 {
		m := 0.0
		for _, c := range f.Clusters {
			for _, b := range c.Bars {
				m = max(m, b.Hi, b.Median)
			}
		}
		return m
	}
	rd, wr := byID["fileio-read"], byID["fileio-write"]
	if len(rd.Clusters) != 1 || rd.Clusters[0].Label != "sequential read" {
		t.Errorf("figure 7 has %+v", rd.Clusters)
	}
	if len(wr.Clusters) != 2 || wr.Clusters[0].Label != "sequential write" || wr.Clusters[1].Label != "sequential rewrite" {
		t.Errorf("figure 8 has %+v", wr.Clusters)
	}
	// The writes' axis ends near their own largest value, not the reads'.
	if r := top(rd) / top(wr); r < 20 {
		t.Errorf("reads' top %.0f, writes' top %.0f: the synthetic run should have reads far above writes", top(rd), top(wr))
	}
	for _, f := range []Figure{rd, wr} {
		svg, err := figureSVG(&f, runtimeColors(f.Runtimes))
		if err != nil {
			t.Fatal(err)
		}
		if f.ID == "fileio-write" && strings.Contains(string(svg), ">10000<") {
			t.Errorf("figure 8's axis reaches the reads' values")
		}
	}
}
