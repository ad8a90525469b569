package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"sync"
	"time"
)

// A Link carries messages both ways over a byte stream that other text may
// be mixed into: a VM's serial console, where the guest kernel writes its
// log lines whenever it likes, even in the middle of a message.
//
// Each message is cut into fragments; each fragment is one frame on a line
// of its own:
//
//	~isbG <seq> <kind> <len> <crc32> <base64 payload>\n
//
// "~isb" is the marker, then the direction (G from the guest, H from the
// host, so that an echo of one's own frames is never taken for the
// peer's), the fragment's sequence number, its kind (D: a fragment with
// more to come, E: a message's last fragment, A: acknowledges every
// fragment up to seq, R: asks for every fragment from seq again), the
// payload's length and its CRC-32 (IEEE, over seq, kind and payload), and
// the payload in base64. Everything on the stream that is not a valid frame
// is noise, handed to the noise writer line by line.
//
// Delivery is in order and exactly once: the receiver acknowledges each
// fragment and asks for a resend from the first one it lacks whenever it
// sees a frame it cannot read (a marker followed by anything but a valid
// frame) or a gap; the sender resends what is not acknowledged after
// ResendAfter. A corruption that does not heal after MaxResends attempts
// fails the link with an error that says so.
type Link struct {
	r     io.Reader
	w     io.Writer
	out   byte // direction letter of frames we send
	in    byte // direction letter of frames we accept
	noise io.Writer
	opts  LinkOptions

	wmu sync.Mutex // serialises writes to w

	mu       sync.Mutex
	cond     *sync.Cond
	nextSeq  uint64     // next sequence number to send
	unacked  []fragment // sent and not acknowledged, in order
	lastAck  time.Time  // last time the peer acknowledged progress
	resends  int        // resends without progress
	expected uint64     // next sequence number to receive
	partial  []byte     // the message being reassembled
	inbox    [][]byte
	err      error // the link's failure; set once
	lastReq  time.Time
	badRun   int // frames in a row that failed a check
	// Control work for the writer goroutine: the read loop never writes,
	// so that two ends blocked writing to each other cannot deadlock.
	kick      chan struct{}
	ackDue    bool
	ackSeq    uint64
	reqDue    bool // ask the peer to resend from expected
	resendDue bool
	resendSeq uint64
	resendAsk bool
	// lastResendFrom and lastResendAt: the last resend, to ignore
	// requests that crossed it.
	lastResendFrom uint64
	lastResendAt   time.Time
	stats          LinkStats
	closed         chan struct{}
}

// LinkStats counts what a link has seen, for diagnostics.
type LinkStats struct {
	FramesSent, FramesReceived int
	Corrupt                    int // frames that failed a check
	ResendsAsked, Resent       int
	NoiseLines                 int
}

type fragment struct {
	seq  uint64
	last bool
	data []byte
	sent time.Time
}

// LinkOptions tune a Link.
type LinkOptions struct {
	// MaxFragment bounds a fragment's payload (default 16 KiB).
	MaxFragment int
	// Window bounds the bytes sent and not yet acknowledged (default 256 KiB).
	Window int
	// ResendAfter is how long a fragment waits for its acknowledgment
	// before it is sent again (default 2s).
	ResendAfter time.Duration
	// MaxResends is how many resends without progress fail the link
	// (default 8).
	MaxResends int
	// MaxMessage bounds a reassembled message (default 64 MiB).
	MaxMessage int
}

func (o *LinkOptions) fill() {
	if o.MaxFragment <= 0 || o.MaxFragment > MaxFramePayload {
		o.MaxFragment = 16 << 10
	}
	if o.Window <= 0 {
		o.Window = 256 << 10
	}
	if o.ResendAfter <= 0 {
		o.ResendAfter = 2 * time.Second
	}
	if o.MaxResends <= 0 {
		o.MaxResends = 8
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = 64 << 20
	}
}

// Link ends.
const (
	GuestEnd = 'G'
	HostEnd  = 'H'
)

