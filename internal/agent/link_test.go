package agent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"
)

// noisyWriter passes writes on, inserting kernel log lines at random
// places (even inside frames) and, with corrupt > 0, flipping a byte now
// and then — what a guest's serial console does to the agent's frames.
type noisyWriter struct {
	mu      sync.Mutex
	w       io.Writer
	rnd     *rand.Rand
	noise   float64 // chance per write of a kernel line inserted
	corrupt float64 // chance per write of a flipped byte
	lines   int
}

func (n *noisyWriter) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	q := append([]byte(nil), p...)
	if n.corrupt > 0 && len(q) > 0 && n.rnd.Float64() < n.corrupt {
		q[n.rnd.Intn(len(q))] ^= 0x20
	}
	if n.noise > 0 && n.rnd.Float64() < n.noise {
		at := n.rnd.Intn(len(q) + 1)
		line := []byte("\r\n[   12.345678] virtio_blk virtio1: [vdb] 16777216 512-byte logical blocks\r\n")
		q = append(q[:at:at], append(line, q[at:]...)...)
		n.lines++
	}
	if _, err := n.w.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}

// pair connects a host Guest to a ServeVM over two pipes, the guest's
// output made noisy.
func pair(t *testing.T, noise, corrupt float64, opts LinkOptions) (*Guest, *bytes.Buffer, chan error) {
	t.Helper()
	hr, gw := io.Pipe() // guest -> host
	gr, hw := io.Pipe() // host -> guest
	nw := &noisyWriter{w: gw, rnd: rand.New(rand.NewSource(1)), noise: noise, corrupt: corrupt}
	var noiseBuf safeBuffer
	g := NewGuest(hr, hw, &noiseBuf, opts)
	done := make(chan error, 1)
	guestOpts := LinkOptions{ResendAfter: opts.ResendAfter, MaxResends: 4 * opts.MaxResends}
	go func() { done <- serveVM(context.Background(), gr, nw, Boot{Scratch: "tmpfs"}, guestOpts) }()
	t.Cleanup(func() {
		g.Close()
		hr.Close()
		gr.Close()
		gw.Close()
		hw.Close()
	})
	return g, &noiseBuf.b, done
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestVMProtocol(t *testing.T) {
	tests := []struct {
		name           string
		noise, corrupt float64
	}{
		{"clean", 0, 0},
		{"kernel lines everywhere", 0.3, 0},
		{"kernel lines and corrupted bytes", 0.2, 0.05},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, _, done := pair(t, tc.noise, tc.corrupt, LinkOptions{MaxFragment: 512, ResendAfter: 300 * time.Millisecond, MaxResends: 50})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rd, boot, err := g.WaitReady(ctx)
			if err != nil {
				t.Fatalf("WaitReady: %v", err)
			}
			if rd.Version != Version || boot.Scratch != "tmpfs" {
				t.Errorf("ready %+v boot %+v", rd, boot)
			}
			cmds := []struct {
				argv           []string
				stdout, stderr string
				code           int
			}{
				{[]string{"sh", "-c", "printf out; printf err >&2"}, "out", "err", 0},
				{[]string{"sh", "-c", `printf '\001\377\000x'`}, "\x01\xff\x00x", "", 0},
				{[]string{"sh", "-c", "exit 3"}, "", "", 3},
				{[]string{"sh", "-c", `i=0; while [ $i -lt 300 ]; do echo 0123456789abcdef0123456789abcdef; i=$((i+1)); done`}, strings.Repeat("0123456789abcdef0123456789abcdef\n", 300), "", 0},
			}
			for _, c := range cmds {
				res, err := g.Exec(ctx, Request{Argv: c.argv})
				if err != nil {
					t.Fatalf("Exec %q: %v", c.argv, err)
				}
				if res.Stdout != c.stdout || res.Stderr != c.stderr || res.ExitCode != c.code {
					t.Errorf("Exec %q: stdout %q stderr %q code %d; want %q %q %d", c.argv, clip(res.Stdout, 80), res.Stderr, res.ExitCode, clip(c.stdout, 80), c.stderr, c.code)
				}
			}
			// Concurrent commands each get their own result.
			var wg sync.WaitGroup
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					want := strings.Repeat("x", i+1)
					res, err := g.Exec(ctx, Request{Argv: []string{"printf", want}})
					if err != nil || res.Stdout != want {
						t.Errorf("concurrent exec %d: %q, %v", i, res.Stdout, err)
					}
				}()
			}
			wg.Wait()
			if err := g.Poweroff(ctx); err != nil {
				t.Fatalf("Poweroff: %v", err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("ServeVM: %v", err)
				}
			case <-ctx.Done():
				t.Fatal("ServeVM did not return after the power-off")
			}
			st := g.Stats()
			t.Logf("link stats: %+v", st)
			if tc.corrupt > 0 && st.Corrupt == 0 {
				t.Error("no corrupt frame was seen: the test did not test recovery")
			}
		})
	}
}

