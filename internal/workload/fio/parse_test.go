package fio

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The *.json files in testdata are fio's real output, captured on host,
// runc, crun and runsc by the runtime tests (go test -run OnRuntimes
// -capture): seqread and randwrite built-in jobs of 8m with 4k blocks, and
// a two-job profile (profile-*.json).

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type recorder struct {
	samples map[string]float64
	attrs   map[string]string
}

func newRecorder() *recorder {
	return &recorder{samples: map[string]float64{}, attrs: map[string]string{}}
}

func (r *recorder) Sample(m string, v float64) { r.samples[m] = v }
func (r *recorder) Attr(k, v string)           { r.attrs[k] = v }
func (r *recorder) Raw(string, string)         {}

func mustRead(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func captured(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".golden.json") {
			out = append(out, f)
		}
	}
	if len(out) < 8 {
		t.Fatalf("want captured fio outputs of host, runc, crun and runsc in testdata, found %v", out)
	}
	return out
}

// jobOf is the job a captured file is of: its name's first part.
func jobOf(file string) string {
	j := strings.Split(filepath.Base(file), "-")[0]
	if j == "profile" {
		return JobProfile
	}
	return j
}

// TestRecordGolden records every captured output and compares the samples
// with the golden file beside it.
func TestRecordGolden(t *testing.T) {
	for _, f := range captured(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rec := newRecorder()
			if err := record(mustRead(t, f), jobOf(f), rec); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(f, ".json") + ".golden.json"
			b, err := json.MarshalIndent(rec.samples, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			var want map[string]float64
			if err := json.Unmarshal([]byte(mustRead(t, golden)), &want); err != nil {
				t.Fatal(err)
			}
			if len(want) != len(rec.samples) {
				t.Errorf("recorded %d samples, golden has %d", len(rec.samples), len(want))
			}
			for k, w := range want {
				if g, ok := rec.samples[k]; !ok || math.Abs(g-w) > 1e-12*math.Max(1, math.Abs(w)) {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, w)
				}
			}
		})
	}
}

// TestParseValues checks one captured output against its JSON read by hand,
// in base units.
func TestParseValues(t *testing.T) {
	text := mustRead(t, "testdata/seqread-runsc.json")
	var raw struct {
		Jobs []struct {
			Read struct {
				BW   float64 `json:"bw_bytes"`
				IOPS float64 `json:"iops"`
				IO   float64 `json:"io_bytes"`
				Clat struct {
					Mean float64            `json:"mean"`
					P    map[string]float64 `json:"percentile"`
				} `json:"clat_ns"`
			} `json:"read"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		t.Fatal(err)
	}
	rd := raw.Jobs[0].Read
	r, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if r.Write != nil || r.Read == nil {
		t.Fatalf("seqread: read %v, write %v", r.Read, r.Write)
	}
	want := map[string][2]float64{
		"bw":    {r.Read.BytesPerSec, rd.BW},
		"iops":  {r.Read.IOPS, rd.IOPS},
		"bytes": {r.Read.Bytes, rd.IO},
		"mean":  {r.Read.ClatMean, rd.Clat.Mean / 1e9},
		"p50":   {r.Read.ClatP[50], rd.Clat.P["50.000000"] / 1e9},
		"p95":   {r.Read.ClatP[95], rd.Clat.P["95.000000"] / 1e9},
		"p99":   {r.Read.ClatP[99], rd.Clat.P["99.000000"] / 1e9},
	}
	for k, gw := range want {
		if gw[1] <= 0 || math.Abs(gw[0]-gw[1]) > 1e-12*gw[1] {
			t.Errorf("%s = %v, want %v", k, gw[0], gw[1])
		}
	}
	if r.Version != "fio-3.33" || r.Job != "seqread" {
		t.Errorf("version %q job %q", r.Version, r.Job)
	}
}

// TestParseTruncated cuts a real output at every byte: each cut is an
// error, never a result.
func TestParseTruncated(t *testing.T) {
	full := mustRead(t, "testdata/randwrite-runc.json")
	end := strings.LastIndex(full, "}")
	for cut := 0; cut < end; cut++ {
		rec := newRecorder()
		if err := record(full[:cut], "randwrite", rec); err == nil {
			t.Fatalf("output cut at byte %d parsed without error", cut)
		}
		if len(rec.samples)+len(rec.attrs) != 0 {
			t.Fatalf("output cut at byte %d recorded %v", cut, rec.samples)
		}
	}
}

func TestParseErrors(t *testing.T) {
	good := mustRead(t, "testdata/seqread-host.json")
	twoGroups := func() string {
		var v map[string]any
		if err := json.Unmarshal([]byte(good), &v); err != nil {
			t.Fatal(err)
		}
		jobs := v["jobs"].([]any)
		second := map[string]any{}
		for k, x := range jobs[0].(map[string]any) {
			second[k] = x
		}
		second["jobname"], second["groupid"] = "other", 1
		v["jobs"] = append(jobs, second)
		b, _ := json.Marshal(v)
		return string(b)
	}
	cases := []struct {
		name, out, job, want string
	}{
		{"empty", "", "seqread", "no JSON document"},
		{"text", "fio: pid=12, err=22/file:filesetup.c:1035, func=open, error=Invalid argument\n", "seqread", "no JSON document"},
		{"not fio", `{"jobs": []}`, "seqread", `no "fio version"`},
		{"no jobs", `{"fio version": "fio-3.33", "jobs": []}`, "seqread", "has no jobs"},
		{"two groups", twoGroups(), "seqread", "2 job groups"},
		{"job error", strings.Replace(good, `"error" : 0`, `"error" : 5`, 1), "seqread", "failed with error 5"},
		{"no percentile", strings.Replace(good, `"95.000000"`, `"96.000000"`, 1), "seqread", "no 95th percentile"},
		{"no clat", strings.Replace(good, `"clat_ns"`, `"xclat_ns"`, 1), "seqread", `read has no "clat_ns"`},
		{"no iops", strings.Replace(good, `"iops" :`, `"xiops" :`, 1), "seqread", `read has no "iops"`},
		{"negative", strings.Replace(good, `"bw_bytes" : `, `"bw_bytes" : -`, 1), "seqread", "bw_bytes is -"},
		{"zero bw", strings.Replace(good, `"bw_bytes" : `, `"bw_bytes" : 0, "x" : `, 1), "seqread", "reports"},
		{"wrong direction", good, "randwrite", "did no writes"},
		{"no read section", strings.Replace(good, `"read" :`, `"reed" :`, 1), "seqread", `no "read" section`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := newRecorder()
			err := record(c.out, c.job, rec)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if len(rec.samples) != 0 {
				t.Fatalf("recorded %v", rec.samples)
			}
		})
	}
}

// TestParseLeadingText: fio's notes before the JSON are skipped.
func TestParseLeadingText(t *testing.T) {
	out := "note: both iodepth >= 1 and synchronous I/O engine are selected, queue depth will be capped at 1\n" + mustRead(t, "testdata/seqread-crun.json")
	if _, err := Parse(out); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && !strings.HasSuffix(p, ".golden.json") {
			f.Add(string(b), jobOf(p))
		}
	}
	f.Fuzz(func(t *testing.T, out, job string) {
		rec := newRecorder()
		if err := record(out, job, rec); err != nil {
			if len(rec.samples) != 0 {
				t.Fatalf("error %v but recorded %v", err, rec.samples)
			}
			return
		}
		if len(rec.samples) == 0 {
			t.Fatal("no error and no samples")
		}
		for k, v := range rec.samples {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("%s = %v", k, v)
			}
		}
	})
}
