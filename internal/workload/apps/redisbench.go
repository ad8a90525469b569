package apps

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// RedisTest is one test's line of redis-benchmark's CSV report, in base
// units: operations per second and latencies in seconds.
type RedisTest struct {
	Name                         string
	OpsPerSec                    float64
	Avg, Min, P50, P95, P99, Max float64
}

// redisColumns are the columns of redis-benchmark 7's CSV report
// (--csv), the test's name first.
var redisColumns = []string{"test", "rps", "avg_latency_ms", "min_latency_ms", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "max_latency_ms"}

// maxRedisReport bounds the report ParseRedisCSV reads.
const maxRedisReport = 1 << 20

// ParseRedisCSV reads redis-benchmark 7's CSV report: a header naming the
// columns of redisColumns (in any order; others are ignored), then one
// line per test. Lines before the header are not CSV and are skipped
// (older versions and errors print there). Each test's name appears once;
// a figure that is missing, not a number or implausible is an error
// naming the test and the column.
func ParseRedisCSV(text string) (map[string]RedisTest, error) {
	if len(text) > maxRedisReport {
		return nil, fmt.Errorf("redis-benchmark report: %d bytes, more than %d", len(text), maxRedisReport)
	}
	start := strings.Index(text, `"test",`)
	if start < 0 {
		return nil, fmt.Errorf("redis-benchmark report: no CSV header (starts %q)", clip(text, 200))
	}
	rd := csv.NewReader(strings.NewReader(text[start:]))
	rd.FieldsPerRecord = -1
	header, err := rd.Read()
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark report: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, c := range redisColumns {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("redis-benchmark report: no column %q (header %q)", c, clip(strings.Join(header, ","), 200))
		}
	}
	out := map[string]RedisTest{}
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("redis-benchmark report: %w", err)
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("redis-benchmark report: a line of %d fields under a header of %d", len(rec), len(header))
		}
		t := RedisTest{Name: rec[col["test"]]}
		if t.Name == "" || len(t.Name) > 100 {
			return nil, fmt.Errorf("redis-benchmark report: test name %q", clip(t.Name, 100))
		}
		if _, dup := out[t.Name]; dup {
			return nil, fmt.Errorf("redis-benchmark report: test %q twice", clip(t.Name, 100))
		}
		for _, f := range []struct {
			col   string
			dst   *float64
			scale float64
		}{{"rps", &t.OpsPerSec, 1}, {"avg_latency_ms", &t.Avg, 1e-3}, {"min_latency_ms", &t.Min, 1e-3},
			{"p50_latency_ms", &t.P50, 1e-3}, {"p95_latency_ms", &t.P95, 1e-3}, {"p99_latency_ms", &t.P99, 1e-3}, {"max_latency_ms", &t.Max, 1e-3}} {
			v, err := strconv.ParseFloat(rec[col[f.col]], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e12 {
				return nil, fmt.Errorf("redis-benchmark report: test %s: %s %q is not a plausible number", clip(t.Name, 100), f.col, clip(rec[col[f.col]], 40))
			}
			*f.dst = v * f.scale
		}
		if t.OpsPerSec <= 0 {
			return nil, fmt.Errorf("redis-benchmark report: test %s: %v operations per second", clip(t.Name, 100), t.OpsPerSec)
		}
		if t.P99 < t.P50 || t.Max < t.P99 || t.P50 < t.Min {
			return nil, fmt.Errorf("redis-benchmark report: test %s: latencies out of order (min %v, p50 %v, p99 %v, max %v s)", clip(t.Name, 100), t.Min, t.P50, t.P99, t.Max)
		}
		out[t.Name] = t
	}
	if len(out) == 0 {
		return nil, errors.New("redis-benchmark report: a header and no test")
	}
	return out, nil
}
