package incus

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"time"
)

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
