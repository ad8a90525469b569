package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Message types of the VM protocol, carried by a Link over the guest's
// serial console.
const (
	vmHello    = "hello"    // guest: the agent runs (Ready, Boot)
	vmExec     = "exec"     // host: run Request under ID
	vmResult   = "result"   // guest: the Result of ID
	vmCancel   = "cancel"   // host: kill the command of ID
	vmPoweroff = "poweroff" // host: sync, unmount, power off
	vmBye      = "bye"      // guest: powering off now
	vmFatal    = "fatal"    // guest: the agent cannot serve (Error)
)

// vmMessage is one message of the VM protocol. Command output travels as
// bytes (base64 in JSON), never as a JSON string, so that it arrives
// unchanged whatever it holds.
type vmMessage struct {
	Type    string   `json:"type"`
	ID      uint64   `json:"id,omitempty"`
	Request *Request `json:"request,omitempty"`
	Result  *Result  `json:"result,omitempty"`
	Stdout  []byte   `json:"stdout,omitempty"`
	Stderr  []byte   `json:"stderr,omitempty"`
	Ready   *Ready   `json:"ready,omitempty"`
	Boot    *Boot    `json:"boot,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Boot is what the guest says of its boot when its agent is ready.
type Boot struct {
	// UptimeNanos is the guest kernel's uptime when the agent was ready:
	// the guest's own view of how long it took to boot.
	UptimeNanos int64 `json:"uptime_ns"`
	// Scratch is the scratch kind the guest set up, and ScratchFS the file
	// system type at ScratchPath.
	Scratch   string `json:"scratch,omitempty"`
	ScratchFS string `json:"scratch_fs,omitempty"`
	// CPUs and MemoryBytes are what the guest kernel sees.
	CPUs        int   `json:"cpus,omitempty"`
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
}

// Guest is the host's end of the VM protocol: it talks to the agent that
// runs as PID 1 in a guest (mode "vm") over the guest's serial console.
type Guest struct {
	link *Link

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan vmMessage
	hello   chan vmMessage
	bye     chan struct{}
	byeOnce sync.Once
	fatal   string
}

// NewGuest starts the host's end over the console stream (r: what the
// guest writes, w: the guest's input). Lines that are not protocol frames
// (the guest kernel's log) go to noise.
func NewGuest(r io.Reader, w io.Writer, noise io.Writer, opts LinkOptions) *Guest {
	g := &Guest{
		link:    NewLink(r, w, HostEnd, noise, opts),
		pending: map[uint64]chan vmMessage{},
		hello:   make(chan vmMessage, 1),
		bye:     make(chan struct{}),
	}
	go g.dispatch()
	return g
}

func (g *Guest) dispatch() {
	for {
		b, err := g.link.Receive(context.Background())
		if err != nil {
			return
		}
		var m vmMessage
		if err := json.Unmarshal(b, &m); err != nil {
			g.link.fail(fmt.Errorf("agent link: a message that is not JSON: %w", err))
			return
		}
		switch m.Type {
		case vmHello:
			select {
			case g.hello <- m:
			default:
			}
		case vmResult:
			g.mu.Lock()
			ch := g.pending[m.ID]
			delete(g.pending, m.ID)
			g.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		case vmBye:
			g.byeOnce.Do(func() { close(g.bye) })
		case vmFatal:
			g.mu.Lock()
			g.fatal = m.Error
			g.mu.Unlock()
			g.link.fail(fmt.Errorf("the guest agent failed: %s", m.Error))
			return
		}
	}
}

// WaitReady waits for the agent's hello.
func (g *Guest) WaitReady(ctx context.Context) (Ready, Boot, error) {
	select {
	case m := <-g.hello:
		if m.Ready == nil {
			return Ready{}, Boot{}, errors.New("the guest agent's hello has no ready message")
		}
		if m.Ready.Version != Version {
			return Ready{}, Boot{}, fmt.Errorf("the guest agent speaks protocol %q, this isobench speaks %q: rebuild the image", m.Ready.Version, Version)
		}
		var b Boot
		if m.Boot != nil {
			b = *m.Boot
		}
		return *m.Ready, b, nil
	case <-g.link.Done():
		return Ready{}, Boot{}, g.link.Err()
	case <-ctx.Done():
		return Ready{}, Boot{}, ctx.Err()
	}
}

// Exec runs req in the guest and returns its Result, with the command's
// output exactly as it was written.
func (g *Guest) Exec(ctx context.Context, req Request) (Result, error) {
	g.mu.Lock()
	g.nextID++
	id := g.nextID
	ch := make(chan vmMessage, 1)
	g.pending[id] = ch
	g.mu.Unlock()
	forget := func() {
		g.mu.Lock()
		delete(g.pending, id)
		g.mu.Unlock()
	}
	b, err := json.Marshal(vmMessage{Type: vmExec, ID: id, Request: &req})
	if err != nil {
		forget()
		return Result{}, err
	}
	if err := g.link.Send(ctx, b); err != nil {
		forget()
		return Result{}, err
	}
	select {
	case m := <-ch:
		if m.Result == nil {
			return Result{}, fmt.Errorf("the guest agent's result for command %d is empty", id)
		}
		res := *m.Result
		res.Stdout, res.Stderr = string(m.Stdout), string(m.Stderr)
		return res, nil
	case <-g.link.Done():
		forget()
		return Result{}, g.link.Err()
	case <-ctx.Done():
		forget()
		// Kill the command in the guest; do not wait for it.
		if cb, err := json.Marshal(vmMessage{Type: vmCancel, ID: id}); err == nil {
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = g.link.Send(sctx, cb)
			cancel()
		}
		return Result{}, ctx.Err()
	}
}

// Poweroff asks the guest to sync its disks and power off, and waits for
// its goodbye (the guest then stops by itself).
func (g *Guest) Poweroff(ctx context.Context) error {
	b, _ := json.Marshal(vmMessage{Type: vmPoweroff})
	if err := g.link.Send(ctx, b); err != nil {
		return err
	}
	select {
	case <-g.bye:
		return nil
	case <-g.link.Done():
		return g.link.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when the link to the guest ends.
func (g *Guest) Done() <-chan struct{} { return g.link.Done() }

// Err says why the link to the guest ended, or nil.
func (g *Guest) Err() error { return g.link.Err() }

// Stats returns the link's counters.
func (g *Guest) Stats() LinkStats { return g.link.Stats() }

// Close stops the host's end; it does not touch the guest.
func (g *Guest) Close() error { return g.link.Close() }
