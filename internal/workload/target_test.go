package workload_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/host"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/testutil"
	"github.com/isobench/isobench/internal/workload"
)

// TestTargetRunHostileSandbox runs Target.Run against sandboxes whose
// "agent" answers like a compromised one would: too much, too little,
// lies, and terminal escape sequences. Every answer must end in an error
// that says what was wrong, bounded and printable, never a panic, a hang
// or a result.
func TestTargetRunHostileSandbox(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	for _, c := range []struct {
		name   string
		script string
		want   string
	}{
		{"endless line", `head -c 40000000 /dev/zero | tr '\0' x`, "the agent wrote more than 33554432 bytes"},
		{"two results", `echo '{"type":"result","argv":["x"],"exit_code":0}'; echo '{"type":"result","argv":["x"],"exit_code":0}'`, "agent returned 2 results, want 1"},
		{"negative time", `echo '{"type":"result","argv":["x"],"exit_code":0,"wall_ns":-5}'`, "result with a negative time"},
		{"exit code out of range", `echo '{"type":"result","argv":["x"],"exit_code":99999}'`, "result with exit code 99999, outside -1..255"},
		{"not json", `echo 'Segmentation fault'`, "agent output line 1: not a result message"},
		{"wrong message", `echo '{"type":"ready","version":"1"}'`, `message type "ready", want "result"`},
		{"nothing", `exit 0`, "agent returned 0 results, want 1"},
		{"runtime floods stderr", `head -c 5000000 /dev/zero | tr '\0' e >&2; printf '\033]0;pwned\007 the end' >&2; exit 1`, "the end"},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			target := hostileTarget(t, c.script)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := target.Run(ctx, agent.Request{Argv: []string{"true"}})
			if err == nil {
				t.Fatalf("a hostile answer gave a result: %+v", res)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q, want it to say %q", clipped(msg), c.want)
			}
			if len(msg) > 4000 {
				t.Errorf("error of %d bytes: the sandbox's words must be bounded", len(msg))
			}
			for _, r := range msg {
				if r != '\n' && r != '\t' && unicode.IsControl(r) {
					t.Fatalf("error holds control character %q: %q", r, clipped(msg))
				}
			}
		})
	}
}

// TestResultErrPrintable: a command's stderr with escape sequences, as a
// real agent reports it, makes a printable error.
func TestResultErrPrintable(t *testing.T) {
	target := hostileTarget(t, `cat `+filepath.Join(testutil.ModuleRoot(t), "internal/agent/testdata/results/hostile-stderr.jsonl"))
	_, err := target.MustRun(context.Background(), agent.Request{Argv: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "evil") {
		t.Fatalf("error %v, want exit status 3 and the command's words", err)
	}
	if strings.ContainsAny(err.Error(), "\x1b\x07\r") {
		t.Fatalf("error holds escape characters: %q", err)
	}
}

func clipped(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// hostileTarget is a started host-baseline sandbox whose agent is a shell
// script.
func hostileTarget(t *testing.T, script string) *workload.Target {
	t.Helper()
	img := testutil.MinimalImage(t)
	agentPath := filepath.Join(img.Rootfs, image.AgentPath)
	// The sandbox's own start (the host baseline runs the agent in init
	// mode) goes to the real agent; every command after it to the script.
	real := agentPath + ".real"
	if err := os.Rename(agentPath, real); err != nil {
		t.Fatal(err)
	}
	dispatch := "#!/bin/sh\nif [ \"$1\" = init ]; then exec " + real + " init; fi\n"
	if err := os.WriteFile(agentPath, []byte(dispatch+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	d, err := host.New(driver.Env{StateDir: filepath.Join(base, "state"), RunDir: filepath.Join(base, "run")}, "")
	if err != nil {
		t.Fatal(err)
	}
	in, err := d.Create(context.Background(), driver.Spec{ID: "isobench-hostile-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), Image: img})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := in.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &workload.Target{Runtime: driver.Info{Name: "host"}, Instance: in}
}
