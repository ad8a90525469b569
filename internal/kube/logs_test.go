package kube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/agent"
)

// TestReadyFromLog reads pod logs captured from the test cluster's pods
// (testdata/*.log, see testdata/README).
func TestReadyFromLog(t *testing.T) {
	tests := []struct {
		file    string
		kernel  string // "" when the log has no Ready line
		wantErr string
	}{
		{"runc-ready.log", "6.18.44-fc-v782", ""},
		{"runsc-ready.log", "4.4.0", ""},
		{"badmode.log", "", "unknown mode"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rd, err := ReadyFromLog(f)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrNoReady) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadyFromLog = %+v, %v; want ErrNoReady saying %q", rd, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rd.Version != agent.Version || rd.PID != 1 || !strings.HasPrefix(rd.Kernel, tt.kernel) || rd.UnixNano <= 0 {
				t.Errorf("ready %+v: want protocol %s, pid 1 (the pod's first process), kernel %s…", rd, agent.Version, tt.kernel)
			}
		})
	}
}

func TestReadyFromLogBad(t *testing.T) {
	tests := []struct{ name, log, want string }{
		{"empty", "", "ended before"},
		{"other protocol", `{"type":"ready","version":"0","pid":1}` + "\n", "protocol"},
		{"long line", strings.Repeat("x", maxLogLine+1), "token too long"},
		{"noise then ready", "warning: something\n" + `{"type":"ready","version":"` + agent.Version + `","pid":1,"unix_ns":5}` + "\n", ""},
		{"other json", `{"type":"result","argv":["x"]}` + "\n", "ended before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadyFromLog(strings.NewReader(tt.log))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// FuzzReadyFromLog: a log is the sandbox's text; reading it never panics,
// and a Ready it returns is one the agent's own check accepts.
func FuzzReadyFromLog(f *testing.F) {
	for _, name := range []string{"runc-ready.log", "runsc-ready.log", "badmode.log"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"ready"` + "\n"))
	f.Add([]byte("\x00\xff{\"type\":\"ready\",\"version\":\"1\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rd, err := ReadyFromLog(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		if rd.Type != agent.TypeReady || rd.Version != agent.Version {
			t.Errorf("accepted %+v from %q", rd, b)
		}
	})
}
