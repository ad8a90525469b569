package incus

import (
	"archive/tar"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// staticBusybox finds a statically linked busybox in PATH: the one program
// the probe's test container runs.
func staticBusybox() (string, error) {
	p, err := exec.LookPath("busybox")
	if err != nil {
		return "", errors.New("no busybox in PATH (the test container runs a static busybox; Debian package busybox-static)")
	}
	f, err := elf.Open(p)
	if err != nil {
		return "", fmt.Errorf("%s: not a readable ELF file: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked; the test container needs a static busybox (Debian package busybox-static)", p)
		}
	}
	return p, nil
}

func randomSuffix() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// writeProbeTar writes the probe's image: a static busybox as /sbin/init,
// whose inittab writes mark on the console once the system has booted.
func writeProbeTar(w io.Writer, busybox, mark string) error {
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	now := time.Now()
	meta := fmt.Sprintf("architecture: %q\ncreation_date: %d\nproperties:\n  description: \"isobench probe\"\n", incusArch(), now.Unix())
	tab := "::sysinit:/bin/busybox echo " + mark + "\n"
	tw := tar.NewWriter(w)
	files := []struct {
		name string
		typ  byte
		mode int64
		data []byte
		link string
	}{
		{"metadata.yaml", tar.TypeReg, 0o644, []byte(meta), ""},
		{"rootfs/", tar.TypeDir, 0o755, nil, ""},
		{"rootfs/bin/", tar.TypeDir, 0o755, nil, ""},
		{"rootfs/bin/busybox", tar.TypeReg, 0o755, bb, ""},
		{"rootfs/sbin/", tar.TypeDir, 0o755, nil, ""},
		{"rootfs/sbin/init", tar.TypeSymlink, 0o777, nil, "/bin/busybox"},
		{"rootfs/etc/", tar.TypeDir, 0o755, nil, ""},
		{"rootfs/etc/inittab", tar.TypeReg, 0o644, []byte(tab), ""},
		{"rootfs/proc/", tar.TypeDir, 0o755, nil, ""},
		{"rootfs/sys/", tar.TypeDir, 0o755, nil, ""},
		{"rootfs/dev/", tar.TypeDir, 0o755, nil, ""},
		{"rootfs/tmp/", tar.TypeDir, 0o1777, nil, ""},
	}
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: f.mode, Size: int64(len(f.data)), Linkname: f.link, ModTime: now}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if len(f.data) > 0 {
			if _, err := tw.Write(f.data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// tail returns the last n bytes of s, starting at a line boundary where
// possible, trimmed.
func tail(s string, n int) string {
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

// ringBuffer keeps the last bytes written to it.
type ringBuffer struct {
	buf []byte
	max int
}

func (r *ringBuffer) Write(p []byte) (int, error) {
	r.buf = append(r.buf, p...)
	if len(r.buf) > r.max {
		r.buf = append(r.buf[:0], r.buf[len(r.buf)-r.max:]...)
	}
	return len(p), nil
}

func (r *ringBuffer) String() string { return string(r.buf) }
