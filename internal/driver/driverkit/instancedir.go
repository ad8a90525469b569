package driverkit

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// MakeInstanceDir makes a sandbox's instance directory dir (mode 0711) in
// runDir (made when missing) and pushes its removal on u; the removal
// refuses while anything is mounted in the directory.
func MakeInstanceDir(u *Undo, runDir, dir string) error {
	if err := MakeRunDir(runDir); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o711); err != nil {
		return fmt.Errorf("making the instance directory: %w", err)
	}
	u.Push("instance directory", func() error { return RemoveDirUnmounted(dir) })
	return nil
}

// Overlay is a sandbox's root filesystem: an overlayfs of the image's root
// filesystem (Lower, never written) with the sandbox's writes in Upper,
// mounted at Point. Upper and Work are in the instance directory.
type Overlay struct {
	Lower, Upper, Work, Point string
}

// NewOverlay lays out the overlay of lower in the instance directory dir:
// upper and work there, mounted at point.
func NewOverlay(lower, dir, point string) Overlay {
	return Overlay{Lower: lower, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work"), Point: point}
}

// MakeDirs makes the upper, work and mount point directories.
func (o Overlay) MakeDirs() error {
	for _, p := range []string{o.Upper, o.Work, o.Point} {
		if err := os.Mkdir(p, 0o755); err != nil {
			return fmt.Errorf("making overlay directories: %w", err)
		}
	}
	return nil
}

// Mount mounts the overlay and pushes its unmount on u. source is the
// mount's source in the host's mount table: the sandbox id, so that the
// table says whose it is.
func (o Overlay) Mount(u *Undo, source string) error {
	opts := "lowerdir=" + o.Lower + ",upperdir=" + o.Upper + ",workdir=" + o.Work
	if err := syscall.Mount(source, o.Point, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mounting an overlay of %s at %s: %w", o.Lower, o.Point, err)
	}
	u.Push("overlay mount", func() error { return Unmount(o.Point) })
	return nil
}
