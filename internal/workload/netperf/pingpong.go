package netperf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// PingPong is what the host side of the latency test measured.
type PingPong struct {
	// Connects holds the time of each TCP connection setup (connect
	// returned), RTTs the time of each round trip of one byte on one
	// connection with Nagle's algorithm off.
	Connects []time.Duration
	RTTs     []time.Duration
}

// dialRetry connects to addr, retrying while the server does not listen
// yet, until ctx ends.
func dialRetry(ctx context.Context, addr netip.AddrPort) (net.Conn, time.Duration, error) {
	var d net.Dialer
	delay := 5 * time.Millisecond
	for {
		t0 := time.Now()
		c, err := d.DialContext(ctx, "tcp4", addr.String())
		if err == nil {
			return c, time.Since(t0), nil
		}
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("connecting to %s: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("connecting to %s: %w", addr, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// RunPingPong talks to the agent's pong server at addr: connects times it
// opens and closes a connection (each timed, the first one excluded: it
// waits for the server to listen), then one connection with rounds round
// trips of one byte, each timed. The server must serve connects+1
// connections.
func RunPingPong(ctx context.Context, addr netip.AddrPort, connects, rounds int) (PingPong, error) {
	var pp PingPong
	// The first connection waits for the server; its round trips are the
	// measured ones (the connection is warm once it carried one).
	c, _, err := dialRetry(ctx, addr)
	if err != nil {
		return pp, err
	}
	if err := roundTrips(ctx, c, rounds, &pp); err != nil {
		c.Close()
		return pp, err
	}
	if err := c.Close(); err != nil {
		return pp, err
	}
	var d net.Dialer
	for i := 0; i < connects; i++ {
		t0 := time.Now()
		c, err := d.DialContext(ctx, "tcp4", addr.String())
		dt := time.Since(t0)
		if err != nil {
			return pp, fmt.Errorf("connection %d to %s: %w", i+1, addr, err)
		}
		pp.Connects = append(pp.Connects, dt)
		// One byte there and back, so the server's accept is done
		// before the next connect.
		err = roundTrips(ctx, c, 1, nil)
		c.Close()
		if err != nil {
			return pp, fmt.Errorf("connection %d: %w", i+1, err)
		}
	}
	return pp, nil
}

// roundTrips sends one byte and reads it back n times, recording each
// round trip in pp (when not nil).
func roundTrips(ctx context.Context, c net.Conn, n int, pp *PingPong) error {
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.SetNoDelay(true); err != nil {
			return err
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	out, in := []byte{'x'}, make([]byte, 1)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := c.Write(out); err != nil {
			return fmt.Errorf("round trip %d: %w", i+1, err)
		}
		if _, err := io.ReadFull(c, in); err != nil {
			return fmt.Errorf("round trip %d: %w", i+1, err)
		}
		if in[0] != out[0] {
			return errors.New("the server sent back another byte")
		}
		if pp != nil {
			pp.RTTs = append(pp.RTTs, time.Since(t0))
		}
	}
	return nil
}
