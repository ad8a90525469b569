package agent

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"
)

// TypePong is the message type of the pong mode's report.
const TypePong = "pong"

// PongReport is what `agent pong` prints when it is done: one JSON line.
type PongReport struct {
	Type string `json:"type"`
	// Conns counts the connections served, Bytes the bytes echoed.
	Conns int   `json:"conns"`
	Bytes int64 `json:"bytes"`
}

// mainPong serves a TCP echo server for the net workload's latency test:
// `pong -listen ADDR -conns N [-timeout D]`. It accepts connections and
// echoes what each sends until it closes, and exits after N connections
// (or when -timeout passes without one, or in all), printing a PongReport.
func mainPong(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pong", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", ":5202", "TCP address to listen on")
	conns := fs.Int("conns", 1, "connections to serve before exiting")
	timeout := fs.Duration("timeout", time.Minute, "give up when this long passes in all")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("pong: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("pong: unexpected argument %q", fs.Arg(0))
	}
	if *conns < 1 || *conns > 1_000_000 {
		return fmt.Errorf("pong: -conns %d: want 1 to 1000000", *conns)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("pong: %w", err)
	}
	defer ln.Close()
	rep, err := ServePong(ln, *conns, time.Now().Add(*timeout))
	if err != nil {
		return err
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(b, '\n'))
	return err
}

// ServePong accepts n connections on ln, one at a time, echoing each until
// it closes, all before deadline.
func ServePong(ln net.Listener, n int, deadline time.Time) (PongReport, error) {
	rep := PongReport{Type: TypePong}
	type deadliner interface{ SetDeadline(time.Time) error }
	if d, ok := ln.(deadliner); ok {
		_ = d.SetDeadline(deadline)
	}
	for rep.Conns < n {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return rep, fmt.Errorf("pong: served %d of %d connections before the deadline", rep.Conns, n)
			}
			return rep, fmt.Errorf("pong: %w", err)
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		_ = c.SetDeadline(deadline)
		k, err := io.Copy(c, c)
		c.Close()
		rep.Conns++
		rep.Bytes += k
		if err != nil {
			return rep, fmt.Errorf("pong: connection %d: %w", rep.Conns, err)
		}
	}
	return rep, nil
}