const frameMarker = "~isb"

// MaxFramePayload bounds the payload of a frame either end accepts;
// LinkOptions.MaxFragment may not exceed it.
const MaxFramePayload = 64 << 10

// ErrLinkClosed is returned by Send and Receive once the link is closed or
// its stream ended.
var ErrLinkClosed = errors.New("agent link closed")

// NewLink starts a link over r and w. end is GuestEnd or HostEnd: the side
// this one is. Noise (lines that are not frames) goes to noise, which may
// be nil. The link reads r until it ends or Close is called.
func NewLink(r io.Reader, w io.Writer, end byte, noise io.Writer, opts LinkOptions) *Link {
	opts.fill()
	l := &Link{r: r, w: w, noise: noise, opts: opts, closed: make(chan struct{}), lastAck: time.Now(), kick: make(chan struct{}, 1)}
	l.cond = sync.NewCond(&l.mu)
	l.out, l.in = end, HostEnd
	if end == HostEnd {
		l.in = GuestEnd
	}
	go l.readLoop()
	go l.timerLoop()
	go l.controlLoop()
	return l
}

// Stats returns the link's counters.
func (l *Link) Stats() LinkStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Err returns why the link failed, or nil.
func (l *Link) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *Link) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failLocked(err)
}

func (l *Link) failLocked(err error) {
	if l.err == nil {
		l.err = err
		close(l.closed)
	}
	l.cond.Broadcast()
}

// Close stops the link; pending Sends and Receives return ErrLinkClosed.
// It does not close the stream.
func (l *Link) Close() error {
	l.fail(ErrLinkClosed)
	return nil
}

// Send queues msg for delivery and returns once every fragment has been
// written (not acknowledged), or the link fails, or ctx ends.
func (l *Link) Send(ctx context.Context, msg []byte) error {
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	for off := 0; off == 0 || off < len(msg); {
		end := min(off+l.opts.MaxFragment, len(msg))
		chunk := msg[off:end]
		l.mu.Lock()
		for l.err == nil && ctx.Err() == nil && l.inFlight()+len(chunk) > l.opts.Window && len(l.unacked) > 0 {
			l.cond.Wait()
		}
		if l.err != nil {
			err := l.err
			l.mu.Unlock()
			return err
		}
		if err := ctx.Err(); err != nil {
			l.mu.Unlock()
			return err
		}
		f := fragment{seq: l.nextSeq, last: end == len(msg), data: chunk, sent: time.Now()}
		l.nextSeq++
		if len(l.unacked) == 0 {
			l.lastAck = time.Now()
		}
		l.unacked = append(l.unacked, f)
		l.mu.Unlock()
		if err := l.writeFrame(f.seq, kindOf(f.last), f.data); err != nil {
			l.fail(fmt.Errorf("agent link: writing: %w", err))
			return err
		}
		off = end
		if len(msg) == 0 {
			break
		}
	}
	return nil
}

func kindOf(last bool) byte {
	if last {
		return 'E'
	}
	return 'D'
}

func (l *Link) inFlight() int {
	n := 0
	for _, f := range l.unacked {
		n += len(f.data)
	}
	return n
}

// Receive returns the next message, waiting until one arrives, the link
// fails, or ctx ends.
func (l *Link) Receive(ctx context.Context) ([]byte, error) {
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.inbox) == 0 && l.err == nil && ctx.Err() == nil {
		l.cond.Wait()
	}
	if len(l.inbox) > 0 {
		m := l.inbox[0]
		l.inbox = l.inbox[1:]
		return m, nil
	}
	if l.err != nil {
		return nil, l.err
	}
	return nil, ctx.Err()
}

// Done is closed when the link fails or is closed.
func (l *Link) Done() <-chan struct{} { return l.closed }

