package netperf

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// IperfResult is what isobench reads of an iperf3 client's JSON report
// (iperf3 -c ... -J).
type IperfResult struct {
	// Reverse is true when the server sent (-R).
	Reverse bool
	// Seconds is the measured duration.
	Seconds float64
	// ReceivedBytesPerSec is the receiver's rate, the figure iperf3 users
	// quote; SentBytesPerSec the sender's.
	ReceivedBytesPerSec float64
	SentBytesPerSec     float64
	// Retransmits counts the sender's TCP retransmissions (-1 when the
	// report has none).
	Retransmits int64
	// Warnings are lines iperf3 wrote before its report.
	Warnings []string
}

// iperfJSON is the part of iperf3's JSON report isobench reads.
type iperfJSON struct {
	Start struct {
		Version   string `json:"version"`
		TestStart *struct {
			Protocol string `json:"protocol"`
			Reverse  int    `json:"reverse"`
		} `json:"test_start"`
	} `json:"start"`
	End struct {
		SumSent *struct {
			Seconds       float64 `json:"seconds"`
			Bytes         float64 `json:"bytes"`
			BitsPerSecond float64 `json:"bits_per_second"`
			Retransmits   *int64  `json:"retransmits"`
		} `json:"sum_sent"`
		SumReceived *struct {
			Seconds       float64 `json:"seconds"`
			Bytes         float64 `json:"bytes"`
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
}

// ErrIperfRefused is matched by the error of a report that says the
// server refused the connection (it does not listen yet).
var ErrIperfRefused = errors.New("iperf3: connection refused")

// maxIperfReport bounds the report isobench parses.
const maxIperfReport = 4 << 20

// ParseIperf reads an iperf3 client's JSON report of one TCP test. A
// report that says an error (iperf3 writes one with "error"), lacks the
// summary or holds an implausible figure is an error saying which.
func ParseIperf(text string) (IperfResult, error) {
	var r IperfResult
	if len(text) > maxIperfReport {
		return r, fmt.Errorf("iperf3 report: %d bytes, more than %d", len(text), maxIperfReport)
	}
	// iperf3 writes some warnings as plain lines before its JSON object
	// (under gVisor: "WARNING:  Size of data read does not correspond to
	// offered length"); they are kept, not parsed.
	body := text
	for body != "" && !strings.HasPrefix(strings.TrimLeft(body, " \t\r"), "{") {
		line, rest, _ := strings.Cut(body, "\n")
		if l := strings.TrimSpace(line); l != "" && len(r.Warnings) < 10 {
			r.Warnings = append(r.Warnings, clip(l))
		}
		body = rest
	}
	if body == "" {
		return r, fmt.Errorf("iperf3 report: no JSON object (starts %q)", clip(text))
	}
	var j iperfJSON
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(&j); err != nil {
		return r, fmt.Errorf("iperf3 report: not JSON: %w", err)
	}
	if j.Error != "" {
		if strings.Contains(j.Error, "Connection refused") {
			return r, fmt.Errorf("%w: %s", ErrIperfRefused, clip(j.Error))
		}
		return r, fmt.Errorf("iperf3 said: %s", clip(j.Error))
	}
	if j.Start.TestStart == nil {
		return r, errors.New("iperf3 report: no start.test_start")
	}
	if p := j.Start.TestStart.Protocol; p != "TCP" {
		return r, fmt.Errorf("iperf3 report: protocol %q, want TCP", clip(p))
	}
	if j.End.SumSent == nil || j.End.SumReceived == nil {
		return r, errors.New("iperf3 report: no end.sum_sent or end.sum_received (the test did not finish)")
	}
	r.Reverse = j.Start.TestStart.Reverse != 0
	r.Seconds = j.End.SumReceived.Seconds
	r.ReceivedBytesPerSec = j.End.SumReceived.BitsPerSecond / 8
	r.SentBytesPerSec = j.End.SumSent.BitsPerSecond / 8
	r.Retransmits = -1
	if j.End.SumSent.Retransmits != nil {
		r.Retransmits = *j.End.SumSent.Retransmits
	}
	for name, v := range map[string]float64{"seconds": r.Seconds, "received bits_per_second": r.ReceivedBytesPerSec, "sent bits_per_second": r.SentBytesPerSec} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 || v > 1e13 {
			return r, fmt.Errorf("iperf3 report: %s %v is not a plausible figure", name, v)
		}
	}
	if r.Retransmits < -1 {
		return r, fmt.Errorf("iperf3 report: %d retransmits", r.Retransmits)
	}
	return r, nil
}

func clip(s string) string {
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' {
			return '?'
		}
		return r
	}, s)
}
