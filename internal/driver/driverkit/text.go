package driverkit

import (
	"os"
	"strings"
	"sync"
)

// Clip returns s trimmed and cut to its first n bytes, marked with "…"
// when cut: a command line or an answer quoted in a message.
func Clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Tail returns the last n bytes of s, trimmed, starting at a line boundary
// where possible, marked with "…" when cut: the end of a log quoted in a
// message.
func Tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return "…" + s
}

// TailBytes returns the last n bytes of s, trimmed, marked with "…" when
// cut, wherever the cut falls.
func TailBytes(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// ReadTail returns Tail of the last n bytes of a file; "" if it cannot be
// read. It reads no more than n bytes of a large file.
func ReadTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-int64(n), 0)
	b := make([]byte, fi.Size()-off)
	k, _ := f.ReadAt(b, off)
	return Tail(string(b[:k]), n)
}

// TailBuffer is an io.Writer that keeps the last bytes written to it: a
// command's stderr kept for its error message however much it writes. It
// is safe for concurrent use.
type TailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

// NewTailBuffer returns a TailBuffer keeping the last max bytes.
func NewTailBuffer(max int) *TailBuffer { return &TailBuffer{max: max} }

// Write keeps the end of what was written; it never fails.
func (r *TailBuffer) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	if len(r.buf) > r.max {
		r.buf = append(r.buf[:0], r.buf[len(r.buf)-r.max:]...)
	}
	return len(p), nil
}

// String returns the bytes kept.
func (r *TailBuffer) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.buf)
}

// LXCLogErrors returns the last n ERROR lines of an LXC log (the lxc
// driver's own, or the one Incus keeps of a container), trimmed, as
// " (LXC's log: A; B)" to follow an error; "" when there are none.
func LXCLogErrors(log []byte, n int) string {
	var lines []string
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, " ERROR ") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return " (LXC's log: " + strings.Join(lines, "; ") + ")"
}
