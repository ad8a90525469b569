package agent

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"
)

// TypeStream is the message type of the stream mode's report.
const TypeStream = "stream"

// StreamBlock is the size of each write of a bulk transfer.
const StreamBlock = 128 << 10

// StreamReport is what `agent stream` prints: one JSON line.
type StreamReport struct {
	Type string `json:"type"`
	// Direction is "send" (the agent sent) or "recv" (it received).
	Direction string `json:"direction"`
	Bytes     int64  `json:"bytes"`
	// Nanos is the transfer's time on the sandbox's clock.
	Nanos int64 `json:"ns"`
}

// mainStream is one side of the net workload's bulk TCP transfer:
// `stream -connect ADDR -send -time D` sends blocks of zeros for D and
// closes; `stream -connect ADDR -recv` reads to the end, then writes the
// byte count it read (8 bytes, big-endian) back, so the host can time the
// whole transfer on its own clock.
func mainStream(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("connect", "", "host:port to connect to")
	send := fs.Bool("send", false, "send (default: receive)")
	recv := fs.Bool("recv", false, "receive")
	d := fs.Duration("time", 10*time.Second, "how long to send")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	if *addr == "" || *send == *recv || fs.NArg() > 0 {
		return errors.New("stream: want -connect ADDR and one of -send, -recv")
	}
	if *d <= 0 || *d > time.Hour {
		return fmt.Errorf("stream: -time %s: want up to 1h", *d)
	}
	c, err := net.DialTimeout("tcp", *addr, 30*time.Second)
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(*timeout))
	rep := StreamReport{Type: TypeStream, Direction: "recv"}
	start := time.Now()
	if *send {
		rep.Direction = "send"
		rep.Bytes, err = StreamSend(c, *d)
	} else {
		rep.Bytes, err = StreamRecv(c)
	}
	rep.Nanos = time.Since(start).Nanoseconds()
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(b, '\n'))
	return err
}

// StreamSendOnly writes blocks to c for d, then half-closes it, and
// returns the bytes written; the other side's answer is the caller's.
func StreamSendOnly(c net.Conn, d time.Duration) (int64, error) {
	buf := make([]byte, StreamBlock)
	var n int64
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		k, err := c.Write(buf)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return n, cw.CloseWrite()
	}
	return n, nil
}

// StreamSend writes blocks to c for d, then half-closes it and waits for
// the other side to close (it has read everything); it returns the bytes
// written.
func StreamSend(c net.Conn, d time.Duration) (int64, error) {
	n, err := StreamSendOnly(c, d)
	if err != nil {
		return n, err
	}
	// Wait for the other side to close: it has read everything.
	_, _ = io.Copy(io.Discard, c)
	return n, nil
}

// StreamRecv reads c to its end, then writes the count it read back
// (8 bytes, big-endian) and returns the count.
func StreamRecv(c net.Conn) (int64, error) {
	buf := make([]byte, StreamBlock)
	var n int64
	for {
		k, err := c.Read(buf)
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	if _, err := c.Write(b[:]); err != nil {
		return n, err
	}
	return n, nil
}
