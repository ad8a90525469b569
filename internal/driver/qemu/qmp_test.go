package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// replayQMP serves the QEMU side of a captured session: the greeting, then
// for each command the client sends, QEMU's lines up to its answer.
func replayQMP(t *testing.T, transcript string) string {
	t.Helper()
	b, err := os.ReadFile(transcript)
	if err != nil {
		t.Fatal(err)
	}
	var qemuLines []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.HasPrefix(l, "> ") {
			qemuLines = append(qemuLines, l)
		}
	}
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		w := bufio.NewWriter(c)
		w.WriteString(qemuLines[0] + "\n")
		w.Flush()
		rest := qemuLines[1:]
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			var cmd struct{ ID string }
			json.Unmarshal(sc.Bytes(), &cmd)
			for len(rest) > 0 {
				line := rest[0]
				rest = rest[1:]
				w.WriteString(line + "\n")
				var m struct{ ID string }
				json.Unmarshal([]byte(line), &m)
				if m.ID == cmd.ID {
					break
				}
			}
			w.Flush()
		}
	}()
	return sock
}

func TestQMPReplay(t *testing.T) {
	sock := replayQMP(t, "testdata/qmp-session.txt")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := dialQMP(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	out, err := q.execute(ctx, "query-status")
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Status string }
	json.Unmarshal(out, &st)
	if st.Status != "prelaunch" {
		t.Errorf("status %q, want prelaunch (%s)", st.Status, out)
	}
	_, err = q.execute(ctx, "no-such-command")
	var qe *qmpError
	if !errors.As(err, &qe) || qe.Class != "CommandNotFound" {
		t.Errorf("unknown command: %v, want a CommandNotFound error", err)
	}
	// The RESUME event before cont's answer is skipped.
	if _, err := q.execute(ctx, "cont"); err != nil {
		t.Fatalf("cont: %v", err)
	}
	out, err = q.execute(ctx, "query-status")
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(out, &st)
	if st.Status != "running" {
		t.Errorf("status after cont %q, want running", st.Status)
	}
	if _, err := q.execute(ctx, "quit"); err != nil {
		t.Fatalf("quit (after a SHUTDOWN event): %v", err)
	}
}

// TestQMPBounded: a QEMU that accepts but never speaks does not hang the
// client past its context.
func TestQMPBounded(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			time.Sleep(5 * time.Second)
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = dialQMP(ctx, sock)
	if err == nil {
		t.Fatal("dialQMP succeeded without a greeting")
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("dialQMP returned after %s, its context ended at 300ms", time.Since(start))
	}
}
