package incus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// Request is what the client sends, as given to an observer (the contract
// tests check each against Incus's published REST API description).
type Request struct {
	Method string
	Path   string // e.g. /1.0/instances/NAME/state
	Query  url.Values
	Header http.Header
	// Body is the request body when it is JSON; nil otherwise (an image
	// upload streams its tarball and is not kept).
	Body []byte
}

// client talks to one Incus daemon through its REST API on the unix socket.
type client struct {
	socket  string
	http    *http.Client
	observe func(Request)
}

func newClient(socket string, observe func(Request)) *client {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}
	return &client{
		socket:  socket,
		http:    &http.Client{Transport: &http.Transport{DialContext: dial, DisableCompression: true}},
		observe: observe,
	}
}

// close releases the client's idle connections.
func (c *client) close() { c.http.CloseIdleConnections() }

// response is the envelope of every Incus REST API answer.
type response struct {
	Type       string          `json:"type"` // sync, async or error
	Status     string          `json:"status"`
	StatusCode int             `json:"status_code"`
	Operation  string          `json:"operation"`
	ErrorCode  int             `json:"error_code"`
	Error      string          `json:"error"`
	Metadata   json.RawMessage `json:"metadata"`
}

// operation is a background operation (the metadata of an async answer).
type operation struct {
	ID         string                     `json:"id"`
	Class      string                     `json:"class"`
	Status     string                     `json:"status"`
	StatusCode int                        `json:"status_code"`
	Resources  map[string][]string        `json:"resources"`
	Metadata   map[string]json.RawMessage `json:"metadata"`
	Err        string                     `json:"err"`
}

// apiError is an error answer of the daemon.
type apiError struct {
	Code   int // the HTTP status / error_code
	Msg    string
	Method string
	Path   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("incus API %s %s: %s (%d)", e.Method, e.Path, e.Msg, e.Code)
}

// isNotFound reports whether err is the daemon's 404.
func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Code == http.StatusNotFound
}

// apiPath joins path elements, escaping each.
func apiPath(elems ...string) string {
	var b strings.Builder
	b.WriteString("/1.0")
	for _, e := range elems {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(e))
	}
	return b.String()
}

// do sends a request with a JSON body (nil for none) and decodes the
// envelope; an error answer becomes *apiError.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body any) (*response, error) {
	var raw []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request to %s: %w", path, err)
		}
		raw = b
	}
	h := http.Header{}
	if raw != nil {
		h.Set("Content-Type", "application/json")
	}
	var r io.Reader
	if raw != nil {
		r = bytes.NewReader(raw)
	}
	return c.send(ctx, method, path, query, h, r, raw)
}