// EncodeFrame returns one frame line: direction dir, sequence number seq,
// kind and payload.
func EncodeFrame(dir byte, seq uint64, kind byte, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString(frameMarker)
	b.WriteByte(dir)
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(seq, 10))
	b.WriteByte(' ')
	b.WriteByte(kind)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	fmt.Fprintf(&b, "%08x", frameCRC(seq, kind, payload))
	b.WriteByte(' ')
	enc := base64.StdEncoding
	buf := make([]byte, enc.EncodedLen(len(payload)))
	enc.Encode(buf, payload)
	b.Write(buf)
	b.WriteByte('\n')
	return b.Bytes()
}

func frameCRC(seq uint64, kind byte, payload []byte) uint32 {
	h := crc32.NewIEEE()
	fmt.Fprintf(h, "%d %c ", seq, kind)
	h.Write(payload)
	return h.Sum32()
}

// Frame is one decoded frame.
type Frame struct {
	Dir     byte
	Seq     uint64
	Kind    byte
	Payload []byte
}

// DecodeFrame parses a frame line (from the marker to before the newline,
// with any trailing carriage return). Every field is checked: a frame that
// fails a check gives an error saying which.
func DecodeFrame(line []byte, maxPayload int) (Frame, error) {
	var f Frame
	line = bytes.TrimRight(line, "\r")
	if !bytes.HasPrefix(line, []byte(frameMarker)) || len(line) < len(frameMarker)+1 {
		return f, errors.New("no frame marker")
	}
	f.Dir = line[len(frameMarker)]
	fields := bytes.Split(line[len(frameMarker)+1:], []byte{' '})
	if len(fields) != 6 || len(fields[0]) != 0 {
		return f, fmt.Errorf("frame has %d fields, want 5", len(fields)-1)
	}
	seq, err := strconv.ParseUint(string(fields[1]), 10, 64)
	if err != nil {
		return f, fmt.Errorf("frame sequence number %q", clip(string(fields[1]), 24))
	}
	if len(fields[2]) != 1 || bytes.IndexByte([]byte("DEAR"), fields[2][0]) < 0 {
		return f, fmt.Errorf("frame kind %q", clip(string(fields[2]), 8))
	}
	n, err := strconv.Atoi(string(fields[3]))
	if err != nil || n < 0 || n > maxPayload {
		return f, fmt.Errorf("frame length %q (at most %d)", clip(string(fields[3]), 24), maxPayload)
	}
	if len(fields[4]) != 8 {
		return f, fmt.Errorf("frame checksum %q", clip(string(fields[4]), 24))
	}
	sum, err := strconv.ParseUint(string(fields[4]), 16, 32)
	if err != nil {
		return f, fmt.Errorf("frame checksum %q", clip(string(fields[4]), 24))
	}
	enc := base64.StdEncoding
	if enc.DecodedLen(len(fields[5])) < n || len(fields[5]) != enc.EncodedLen(n) {
		return f, fmt.Errorf("frame payload of %d base64 bytes for length %d", len(fields[5]), n)
	}
	// Decode may write up to DecodedLen bytes (a last group whose padding
	// is written as data), more than n: the buffer has room for them.
	p := make([]byte, enc.DecodedLen(len(fields[5])))
	k, err := enc.Decode(p, fields[5])
	if err != nil || k != n {
		return f, fmt.Errorf("frame payload is not base64 of %d bytes", n)
	}
	p = p[:n]
	f.Seq, f.Kind, f.Payload = seq, fields[2][0], p
	if got := frameCRC(seq, f.Kind, p); got != uint32(sum) {
		return f, fmt.Errorf("frame checksum %08x, payload gives %08x", sum, got)
	}
	return f, nil
}

func (l *Link) writeFrame(seq uint64, kind byte, payload []byte) error {
	b := EncodeFrame(l.out, seq, kind, payload)
	l.wmu.Lock()
	defer l.wmu.Unlock()
	_, err := l.w.Write(b)
	l.mu.Lock()
	l.stats.FramesSent++
	l.mu.Unlock()
	return err
}

