package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// qmpConn is a QEMU Machine Protocol client: one connection, commands run
// one at a time, asynchronous events skipped. It is small on purpose: the
// qmp package of go-qemu (the usual library) takes no context and blocks
// without limit while QEMU does not answer, and brings in go-libvirt's
// generated RPC code for a transport isobench does not use; here every
// call is bounded by its context through the connection's deadline.
type qmpConn struct {
	conn net.Conn
	r    *bufio.Reader
	id   int
}

// qmpError is an error QEMU answered a command with.
type qmpError struct {
	Command string
	Class   string `json:"class"`
	Desc    string `json:"desc"`
}

func (e *qmpError) Error() string {
	return fmt.Sprintf("QMP %s: %s: %s", e.Command, e.Class, e.Desc)
}

// dialQMP connects to the QMP socket once QEMU listens on it, reads the
// greeting and leaves capabilities negotiation mode.
func dialQMP(ctx context.Context, socket string) (*qmpConn, error) {
	var conn net.Conn
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", socket)
		if err == nil {
			conn = c
			break
		}
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("connecting to QMP at %s: %w", socket, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connecting to QMP at %s: %w", socket, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	q := &qmpConn{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	var greeting struct {
		QMP *struct {
			Version json.RawMessage `json:"version"`
		} `json:"QMP"`
	}
	if err := q.read(ctx, &greeting); err != nil {
		conn.Close()
		return nil, fmt.Errorf("QMP greeting: %w", err)
	}
	if greeting.QMP == nil {
		conn.Close()
		return nil, errors.New("QMP greeting: not a QMP greeting")
	}
	if _, err := q.execute(ctx, "qmp_capabilities"); err != nil {
		conn.Close()
		return nil, err
	}
	return q, nil
}

// read decodes the next message into v, bounded by ctx.
func (q *qmpConn) read(ctx context.Context, v any) error {
	stop := q.bound(ctx)
	defer stop()
	line, err := q.r.ReadBytes('\n')
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if err := json.Unmarshal(line, v); err != nil {
		return fmt.Errorf("a message that is not JSON: %w (%q)", err, driverkit.Clip(string(line), 200))
	}
	return nil
}

// bound makes the connection's reads and writes end with ctx.
func (q *qmpConn) bound(ctx context.Context) func() {
	if dl, ok := ctx.Deadline(); ok {
		q.conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { q.conn.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		q.conn.SetDeadline(time.Time{})
	}
}

// execute runs a command and returns its "return" value.
func (q *qmpConn) execute(ctx context.Context, command string) (json.RawMessage, error) {
	q.id++
	id := strconv.Itoa(q.id)
	b, _ := json.Marshal(map[string]string{"execute": command, "id": id})
	stop := q.bound(ctx)
	_, err := q.conn.Write(append(b, '\n'))
	stop()
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("QMP %s: %w", command, err)
	}
	for {
		var msg struct {
			Event  string          `json:"event"`
			ID     string          `json:"id"`
			Return json.RawMessage `json:"return"`
			Error  *qmpError       `json:"error"`
		}
		if err := q.read(ctx, &msg); err != nil {
			return nil, fmt.Errorf("QMP %s: %w", command, err)
		}
		switch {
		case msg.Event != "" || msg.ID != id:
			continue // an event, or the answer to an abandoned command
		case msg.Error != nil:
			msg.Error.Command = command
			return nil, msg.Error
		}
		return msg.Return, nil
	}
}

func (q *qmpConn) close() error { return q.conn.Close() }