// send sends a request with a body given as a reader; kept is what the
// observer sees of it.
func (c *client) send(ctx context.Context, method, path string, query url.Values, h http.Header, body io.Reader, kept []byte) (*response, error) {
	u := url.URL{Scheme: "http", Host: "incus", Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("incus API %s %s: %w", method, path, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if c.observe != nil {
		c.observe(Request{Method: method, Path: path, Query: query, Header: req.Header.Clone(), Body: kept})
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("incus API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("incus API %s %s: reading the answer: %w", method, path, err)
	}
	var env response
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("incus API %s %s: answer (HTTP %d) is not an Incus response: %w: %q", method, path, resp.StatusCode, err, driverkit.Clip(string(b), 200))
	}
	if env.Type == "error" || resp.StatusCode >= 400 {
		code := env.ErrorCode
		if code == 0 {
			code = resp.StatusCode
		}
		msg := env.Error
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return nil, &apiError{Code: code, Msg: msg, Method: method, Path: path}
	}
	return &env, nil
}

// get sends a GET and decodes the metadata into v (nil to skip it).
func (c *client) get(ctx context.Context, path string, query url.Values, v any) error {
	env, err := c.do(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(env.Metadata, v); err != nil {
		return fmt.Errorf("incus API GET %s: decoding the metadata: %w", path, err)
	}
	return nil
}

// getRaw sends a GET whose answer is not an envelope (a log file) and
// returns at most limit bytes of it.
func (c *client) getRaw(ctx context.Context, path string, query url.Values, limit int64) ([]byte, error) {
	u := url.URL{Scheme: "http", Host: "incus", Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if c.observe != nil {
		c.observe(Request{Method: http.MethodGet, Path: path, Query: query, Header: req.Header.Clone()})
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("incus API GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("incus API GET %s: %w", path, err)
	}
	if resp.StatusCode >= 400 {
		var env response
		msg := http.StatusText(resp.StatusCode)
		if json.Unmarshal(b, &env) == nil && env.Error != "" {
			msg = env.Error
		}
		return nil, &apiError{Code: resp.StatusCode, Msg: msg, Method: http.MethodGet, Path: path}
	}
	return b, nil
}

// operationID returns the id of the operation an async answer names.
func operationID(env *response) (string, error) {
	if env.Type != "async" || env.Operation == "" {
		return "", fmt.Errorf("incus API: expected a background operation, got a %q answer", env.Type)
	}
	id := env.Operation[strings.LastIndexByte(env.Operation, '/')+1:]
	if id == "" {
		return "", fmt.Errorf("incus API: operation %q has no id", env.Operation)
	}
	return id, nil
}

// wait waits, within ctx, for an operation to end, and returns it; a
// failed operation is an error carrying the daemon's reason.
func (c *client) wait(ctx context.Context, id string) (*operation, error) {
	for {
		timeout := 30
		if dl, ok := ctx.Deadline(); ok {
			timeout = max(1, min(30, int(time.Until(dl).Seconds())))
		}
		var op operation
		err := c.get(ctx, apiPath("operations", id, "wait"), url.Values{"timeout": {strconv.Itoa(timeout)}}, &op)
		if waitTimedOut(err) && ctx.Err() == nil {
			// The daemon's wait ended before the operation (seen: a
			// start that took over 30 s on a loaded host): ask again.
			continue
		}
		if err != nil {
			return nil, err
		}
		switch op.Status {
		case "Success":
			return &op, nil
		case "Failure", "Cancelled":
			return &op, &apiError{Code: op.StatusCode, Msg: op.Err, Method: "operation", Path: id}
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("waiting for incus operation %s: %w", id, ctx.Err())
		}
	}
}

// waitTimedOut reports whether err is the daemon saying that its wait for
// an operation ran out of time (a 500 whose message is Go's
// context.DeadlineExceeded), not that the operation failed.
func waitTimedOut(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Code == http.StatusInternalServerError && strings.Contains(ae.Msg, "deadline exceeded")
}

// doWait sends a request that starts an operation and waits for it.
func (c *client) doWait(ctx context.Context, method, path string, query url.Values, body any) (*operation, error) {
	env, err := c.do(ctx, method, path, query, body)
	if err != nil {
		return nil, err
	}
	if env.Type == "sync" {
		return &operation{Status: "Success"}, nil
	}
	id, err := operationID(env)
	if err != nil {
		return nil, err
	}
	return c.wait(ctx, id)
}

// websocket connects to one of an operation's websockets.
func (c *client) websocket(ctx context.Context, opID, secret string) (*websocket.Conn, error) {
	path := apiPath("operations", opID, "websocket")
	query := url.Values{"secret": {secret}}
	d := websocket.Dialer{
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "unix", c.socket)
		},
		HandshakeTimeout: 30 * time.Second,
	}
	u := url.URL{Scheme: "ws", Host: "incus", Path: path, RawQuery: query.Encode()}
	if c.observe != nil {
		c.observe(Request{Method: http.MethodGet, Path: path, Query: query, Header: http.Header{}})
	}
	conn, resp, err := d.DialContext(ctx, u.String(), nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("incus API: connecting to websocket of operation %s: %w", opID, err)
	}
	return conn, nil
}
