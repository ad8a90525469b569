package incus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// execBody is the request of POST /1.0/instances/NAME/exec that isobench
// sends: the command, no terminal, streams over websockets.
func execBody(argv []string) map[string]any {
	return map[string]any{
		"command":            argv,
		"environment":        map[string]string{},
		"wait-for-websocket": true,
		"interactive":        false,
		"record-output":      false,
		"width":              0,
		"height":             0,
	}
}

// execResult is how a command run through the exec API ended.
type execResult struct {
	Code int // exit status
}

// exec runs argv in a running instance through the exec API: one
// websocket each for stdin (closed at once: commands get no input),
// stdout, stderr and control. When ctx ends, the command gets SIGKILL
// through the control websocket.
func (c *client) exec(ctx context.Context, name string, argv []string, stdout, stderr io.Writer) (execResult, error) {
	env, err := c.do(ctx, http.MethodPost, apiPath("instances", name, "exec"), nil, execBody(argv))
	if err != nil {
		return execResult{}, err
	}
	id, err := operationID(env)
	if err != nil {
		return execResult{}, err
	}
	var op struct {
		Metadata struct {
			FDs map[string]string `json:"fds"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(env.Metadata, &op); err != nil {
		return execResult{}, fmt.Errorf("exec: decoding the operation: %w", err)
	}
	fds := op.Metadata.FDs
	for _, k := range []string{"0", "1", "2", "control"} {
		if fds[k] == "" {
			return execResult{}, fmt.Errorf("exec: the operation has no websocket %q", k)
		}
	}
	conns := map[string]*websocket.Conn{}
	defer func() {
		for _, ws := range conns {
			ws.Close()
		}
	}()
	// The daemon starts the command once every websocket is connected.
	for _, k := range []string{"control", "0", "1", "2"} {
		ws, err := c.websocket(ctx, id, fds[k])
		if err != nil {
			return execResult{}, err
		}
		conns[k] = ws
	}
	// No input: end stdin.
	stdin := conns["0"]
	_ = stdin.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(5*time.Second))

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, out := range []struct {
		ws *websocket.Conn
		w  io.Writer
	}{{conns["1"], stdout}, {conns["2"], stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = copyStream(out.w, out.ws)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var killed bool
	select {
	case <-done:
	case <-ctx.Done():
		killed = true
		msg := map[string]any{"command": "signal", "signal": 9}
		_ = conns["control"].WriteJSON(msg)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			for _, k := range []string{"1", "2"} {
				conns[k].Close()
			}
			<-done
		}
	}
	wctx := ctx
	if killed {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
	}
	res, err := c.wait(wctx, id)
	if killed {
		return execResult{}, fmt.Errorf("exec: %w (the command was killed)", ctx.Err())
	}
	if err != nil {
		return execResult{}, err
	}
	if err := errors.Join(errs...); err != nil {
		return execResult{}, fmt.Errorf("exec: reading the output: %w", err)
	}
	raw, ok := res.Metadata["return"]
	if !ok {
		return execResult{}, errors.New("exec: the operation gave no exit status")
	}
	code, err := strconv.Atoi(string(raw))
	if err != nil {
		return execResult{}, fmt.Errorf("exec: exit status %q: %w", raw, err)
	}
	return execResult{Code: code}, nil
}

// copyStream copies a websocket's binary messages to w until the daemon
// ends the stream (a close, or an empty text message as barrier).
func copyStream(w io.Writer, ws *websocket.Conn) error {
	for {
		mt, r, err := ws.NextReader()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return err
		}
		if mt == websocket.TextMessage {
			// The end-of-stream barrier.
			return nil
		}
		if _, err := io.Copy(w, r); err != nil {
			return err
		}
	}
}
