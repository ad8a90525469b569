package oci

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/agent"
)

// TestWaitReadyLog reads the sandbox log as the agent and the runtime
// write it: the Ready line is found after other output, however long a
// line without an end came before; a malformed Ready line is an error.
func TestWaitReadyLog(t *testing.T) {
	ready, err := json.Marshal(agent.Ready{Type: agent.TypeReady, Version: agent.Version, PID: 1})
	if err != nil {
		t.Fatal(err)
	}
	junk := strings.Repeat("x", 3*maxLogLine)
	for _, tc := range []struct {
		name, log, wantErr string
	}{
		{"ready first", string(ready) + "\n", ""},
		{"after runtime output", "runtime: warning: something\n" + string(ready) + "\n", ""},
		{"after a very long line", junk + "\n" + string(ready) + "\n", ""},
		{"bad version", `{"type":"ready","version":"0"}` + "\n", "protocol"},
		{"never ready", junk, "deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "log")
			if err := os.WriteFile(p, []byte(tc.log), 0o600); err != nil {
				t.Fatal(err)
			}
			// The sandbox's pid: this process, which runs.
			in := &instance{logPath: p, pid: os.Getpid()}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err := in.waitReady(ctx)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("waitReady: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("waitReady: %v, want an error saying %q", err, tc.wantErr)
			}
		})
	}
}
