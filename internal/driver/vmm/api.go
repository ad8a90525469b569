package vmm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

// APIClient speaks HTTP with JSON bodies to a VMM's API on a unix socket
// (Firecracker's and Cloud Hypervisor's).
type APIClient struct {
	Socket string
	http   *http.Client
}

// NewAPIClient returns a client of the API at the unix socket path.
func NewAPIClient(socket string) *APIClient {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}
	return &APIClient{Socket: socket, http: &http.Client{Transport: tr}}
}

// APIError is a response of the API outside 2xx.
type APIError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// WaitReady waits until the API socket accepts connections.
func (c *APIClient) WaitReady(ctx context.Context) error {
	for {
		conn, err := net.DialTimeout("unix", c.Socket, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("connecting to the API at %s: %w", c.Socket, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the API at %s: %w", c.Socket, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Do sends a request with body (nil for none) encoded as JSON, and decodes
// a 2xx response's JSON body into out when out is not nil.
func (c *APIClient) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encoding the body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://localhost"+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the response: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decoding the response: %w", method, path, err)
		}
	}
	return nil
}

// CopyDisk makes dst a private copy of the raw disk src: a reflink where
// the file system can (instant, copy-on-write), else a sparse copy.
func CopyDisk(ctx context.Context, src, dst string) error {
	cmd := execCommand(ctx, "cp", "--reflink=auto", "--sparse=always", src, dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("copying the disk %s: %w: %s", src, err, strings.TrimSpace(string(out)))
	}
	if err := os.Chmod(dst, 0o600); err != nil {
		return fmt.Errorf("copying the disk %s: %w", src, err)
	}
	return nil
}
