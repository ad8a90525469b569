package kube

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/isobench/isobench/internal/agent"
)

// maxLogLine bounds one line of a pod's log read back; the agent's Ready
// line is a few hundred bytes.
const maxLogLine = 64 << 10

// ErrNoReady is matched by the error of ReadyFromLog when the log ended
// without the agent's Ready line.
var ErrNoReady = errors.New("the agent's log ended before its Ready line")

// ReadyFromLog reads a pod's log (the agent's standard output and error, as
// the kubelet keeps them) up to the agent's Ready line and returns it. Lines
// before it that are not a Ready message are kept to explain a failure: an
// agent that cannot start says why on its standard error. A log is text
// from the sandbox and is not trusted: lines are bounded, and a line that
// looks like a Ready message but is not a valid one is an error that says
// what was seen.
func ReadyFromLog(r io.Reader) (agent.Ready, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLogLine)
	var other []string
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if b[0] == '{' && bytes.Contains(b, []byte(`"type"`)) {
			rd, err := agent.ParseReady(b)
			if err == nil {
				return rd, nil
			}
			if bytes.Contains(b, []byte(`"`+agent.TypeReady+`"`)) {
				return agent.Ready{}, fmt.Errorf("pod log line %d: %w", line, err)
			}
		}
		if len(other) < 20 {
			other = append(other, clip(string(b), 300))
		}
	}
	if err := sc.Err(); err != nil {
		return agent.Ready{}, fmt.Errorf("pod log line %d: %w", line+1, err)
	}
	if len(other) > 0 {
		return agent.Ready{}, fmt.Errorf("%w; it said: %s", ErrNoReady, strings.Join(other, " | "))
	}
	return agent.Ready{}, ErrNoReady
}