// readLoop splits the stream into lines, decodes frames and hands noise on.
func (l *Link) readLoop() {
	maxLine := len(frameMarker) + 64 + base64.StdEncoding.EncodedLen(MaxFramePayload)
	br := bufio.NewReaderSize(l.r, 64<<10)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			if i := bytes.Index(line, []byte(frameMarker)); i < 0 && len(line) > 4096 {
				// A long line of noise: pass it on in pieces.
				l.noiseLine(line)
				line = line[:0]
			} else if i >= 0 && len(line)-i > maxLine {
				l.noiseLine(line[:i])
				l.corrupt("frame longer than its limit")
				line = line[:0]
			}
			continue
		}
		if len(line) > 0 {
			l.handleLine(bytes.TrimSuffix(line, []byte{'\n'}))
			line = line[:0]
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				l.fail(fmt.Errorf("%w: the stream ended", ErrLinkClosed))
			} else {
				l.fail(fmt.Errorf("%w: reading: %v", ErrLinkClosed, err))
			}
			return
		}
	}
}

func (l *Link) noiseLine(b []byte) {
	b = bytes.TrimRight(b, "\r")
	if len(bytes.TrimSpace(b)) == 0 {
		return
	}
	l.mu.Lock()
	l.stats.NoiseLines++
	l.mu.Unlock()
	if l.noise != nil {
		l.noise.Write(append(append([]byte(nil), b...), '\n'))
	}
}

// handleLine handles one line: noise before a marker, and a frame from it.
func (l *Link) handleLine(line []byte) {
	i := bytes.Index(line, []byte(frameMarker))
	if i < 0 {
		l.noiseLine(line)
		return
	}
	if i > 0 {
		l.noiseLine(line[:i])
	}
	f, err := DecodeFrame(line[i:], MaxFramePayload)
	if err == nil && f.Dir != l.in {
		if f.Dir == l.out {
			return // our own frame echoed back
		}
		err = fmt.Errorf("frame direction %q", f.Dir)
	}
	if err != nil {
		l.corrupt(err.Error())
		return
	}
	l.mu.Lock()
	l.stats.FramesReceived++
	l.badRun = 0
	l.mu.Unlock()
	switch f.Kind {
	case 'A':
		l.acked(f.Seq)
	case 'R':
		l.mu.Lock()
		l.resendDue, l.resendSeq, l.resendAsk = true, f.Seq, true
		l.mu.Unlock()
		l.wake()
	case 'D', 'E':
		l.data(f)
	}
}

