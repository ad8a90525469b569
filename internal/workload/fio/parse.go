package fio

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxOutput bounds the fio output the parser accepts.
const maxOutput = 8 << 20

// Percentiles are the completion-latency percentiles isobench asks fio for
// (--percentile_list) and records.
func Percentiles() []float64 { return []float64{50, 95, 99} }

// PercentileList is Percentiles in fio's option syntax.
const PercentileList = "50:95:99"

// Output is the part of fio's JSON output (--output-format=json) isobench
// reads.
type Output struct {
	Version string `json:"fio version"`
	Jobs    []Job  `json:"jobs"`
}

// Job is one job (or, with group_reporting, one group of jobs).
type Job struct {
	Name    string `json:"jobname"`
	GroupID int    `json:"groupid"`
	Error   int    `json:"error"`
	Read    *Dir   `json:"read"`
	Write   *Dir   `json:"write"`
	Trim    *Dir   `json:"trim"`
}

// Dir is one direction's figures of a job.
type Dir struct {
	IOBytes  *float64 `json:"io_bytes"`
	BWBytes  *float64 `json:"bw_bytes"`
	IOPS     *float64 `json:"iops"`
	Runtime  *float64 `json:"runtime"`
	TotalIOs *float64 `json:"total_ios"`
	Clat     *Lat     `json:"clat_ns"`
}

// Lat is a latency distribution in nanoseconds.
type Lat struct {
	Min        *float64           `json:"min"`
	Max        *float64           `json:"max"`
	Mean       *float64           `json:"mean"`
	N          *float64           `json:"N"`
	Percentile map[string]float64 `json:"percentile"`
}

// Figures are one direction's results in base units.
type Figures struct {
	BytesPerSec float64
	IOPS        float64
	Bytes       float64
	// ClatMean and ClatP are completion latencies in seconds; ClatP is
	// keyed by the percentile (50, 95, 99).
	ClatMean float64
	ClatMin  float64
	ClatMax  float64
	ClatP    map[float64]float64
}

// Result is what one fio run measured: each direction that did I/O.
type Result struct {
	Version string
	Job     string
	Read    *Figures
	Write   *Figures
}

// Parse reads fio's JSON output. Text before the JSON document (fio's notes
// on stdout) is skipped; the document must hold exactly one job entry with
// no error, and every direction that did I/O must have all its figures.
func Parse(out string) (*Result, error) {
	if len(out) > maxOutput {
		return nil, fmt.Errorf("fio output is %d bytes, more than the %d accepted", len(out), maxOutput)
	}
	start := jsonStart(out)
	if start < 0 {
		return nil, fmt.Errorf("fio output has no JSON document (run with --output-format=json); it starts %q", clip(strings.TrimSpace(out), 120))
	}
	dec := json.NewDecoder(strings.NewReader(out[start:]))
	var o Output
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("fio JSON output: %w (truncated or not fio's?)", err)
	}
	if !strings.HasPrefix(o.Version, "fio-") {
		return nil, fmt.Errorf("fio JSON output: no \"fio version\" (got %q): not fio's output", clip(o.Version, 40))
	}
	switch len(o.Jobs) {
	case 0:
		return nil, errors.New("fio JSON output has no jobs")
	case 1:
	default:
		var names []string
		for _, j := range o.Jobs {
			names = append(names, fmt.Sprintf("%q (group %d)", clip(j.Name, 40), j.GroupID))
		}
		return nil, fmt.Errorf("fio reported %d job groups (%s); isobench records one: put every job of the file in one group (no stonewall or new_group)", len(o.Jobs), strings.Join(names, ", "))
	}
	j := o.Jobs[0]
	if j.Error != 0 {
		return nil, fmt.Errorf("fio job %q failed with error %d", clip(j.Name, 40), j.Error)
	}
	r := &Result{Version: o.Version, Job: j.Name}
	var err error
	if r.Read, err = figures("read", j.Read); err != nil {
		return nil, err
	}
	if r.Write, err = figures("write", j.Write); err != nil {
		return nil, err
	}
	if r.Read == nil && r.Write == nil {
		return nil, fmt.Errorf("fio job %q did no reads and no writes: nothing was measured", clip(j.Name, 40))
	}
	return r, nil
}

// jsonStart finds the start of the JSON document: the first line that
// begins with "{".
func jsonStart(out string) int {
	for i := 0; i < len(out); {
		if out[i] == '{' {
			return i
		}
		nl := strings.IndexByte(out[i:], '\n')
		if nl < 0 {
			return -1
		}
		i += nl + 1
	}
	return -1
}

// figures reads one direction; a direction that did no I/O gives nil.
func figures(name string, d *Dir) (*Figures, error) {
	if d == nil {
		return nil, fmt.Errorf("fio JSON output: job has no %q section", name)
	}
	num := func(field string, p *float64) (float64, error) {
		if p == nil {
			return 0, fmt.Errorf("fio JSON output: %s has no %q", name, field)
		}
		if math.IsNaN(*p) || math.IsInf(*p, 0) || *p < 0 {
			return 0, fmt.Errorf("fio JSON output: %s %s is %v", name, field, *p)
		}
		return *p, nil
	}
	ios, err := num("total_ios", d.TotalIOs)
	if err != nil {
		return nil, err
	}
	if ios == 0 {
		return nil, nil
	}
	f := &Figures{ClatP: map[float64]float64{}}
	if f.Bytes, err = num("io_bytes", d.IOBytes); err != nil {
		return nil, err
	}
	if f.BytesPerSec, err = num("bw_bytes", d.BWBytes); err != nil {
		return nil, err
	}
	if f.IOPS, err = num("iops", d.IOPS); err != nil {
		return nil, err
	}
	if f.Bytes == 0 || f.BytesPerSec == 0 || f.IOPS == 0 {
		return nil, fmt.Errorf("fio JSON output: %s did %v I/Os but reports %v bytes at %v B/s and %v IOPS", name, ios, f.Bytes, f.BytesPerSec, f.IOPS)
	}
	c := d.Clat
	if c == nil {
		return nil, fmt.Errorf("fio JSON output: %s has no \"clat_ns\"", name)
	}
	for _, v := range []struct {
		field string
		p     *float64
		dst   *float64
	}{{"clat_ns.mean", c.Mean, &f.ClatMean}, {"clat_ns.min", c.Min, &f.ClatMin}, {"clat_ns.max", c.Max, &f.ClatMax}} {
		x, err := num(v.field, v.p)
		if err != nil {
			return nil, err
		}
		*v.dst = x / 1e9
	}
	for _, want := range Percentiles() {
		v, ok := percentile(c.Percentile, want)
		if !ok {
			return nil, fmt.Errorf("fio JSON output: %s clat_ns has no %gth percentile (isobench runs fio with --percentile_list=%s; a job file must not set its own)", name, want, PercentileList)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("fio JSON output: %s clat %gth percentile is %v", name, want, v)
		}
		f.ClatP[want] = v / 1e9
	}
	return f, nil
}

// percentile finds a percentile in fio's map, whose keys are numbers in
// text ("95.000000").
func percentile(m map[string]float64, want float64) (float64, bool) {
	for k, v := range m {
		if p, err := strconv.ParseFloat(strings.TrimSpace(k), 64); err == nil && p == want {
			return v, true
		}
	}
	return 0, false
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
