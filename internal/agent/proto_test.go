package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// The files of testdata/results are what the agent printed for real
// commands (isobench-agent exec ... on a host): success, a failure, a
// timeout, a kill, a missing program, dropped output, escape sequences on
// stderr and bytes that are not UTF-8 on stdout.
func TestParseResultsCaptured(t *testing.T) {
	for _, c := range []struct {
		file     string
		exit     int
		ok       bool
		timedOut bool
		signal   string
		errWords string
	}{
		{"echo.jsonl", 0, true, false, "", ""},
		{"exit1.jsonl", 1, false, false, "", "exit status 1"},
		{"timeout.jsonl", -1, false, true, "killed", "timed out after 200ms"},
		{"killed.jsonl", -1, false, false, "killed", "killed by signal killed"},
		{"not-found.jsonl", -1, false, false, "", "no such file or directory"},
		{"output-limit.jsonl", 0, true, false, "", ""},
		{"hostile-stderr.jsonl", 3, false, false, "", "evil"},
		{"binary-stdout.jsonl", 0, true, false, "", ""},
	} {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "results", c.file))
			if err != nil {
				t.Fatal(err)
			}
			rs, err := ParseResults(bytes.NewReader(b))
			if err != nil || len(rs) != 1 {
				t.Fatalf("%d results, error %v; want 1", len(rs), err)
			}
			r := rs[0]
			if r.ExitCode != c.exit || r.OK() != c.ok || r.TimedOut != c.timedOut || r.Signal != c.signal {
				t.Errorf("exit %d ok %v timed out %v signal %q; want %d %v %v %q", r.ExitCode, r.OK(), r.TimedOut, r.Signal, c.exit, c.ok, c.timedOut, c.signal)
			}
			if c.ok {
				if r.Err() != nil {
					t.Errorf("Err() = %v for a good result", r.Err())
				}
				return
			}
			msg := r.Err().Error()
			if !strings.Contains(msg, c.errWords) {
				t.Errorf("Err() = %q, want it to say %q", msg, c.errWords)
			}
			for _, ch := range msg {
				if unicode.IsControl(ch) && ch != '\t' {
					t.Errorf("Err() holds control character %q: %q", ch, msg)
				}
			}
		})
	}
	b, _ := os.ReadFile(filepath.Join("testdata", "results", "output-limit.jsonl"))
	rs, _ := ParseResults(bytes.NewReader(b))
	if len(rs) == 1 && (rs[0].StdoutDropped != 282 || rs[0].Stdout != "1\n2\n3\n4\n5\n") {
		t.Errorf("output-limit: kept %q, dropped %d; want 10 bytes kept and 282 dropped", rs[0].Stdout, rs[0].StdoutDropped)
	}
}

func TestParseResultsHostile(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"negative wall", `{"type":"result","argv":["x"],"exit_code":0,"wall_ns":-1}`, "agent output line 1: result with a negative time"},
		{"negative rss", `{"type":"result","argv":["x"],"exit_code":0,"max_rss_bytes":-7}`, "agent output line 1: result with a negative size"},
		{"exit code", `{"type":"result","argv":["x"],"exit_code":-2}`, "agent output line 1: result with exit code -2, outside -1..255"},
		{"huge number", `{"type":"result","argv":["x"],"exit_code":0,"wall_ns":1e400}`, "agent output line 1: not a result message"},
		{"wrong type", `{"type":"\u001b[2Jready"}`, "agent output line 1: message type \"\ufffd[2Jready\", want \"result\""},
		{"second line bad", "{\"type\":\"result\",\"argv\":[],\"exit_code\":0}\n[1,2]", "agent output line 2: not a result message"},
		{"too long", strings.Repeat("x", MaxLine+1), "agent output line 1: bufio.Scanner: token too long"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseResults(strings.NewReader(c.in))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":             "plain text",
		"tab\tand\nnewline":      "tab\tand\nnewline",
		"\x1b[31mred\x1b[0m":     "\ufffd[31mred\ufffd[0m",
		"bell\a and \r return":   "bell\ufffd and \ufffd return",
		"\xff\xfe not utf-8":     "\ufffd\ufffd not utf-8",
		"c1 \u009b control":      "c1 \ufffd control",
		"unicode ✓ stays, é too": "unicode ✓ stays, é too",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
	if got := clip("ééé", 3); got != "é…" {
		t.Errorf("clip cut a character in half: %q", got)
	}
}

// FuzzParseResults: any bytes from a sandbox give results that pass the
// checks, or an error naming the line; never a panic.
func FuzzParseResults(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "results", "*.jsonl"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("{\"type\":\"result\"}\n\n{\"type\":\"result\",\"wall_ns\":-1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseResults(bytes.NewReader(data))
		if err != nil && !strings.HasPrefix(err.Error(), "agent output line ") {
			t.Fatalf("error %q does not name the line", err)
		}
		for _, r := range rs {
			if r.check() != nil || r.Type != TypeResult {
				t.Fatalf("accepted a bad result %+v", r)
			}
			if e := r.Err(); e != nil {
				for _, ch := range e.Error() {
					if unicode.IsControl(ch) && ch != '\t' {
						t.Fatalf("Err() holds control character %q", ch)
					}
				}
			}
		}
	})
}

// FuzzParseReady: the sandbox's ready line is hostile text too.
func FuzzParseReady(f *testing.F) {
	f.Add([]byte(`{"type":"ready","version":"1","pid":1,"hostname":"x","kernel":"6.1","unix_ns":1}`))
	f.Add([]byte(`{"type":"ready","version":"2"}`))
	f.Add([]byte("\x1b]0;x\x07"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := ParseReady(data)
		if err == nil && (rd.Type != TypeReady || rd.Version != Version) {
			t.Fatalf("accepted %+v", rd)
		}
		if err != nil {
			for _, ch := range err.Error() {
				if ch == 0x1b || ch == 0x07 {
					t.Fatalf("error holds control character %q: %q", ch, err)
				}
			}
		}
	})
}