// corrupt asks the peer to resend from the first fragment we lack.
func (l *Link) corrupt(why string) {
	l.mu.Lock()
	l.stats.Corrupt++
	l.badRun++
	if l.badRun > 2*l.opts.MaxResends {
		l.failLocked(fmt.Errorf("agent link: %d frames in a row could not be read (last: %s): the console corrupts every frame", l.badRun, why))
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	l.askResend()
}

func (l *Link) askResend() {
	l.mu.Lock()
	if time.Since(l.lastReq) < l.opts.ResendAfter/8 {
		l.mu.Unlock()
		return
	}
	l.lastReq = time.Now()
	l.stats.ResendsAsked++
	l.reqDue = true
	l.mu.Unlock()
	l.wake()
}

func (l *Link) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// controlLoop writes what the read loop and the timer asked for:
// acknowledgments, resend requests and resends.
func (l *Link) controlLoop() {
	for {
		select {
		case <-l.closed:
			return
		case <-l.kick:
		}
		l.mu.Lock()
		ack, ackSeq := l.ackDue, l.ackSeq
		req, reqSeq := l.reqDue, l.expected
		resend, resendSeq, asked := l.resendDue, l.resendSeq, l.resendAsk
		l.ackDue, l.reqDue, l.resendDue = false, false, false
		l.mu.Unlock()
		var err error
		if ack {
			err = l.writeFrame(ackSeq, 'A', nil)
		}
		if req && err == nil {
			err = l.writeFrame(reqSeq, 'R', nil)
		}
		if resend && err == nil {
			l.resendFrom(resendSeq, asked)
		}
		if err != nil {
			l.fail(fmt.Errorf("agent link: writing: %w", err))
			return
		}
	}
}

func (l *Link) data(f Frame) {
	l.mu.Lock()
	switch {
	case f.Seq < l.expected:
		// A duplicate: acknowledge again, the first ack may be lost.
		seq := l.expected - 1
		l.mu.Unlock()
		l.writeAck(seq)
		return
	case f.Seq > l.expected:
		l.mu.Unlock()
		l.askResend()
		return
	}
	l.expected++
	if len(l.partial)+len(f.Payload) > l.opts.MaxMessage {
		l.failLocked(fmt.Errorf("agent link: a message longer than %d bytes", l.opts.MaxMessage))
		l.mu.Unlock()
		return
	}
	l.partial = append(l.partial, f.Payload...)
	if f.Kind == 'E' {
		l.inbox = append(l.inbox, l.partial)
		l.partial = nil
		l.cond.Broadcast()
	}
	seq := f.Seq
	l.mu.Unlock()
	l.writeAck(seq)
}

func (l *Link) writeAck(seq uint64) {
	l.mu.Lock()
	if !l.ackDue || seq > l.ackSeq {
		l.ackSeq = seq
	}
	l.ackDue = true
	l.mu.Unlock()
	l.wake()
}

// acked drops the fragments up to seq.
func (l *Link) acked(seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for n < len(l.unacked) && l.unacked[n].seq <= seq {
		n++
	}
	if n > 0 {
		l.unacked = l.unacked[n:]
		l.lastAck = time.Now()
		l.resends = 0
		l.cond.Broadcast()
	}
}

// resendFrom sends again every unacknowledged fragment from seq on.
func (l *Link) resendFrom(seq uint64, asked bool) {
	l.mu.Lock()
	if seq > 0 {
		// The peer has everything before seq.
		n := 0
		for n < len(l.unacked) && l.unacked[n].seq < seq {
			n++
		}
		if n > 0 {
			l.unacked = l.unacked[n:]
			l.lastAck = time.Now()
			l.resends = 0
			l.cond.Broadcast()
		}
	}
	if len(l.unacked) == 0 {
		l.mu.Unlock()
		return
	}
	if asked && l.unacked[0].seq == l.lastResendFrom && time.Since(l.lastResendAt) < l.opts.ResendAfter/8 {
		l.mu.Unlock()
		return // resent just now: the request crossed our resend
	}
	l.lastResendFrom, l.lastResendAt = l.unacked[0].seq, time.Now()
	l.resends++
	if l.resends > l.opts.MaxResends {
		l.failLocked(fmt.Errorf("agent link: fragment %d still not through after %d resends: the console corrupts every copy", l.unacked[0].seq, l.opts.MaxResends))
		l.mu.Unlock()
		return
	}
	frags := append([]fragment(nil), l.unacked...)
	now := time.Now()
	for i := range l.unacked {
		l.unacked[i].sent = now
	}
	l.stats.Resent += len(frags)
	l.mu.Unlock()
	for _, f := range frags {
		if err := l.writeFrame(f.seq, kindOf(f.last), f.data); err != nil {
			l.fail(fmt.Errorf("agent link: writing: %w", err))
			return
		}
	}
}

// timerLoop resends what waits too long for its acknowledgment.
func (l *Link) timerLoop() {
	t := time.NewTicker(l.opts.ResendAfter / 4)
	defer t.Stop()
	for {
		select {
		case <-l.closed:
			return
		case <-t.C:
		}
		l.mu.Lock()
		due := len(l.unacked) > 0 && time.Since(l.unacked[0].sent) > l.opts.ResendAfter && time.Since(l.lastAck) > l.opts.ResendAfter
		l.mu.Unlock()
		if due {
			l.mu.Lock()
			if !l.resendDue {
				l.resendDue, l.resendSeq, l.resendAsk = true, 0, false
			}
			l.mu.Unlock()
			l.wake()
		}
	}
}