// TestLinkFailsOnPersistentCorruption: a console that garbles every frame
// fails the link with an error that says so, rather than hanging.
func TestLinkFailsOnPersistentCorruption(t *testing.T) {
	g, _, _ := pair(t, 0, 1, LinkOptions{ResendAfter: 100 * time.Millisecond, MaxResends: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, _, err := g.WaitReady(ctx)
	if err == nil {
		t.Fatal("WaitReady succeeded over a console that corrupts everything")
	}
	if ctx.Err() != nil {
		t.Fatalf("WaitReady ran into the test's timeout: %v", err)
	}
	t.Logf("error: %v", err)
}

func TestLinkCancelledExec(t *testing.T) {
	g, _, _ := pair(t, 0, 0, LinkOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, _, err := g.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer ccancel()
	start := time.Now()
	_, err := g.Exec(cctx, Request{Argv: []string{"sleep", "30"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Exec of sleep 30 with a 200ms context: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("cancelled Exec took %s", time.Since(start))
	}
	// The link still works.
	res, err := g.Exec(ctx, Request{Argv: []string{"echo", "ok"}})
	if err != nil || res.Stdout != "ok\n" {
		t.Fatalf("after a cancelled command: %q, %v", res.Stdout, err)
	}
}

func TestDecodeFrame(t *testing.T) {
	good := EncodeFrame(GuestEnd, 7, 'E', []byte(`{"type":"hello"}`))
	f, err := DecodeFrame(bytes.TrimSuffix(good, []byte("\n")), 1024)
	if err != nil {
		t.Fatal(err)
	}
	if f.Seq != 7 || f.Kind != 'E' || string(f.Payload) != `{"type":"hello"}` || f.Dir != GuestEnd {
		t.Errorf("decoded %+v", f)
	}
	line := string(bytes.TrimSuffix(good, []byte("\n")))
	bad := []struct{ name, line string }{
		{"flipped payload", strings.Replace(line, "eyJ0", "eyJ1", 1)},
		{"wrong seq", strings.Replace(line, " 7 ", " 8 ", 1)},
		{"wrong kind", strings.Replace(line, " E ", " D ", 1)},
		{"cut short", line[:len(line)-3]},
		{"kernel line inside", line[:20] + "[    1.000] oops\r" + line[20:]},
		{"too long", string(EncodeFrame(GuestEnd, 1, 'D', make([]byte, 2048)))},
		{"no marker", "hello"},
		{"bad kind", "~isbG 1 X 0 00000000 "},
	}
	for _, b := range bad {
		if _, err := DecodeFrame([]byte(b.line), 1024); err == nil {
			t.Errorf("%s: DecodeFrame accepted %q", b.name, clip(b.line, 60))
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add(bytes.TrimSuffix(EncodeFrame(GuestEnd, 7, 'E', []byte(`{"type":"hello"}`)), []byte("\n")))
	f.Add(bytes.TrimSuffix(EncodeFrame(HostEnd, 0, 'A', nil), []byte("\n")))
	f.Add([]byte("~isbG 1 D 3 00000000 AAAA"))
	f.Fuzz(func(t *testing.T, line []byte) {
		fr, err := DecodeFrame(line, 4096)
		if err != nil {
			return
		}
		// What decodes encodes back to the same frame.
		again := bytes.TrimSuffix(EncodeFrame(fr.Dir, fr.Seq, fr.Kind, fr.Payload), []byte("\n"))
		fr2, err := DecodeFrame(again, 4096)
		if err != nil || fr2.Seq != fr.Seq || !bytes.Equal(fr2.Payload, fr.Payload) {
			t.Fatalf("round trip of %q: %v", line, err)
		}
	})
}

func TestParseVMCmdline(t *testing.T) {
	tests := []struct {
		cmdline string
		want    VMConfig
		err     bool
	}{
		{"console=ttyS0 quiet", VMConfig{Scratch: "rootfs", Volume: "/dev/vdb", Port: "/dev/ttyS0"}, false},
		{"isobench.scratch=volume isobench.volume=/dev/vdc isobench.port=/dev/hvc0", VMConfig{Scratch: "volume", Volume: "/dev/vdc", Port: "/dev/hvc0"}, false},
		{"isobench.scratch=tmpfs", VMConfig{Scratch: "tmpfs", Volume: "/dev/vdb", Port: "/dev/ttyS0"}, false},
		{"isobench.scratch=floppy", VMConfig{}, true},
		{"isobench.volume=/etc/passwd", VMConfig{}, true},
		{"isobench.port=/dev/../etc/shadow", VMConfig{}, true},
	}
	for _, tc := range tests {
		got, err := ParseVMCmdline(tc.cmdline)
		if (err != nil) != tc.err {
			t.Errorf("ParseVMCmdline(%q): error %v, want error %v", tc.cmdline, err, tc.err)
			continue
		}
		if !tc.err && got != tc.want {
			t.Errorf("ParseVMCmdline(%q) = %+v, want %+v", tc.cmdline, got, tc.want)
		}
	}
}
