package stats

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// reference is testdata/reference.json, written by testdata/gen_reference.py
// from SciPy, NumPy and statsmodels.
type reference struct {
	MedianCITable []struct {
		N        int     `json:"n"`
		Level    float64 `json:"level"`
		LoOrder  int     `json:"lo_order"`
		Coverage float64 `json:"coverage"`
	} `json:"median_ci_table"`
	MinSamples []struct {
		Level float64 `json:"level"`
		N     int     `json:"n"`
	} `json:"min_samples"`
	Summaries []struct {
		Name     string    `json:"name"`
		Values   []float64 `json:"values"`
		N        int       `json:"n"`
		Mean     float64   `json:"mean"`
		Median   float64   `json:"median"`
		Min      float64   `json:"min"`
		Max      float64   `json:"max"`
		Stddev   float64   `json:"stddev"`
		CV       float64   `json:"cv"`
		Q1       float64   `json:"q1"`
		Q3       float64   `json:"q3"`
		P95      float64   `json:"p95"`
		Outliers []float64 `json:"outliers"`
		CI       []struct {
			Level    float64 `json:"level"`
			LoOrder  int     `json:"lo_order"`
			Coverage float64 `json:"coverage"`
			Lo       float64 `json:"lo"`
			Hi       float64 `json:"hi"`
		} `json:"ci"`
	} `json:"summaries"`
	MannWhitney []struct {
		Name   string    `json:"name"`
		X      []float64 `json:"x"`
		Base   []float64 `json:"base"`
		Method string    `json:"method"`
		U      float64   `json:"u"`
		P      float64   `json:"p"`
	} `json:"mann_whitney"`
	Bootstrap []struct {
		Name      string    `json:"name"`
		X         []float64 `json:"x"`
		Base      []float64 `json:"base"`
		Level     float64   `json:"level"`
		Resamples int       `json:"resamples"`
		Ratio     float64   `json:"ratio"`
		Lo        float64   `json:"lo"`
		Hi        float64   `json:"hi"`
	} `json:"bootstrap"`
	Holm []struct {
		Name     string    `json:"name"`
		P        []float64 `json:"p"`
		Alpha    float64   `json:"alpha"`
		Reject   []bool    `json:"reject"`
		Adjusted []float64 `json:"adjusted"`
	} `json:"holm"`
}

func loadReference(t testing.TB) reference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("parsing reference.json: %v", err)
	}
	if len(r.MedianCITable) == 0 || len(r.Summaries) == 0 || len(r.MannWhitney) == 0 || len(r.Bootstrap) == 0 || len(r.Holm) == 0 {
		t.Fatal("reference.json lacks a section")
	}
	return r
}

// approx reports whether got is within rel (relative) of want, or within
// rel absolutely when want is 0.
func approx(got, want, rel float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= rel*max(math.Abs(want), 1e-300) || (want == 0 && math.Abs(got) <= rel)
}
