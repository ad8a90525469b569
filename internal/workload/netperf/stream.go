package netperf

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/workload"
)

// Stream is one bulk TCP transfer between the host and the sandbox, timed
// on the host's clock.
type Stream struct {
	Bytes   int64
	Elapsed time.Duration
}

// Rate is the transfer's bytes per second.
func (s Stream) Rate() float64 { return float64(s.Bytes) / s.Elapsed.Seconds() }

// agentStream runs one bulk transfer with the agent's stream mode as the
// sandbox's side: the host listens on its end of the link, the agent
// connects. toSandbox: the host sends blocks for d and half-closes, the
// agent reads to the end and writes back the count, whose arrival ends
// the timing. Otherwise the agent sends for d and the host reads to the
// end. Timing starts when the host accepts the connection.
func agentStream(ctx context.Context, in *workload.Target, host netip.Addr, d time.Duration, toSandbox bool) (Stream, error) {
	var st Stream
	sctx, cancel := context.WithTimeout(ctx, d+3*time.Minute)
	defer cancel()
	ln, err := net.Listen("tcp4", netip.AddrPortFrom(host, 0).String())
	if err != nil {
		return st, fmt.Errorf("listening on the host end: %w", err)
	}
	defer ln.Close()
	dir := "-send"
	if toSandbox {
		dir = "-recv"
	}
	argv := []string{image.AgentPath, "stream", "-connect", ln.Addr().String(), dir, "-time", d.String(), "-timeout", (d + 2*time.Minute).String()}
	type ran struct {
		out string
		err error
	}
	done := make(chan ran, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		err := in.Instance.Exec(sctx, argv, &limitedWriter{w: &stdout, n: 1 << 16}, &limitedWriter{w: &stderr, n: 4096})
		if err != nil && stderr.Len() > 0 {
			err = fmt.Errorf("%w: %s", err, agent.Printable(clip(stderr.String())))
		}
		done <- ran{stdout.String(), err}
	}()
	fail := func(err error) (Stream, error) {
		cancel()
		ln.Close()
		r := <-done
		return st, errors.Join(err, r.err)
	}
	if dl, ok := sctx.Deadline(); ok {
		_ = ln.(*net.TCPListener).SetDeadline(dl)
	}
	c, err := ln.Accept()
	if err != nil {
		return fail(fmt.Errorf("waiting for the sandbox's connection: %w", err))
	}
	defer c.Close()
	if dl, ok := sctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	t0 := time.Now()
	if toSandbox {
		sent, err := agent.StreamSendOnly(c, d)
		if err != nil {
			return fail(fmt.Errorf("sending: %w", err))
		}
		var b [8]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return fail(fmt.Errorf("reading the sandbox's count: %w", err))
		}
		st.Elapsed = time.Since(t0)
		if got := int64(binary.BigEndian.Uint64(b[:])); got != sent {
			return fail(fmt.Errorf("the sandbox read %d bytes of %d sent", got, sent))
		}
		st.Bytes = sent
	} else {
		n, err := io.Copy(io.Discard, c)
		st.Elapsed = time.Since(t0)
		if err != nil {
			return fail(fmt.Errorf("receiving: %w", err))
		}
		st.Bytes = n
	}
	c.Close()
	r := <-done
	if r.err != nil {
		return st, fmt.Errorf("the sandbox's side: %w", r.err)
	}
	rep, err := ParseStreamReport(r.out)
	if err != nil {
		return st, err
	}
	if rep.Bytes != st.Bytes {
		return st, fmt.Errorf("the sandbox counted %d bytes, the host %d", rep.Bytes, st.Bytes)
	}
	if st.Bytes == 0 || st.Elapsed <= 0 {
		return st, errors.New("nothing was transferred")
	}
	return st, nil
}

// ParseStreamReport reads the agent's stream report: one JSON line.
func ParseStreamReport(text string) (agent.StreamReport, error) {
	var rep agent.StreamReport
	text = strings.TrimSpace(text)
	if text == "" || strings.Contains(text, "\n") {
		return rep, fmt.Errorf("stream report: want one JSON line, got %q", clip(text))
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		return rep, fmt.Errorf("stream report: %w (got %q)", err, clip(text))
	}
	switch {
	case rep.Type != agent.TypeStream:
		return rep, fmt.Errorf("stream report: type %q, want %q", clip(rep.Type), agent.TypeStream)
	case rep.Direction != "send" && rep.Direction != "recv":
		return rep, fmt.Errorf("stream report: direction %q", clip(rep.Direction))
	case rep.Bytes < 0 || rep.Nanos < 0:
		return rep, fmt.Errorf("stream report: negative figure (%d bytes, %d ns)", rep.Bytes, rep.Nanos)
	}
	return rep, nil
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(l.n, len(p))
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
