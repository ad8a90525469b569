package apps

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// WrkResult is what isobench reads of wrk 4's report (wrk --latency).
type WrkResult struct {
	Threads, Connections int64
	// Requests completed in Seconds, and the bytes read.
	Requests  int64
	Seconds   float64
	ReadBytes float64
	// RequestsPerSec and TransferPerSec (bytes/s) are wrk's closing
	// figures.
	RequestsPerSec float64
	TransferPerSec float64
	// LatencyAvg and LatencyMax are of the thread statistics; Percentiles
	// maps 50, 75, 90 and 99 to the latency distribution's seconds.
	LatencyAvg, LatencyMax float64
	Percentiles            map[int]float64
	// Non2xx counts responses that were not 2xx or 3xx; the socket
	// errors are wrk's connect, read, write and timeout counts.
	Non2xx                                 int64
	ConnectErr, ReadErr, WriteErr, Timeout int64
}

// maxWrkReport bounds the report ParseWrk reads.
const maxWrkReport = 1 << 20

// ParseWrk reads the text report of wrk --latency. Times are converted to
// seconds and sizes to bytes (wrk prints powers of 1024: 13.76MB is
// 13.76 MiB). A report without its closing figures or its 50th and 99th
// percentiles, or with a figure that is not a plausible number, is an
// error naming it.
func ParseWrk(text string) (WrkResult, error) {
	r := WrkResult{Percentiles: map[int]float64{}}
	if len(text) > maxWrkReport {
		return r, fmt.Errorf("wrk report: %d bytes, more than %d", len(text), maxWrkReport)
	}
	var haveRPS, haveTransfer, haveCount, haveLatency bool
	inDist := false
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		f := strings.Fields(line)
		switch {
		case line == "Latency Distribution":
			inDist = true
			continue
		case inDist && len(f) == 2 && strings.HasSuffix(f[0], "%"):
			pct, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64)
			if err != nil || pct <= 0 || pct > 100 || pct != math.Trunc(pct) {
				return r, fmt.Errorf("wrk report: percentile %q", clip(f[0], 40))
			}
			v, err := wrkTime(f[1])
			if err != nil {
				return r, fmt.Errorf("wrk report: %v%% latency: %w", pct, err)
			}
			r.Percentiles[int(pct)] = v
			continue
		}
		inDist = false
		var err error
		switch {
		case len(f) == 5 && f[1] == "threads" && f[2] == "and" && f[4] == "connections":
			if r.Threads, err = count(f[0]); err == nil {
				r.Connections, err = count(f[3])
			}
		case len(f) >= 4 && f[0] == "Latency" && !haveLatency:
			haveLatency = true
			if r.LatencyAvg, err = wrkTime(f[1]); err == nil {
				r.LatencyMax, err = wrkTime(f[3])
			}
		case len(f) == 6 && f[1] == "requests" && f[2] == "in" && f[5] == "read":
			haveCount = true
			if r.Requests, err = count(f[0]); err != nil {
				break
			}
			if r.Seconds, err = wrkTime(strings.TrimSuffix(f[3], ",")); err != nil {
				break
			}
			r.ReadBytes, err = wrkBytes(f[4])
		case strings.HasPrefix(line, "Socket errors:"):
			err = socketErrors(strings.TrimPrefix(line, "Socket errors:"), &r)
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			r.Non2xx, err = count(strings.TrimSpace(strings.TrimPrefix(line, "Non-2xx or 3xx responses:")))
		case len(f) == 2 && f[0] == "Requests/sec:":
			haveRPS = true
			r.RequestsPerSec, err = number(f[1])
		case len(f) == 2 && f[0] == "Transfer/sec:":
			haveTransfer = true
			r.TransferPerSec, err = wrkBytes(f[1])
		}
		if err != nil {
			return r, fmt.Errorf("wrk report: line %q: %w", clip(line, 100), err)
		}
	}
	switch {
	case !haveCount:
		return r, fmt.Errorf("wrk report: no \"N requests in T, S read\" line (starts %q)", clip(text, 200))
	case !haveRPS || !haveTransfer:
		return r, fmt.Errorf("wrk report: no Requests/sec or Transfer/sec (cut short?)")
	case !hasKeys(r.Percentiles, 50, 99):
		return r, fmt.Errorf("wrk report: no 50th and 99th percentiles (wrk was not run with --latency?)")
	case r.Requests == 0 || r.RequestsPerSec <= 0:
		return r, fmt.Errorf("wrk report: no request completed")
	case r.Seconds <= 0:
		return r, fmt.Errorf("wrk report: a run of %v s", r.Seconds)
	case r.Percentiles[99] < r.Percentiles[50]:
		return r, fmt.Errorf("wrk report: 99th percentile %v s below the median %v s", r.Percentiles[99], r.Percentiles[50])
	}
	return r, nil
}

func hasKeys(m map[int]float64, keys ...int) bool {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

// socketErrors reads "connect 0, read 0, write 0, timeout 0".
func socketErrors(s string, r *WrkResult) error {
	dst := map[string]*int64{"connect": &r.ConnectErr, "read": &r.ReadErr, "write": &r.WriteErr, "timeout": &r.Timeout}
	for _, part := range strings.Split(s, ",") {
		f := strings.Fields(part)
		if len(f) != 2 || dst[f[0]] == nil {
			return fmt.Errorf("socket errors: %q", clip(part, 40))
		}
		v, err := count(f[1])
		if err != nil {
			return err
		}
		*dst[f[0]] = v
	}
	return nil
}

// count reads a whole number of at most 1e15.
func count(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > 1e15 {
		return 0, fmt.Errorf("%q is not a count", clip(s, 40))
	}
	return v, nil
}

// number reads a finite number from 0 to 1e15.
func number(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || v < 0 || v > 1e15 {
		return 0, fmt.Errorf("%q is not a plausible number", clip(s, 40))
	}
	return v, nil
}

// wrkTime reads a time as wrk prints it (2.15us, 1.26ms, 1.11s, 1.50m,
// 2.00h) in seconds.
func wrkTime(s string) (float64, error) {
	for _, u := range []struct {
		suffix string
		scale  float64
	}{{"us", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := number(n)
			if err != nil {
				return 0, fmt.Errorf("time %q: %w", clip(s, 40), err)
			}
			return v * u.scale, nil
		}
	}
	return 0, fmt.Errorf("time %q has no unit", clip(s, 40))
}

// wrkBytes reads a size as wrk prints it (512.00B, 15.27MB: powers of
// 1024) in bytes.
func wrkBytes(s string) (float64, error) {
	n, ok := strings.CutSuffix(s, "B")
	if !ok {
		return 0, fmt.Errorf("size %q does not end in B", clip(s, 40))
	}
	scale := 1.0
	for i, u := range []string{"K", "M", "G", "T", "P"} {
		if m, ok := strings.CutSuffix(n, u); ok {
			n, scale = m, math.Pow(1024, float64(i+1))
			break
		}
	}
	v, err := number(n)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", clip(s, 40), err)
	}
	return v * scale, nil
}
