package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Version is the agent protocol version; a host refuses an agent that speaks
// another one.
const Version = "1"

// MaxLine bounds one message line read back from an agent.
const MaxLine = 32 << 20

// DefaultOutputLimit bounds the bytes of each output stream the agent keeps
// per command; more is counted and dropped.
const DefaultOutputLimit = 8 << 20

// Message types.
const (
	TypeReady  = "ready"
	TypeResult = "result"
)

// Request is one command for the agent to run.
type Request struct {
	Argv []string `json:"argv"`
	// Dir is the working directory; "" keeps the agent's.
	Dir string `json:"dir,omitempty"`
	// Env adds KEY=VALUE entries to the agent's environment.
	Env []string `json:"env,omitempty"`
	// Timeout kills the command after this long; 0 means no limit.
	Timeout time.Duration `json:"timeout,omitempty"`
	// OutputLimit bounds each kept output stream; 0 means DefaultOutputLimit.
	OutputLimit int `json:"output_limit,omitempty"`
}

// Result is what the agent reports of one command.
type Result struct {
	Type string   `json:"type"`
	Argv []string `json:"argv"`
	// ExitCode is the command's exit status; -1 when it did not exit normally
	// (killed by a signal, or never started: see Error).
	ExitCode int    `json:"exit_code"`
	Signal   string `json:"signal,omitempty"`
	// Error says why the command could not be run at all, or was timed out.
	Error    string `json:"error,omitempty"`
	TimedOut bool   `json:"timed_out,omitempty"`
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	// StdoutDropped and StderrDropped count bytes beyond the output limit.
	StdoutDropped int64 `json:"stdout_dropped,omitempty"`
	StderrDropped int64 `json:"stderr_dropped,omitempty"`
	// StartUnixNano is when the command started, on the sandbox's clock.
	StartUnixNano int64 `json:"start_unix_ns"`
	// WallNanos, UserNanos and SysNanos are the command's elapsed, user-CPU
	// and system-CPU time as measured inside the sandbox.
	WallNanos int64 `json:"wall_ns"`
	UserNanos int64 `json:"user_ns"`
	SysNanos  int64 `json:"sys_ns"`
	// MaxRSSBytes is the command's peak resident set size.
	MaxRSSBytes int64 `json:"max_rss_bytes,omitempty"`
}

// Wall returns the command's elapsed time.
func (r *Result) Wall() time.Duration { return time.Duration(r.WallNanos) }

// OK reports whether the command ran and exited 0.
func (r *Result) OK() bool { return r.Error == "" && r.ExitCode == 0 && !r.TimedOut }

// Err describes a command that did not succeed, or returns nil.
func (r *Result) Err() error {
	if r.OK() {
		return nil
	}
	var b strings.Builder
	// One line: an argument, error or signal name from the sandbox may
	// hold newlines.
	fmt.Fprintf(&b, "%s", clip(oneLine(strings.Join(r.Argv, " ")), 300))
	switch {
	case r.Error != "":
		fmt.Fprintf(&b, ": %s", clip(oneLine(r.Error), 600))
	case r.Signal != "":
		fmt.Fprintf(&b, ": killed by signal %s", clip(oneLine(r.Signal), 40))
	default:
		fmt.Fprintf(&b, ": exit status %d", r.ExitCode)
	}
	if tail := lastLines(r.Stderr, 5); tail != "" {
		fmt.Fprintf(&b, ": %s", tail)
	}
	return errors.New(b.String())
}

// Ready is the first message of an agent started in init mode.
type Ready struct {
	Type     string `json:"type"`
	Version  string `json:"version"`
	PID      int    `json:"pid"`
	Hostname string `json:"hostname,omitempty"`
	Kernel   string `json:"kernel,omitempty"`
	// UnixNano is the sandbox's clock when the agent became ready.
	UnixNano int64 `json:"unix_ns"`
}

// ParseResults reads the Result lines an agent wrote. It fails on any line
// that is not a Result, naming the line, and on a line longer than MaxLine.
func ParseResults(r io.Reader) ([]Result, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	var out []Result
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var res Result
		if err := json.Unmarshal(b, &res); err != nil {
			return out, fmt.Errorf("agent output line %d: not a result message: %w (line starts %q)", line, err, clip(string(b), 80))
		}
		if res.Type != TypeResult {
			return out, fmt.Errorf("agent output line %d: message type %q, want %q", line, clip(res.Type, 40), TypeResult)
		}
		if err := res.check(); err != nil {
			return out, fmt.Errorf("agent output line %d: %w", line, err)
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("agent output line %d: %w", line+1, err)
	}
	return out, nil
}

// check refuses a result whose figures no agent would report: what comes
// back from a sandbox is not trusted.
func (r *Result) check() error {
	switch {
	case r.ExitCode < -1 || r.ExitCode > 255:
		return fmt.Errorf("result with exit code %d, outside -1..255", r.ExitCode)
	case r.WallNanos < 0 || r.UserNanos < 0 || r.SysNanos < 0:
		return fmt.Errorf("result with a negative time (wall %d, user %d, sys %d ns)", r.WallNanos, r.UserNanos, r.SysNanos)
	case r.MaxRSSBytes < 0 || r.StdoutDropped < 0 || r.StderrDropped < 0:
		return fmt.Errorf("result with a negative size (max RSS %d, dropped %d and %d bytes)", r.MaxRSSBytes, r.StdoutDropped, r.StderrDropped)
	}
	return nil
}

// ParseReady decodes a Ready message line.
func ParseReady(b []byte) (Ready, error) {
	var rd Ready
	if err := json.Unmarshal(bytes.TrimSpace(b), &rd); err != nil {
		return rd, fmt.Errorf("agent ready message: %w (got %q)", err, clip(string(b), 80))
	}
	if rd.Type != TypeReady {
		return rd, fmt.Errorf("agent ready message: type %q, want %q", rd.Type, TypeReady)
	}
	if rd.Version != Version {
		return rd, fmt.Errorf("agent speaks protocol %q, this isobench speaks %q: rebuild the image", rd.Version, Version)
	}
	return rd, nil
}

// clip shortens s to at most n bytes (on a character boundary) and makes
// it printable: text from a sandbox ends up in error messages, in the
// results store and on the user's terminal, where control characters
// (escape sequences) must not act.
func clip(s string, n int) string {
	s = Printable(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Printable replaces control characters other than newline and tab, and
// invalid UTF-8, with U+FFFD, so that text from a sandbox can be shown.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r != '\n' && r != '\t' && unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r == utf8.RuneError || unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

// oneLine puts text on one line: its newlines become spaces.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func lastLines(s string, n int) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return clip(strings.Join(lines, " | "), 600)
}
