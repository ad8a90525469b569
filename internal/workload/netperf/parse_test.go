package netperf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
)

// TestParseIperf reads iperf3 3.12 reports captured on this kind of host:
// loopback both ways, and the clients the net workload ran in sandboxes of
// each runtime (`go test -run TestNetOnRuntimes -args -capture`).
func TestParseIperf(t *testing.T) {
	files, err := filepath.Glob("testdata/*iperf3*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured reports: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ParseIperf(string(b))
			if strings.Contains(f, "refused") {
				if !errors.Is(err, ErrIperfRefused) {
					t.Fatalf("refused report: %v, want ErrIperfRefused", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.ReceivedBytesPerSec < 1<<20 || r.SentBytesPerSec < 1<<20 || r.Seconds <= 0 {
				t.Errorf("result %+v: implausible", r)
			}
			wantReverse := strings.Contains(f, "reverse") || strings.Contains(f, "to_sandbox")
			if r.Reverse != wantReverse {
				t.Errorf("reverse %v, want %v", r.Reverse, wantReverse)
			}
		})
	}
	good, _ := os.ReadFile("testdata/iperf3-3.12-loopback-send.json")
	warned, err := ParseIperf("WARNING:  Size of data read does not correspond to offered length\n" + string(good))
	if err != nil || len(warned.Warnings) != 1 {
		t.Errorf("report after a warning line: %+v, %v", warned, err)
	}
	for name, text := range map[string]string{
		"empty":        "",
		"not json":     "iperf3: error",
		"udp":          strings.Replace(string(good), `"protocol":	"TCP"`, `"protocol":	"UDP"`, 1),
		"no summary":   `{"start":{"test_start":{"protocol":"TCP","reverse":0}},"end":{}}`,
		"zero rate":    `{"start":{"test_start":{"protocol":"TCP","reverse":0}},"end":{"sum_sent":{"seconds":1,"bits_per_second":0},"sum_received":{"seconds":1,"bits_per_second":0}}}`,
		"other error":  `{"start":{},"end":{},"error":"unable to send control message: Broken pipe"}`,
		"no test info": `{"end":{"sum_sent":{"seconds":1,"bits_per_second":8},"sum_received":{"seconds":1,"bits_per_second":8}}}`,
	} {
		if _, err := ParseIperf(text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseIperf: no input panics; what is accepted has finite positive
// rates.
func FuzzParseIperf(f *testing.F) {
	files, _ := filepath.Glob("testdata/*iperf3*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseIperf(s)
		if err != nil {
			return
		}
		if r.ReceivedBytesPerSec <= 0 || r.SentBytesPerSec <= 0 || r.Seconds <= 0 {
			t.Fatalf("accepted %+v", r)
		}
	})
}

func TestParseStreamReport(t *testing.T) {
	if r, err := ParseStreamReport(`{"type":"stream","direction":"recv","bytes":1048576,"ns":12000000}` + "\n"); err != nil || r.Bytes != 1<<20 {
		t.Errorf("good report: %+v, %v", r, err)
	}
	for _, s := range []string{"", "x", `{"type":"pong"}`, `{"type":"stream","direction":"up","bytes":1,"ns":1}`,
		`{"type":"stream","direction":"send","bytes":-1,"ns":1}`, `{"type":"stream","direction":"send","bytes":1,"ns":1,"x":1}`,
		`{"type":"stream","direction":"send","bytes":1,"ns":1}` + "\n" + `{"type":"stream","direction":"send","bytes":1,"ns":1}`} {
		if _, err := ParseStreamReport(s); err == nil {
			t.Errorf("accepted %q", s)
		}
	}
}

// FuzzParseStreamReport: no input panics.
func FuzzParseStreamReport(f *testing.F) {
	f.Add(`{"type":"stream","direction":"recv","bytes":1048576,"ns":12000000}`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseStreamReport(s)
		if err == nil && (r.Bytes < 0 || r.Nanos < 0) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

func TestCheck(t *testing.T) {
	w := Workload{}
	p := map[string]string{"time": "1", "rounds": "10", "connects": "1", "tool": "agent"}
	if err := w.Check(driverInfo("veth"), p); err != nil {
		t.Errorf("runtime with a network: %v", err)
	}
	if err := w.Check(driverInfo(""), p); err == nil || !isNotSupported(err) {
		t.Errorf("runtime without a network: %v, want not supported", err)
	}
	for k, v := range map[string]string{"time": "0", "rounds": "x", "connects": "-1", "tool": "netperf"} {
		q := map[string]string{"time": "1", "rounds": "10", "connects": "1", "tool": "agent"}
		q[k] = v
		if err := w.Check(driverInfo("veth"), q); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
}

func driverInfo(network string) driver.Info {
	info := driver.Info{Name: "x", Features: map[string]string{}}
	if network != "" {
		info.Features[driver.FeatureNetwork] = network
	}
	return info
}

func isNotSupported(err error) bool { return errors.Is(err, driver.ErrNotSupported) }
