package guest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/isobench/isobench/internal/cachedir"
	"github.com/isobench/isobench/internal/image"
)

// diskRecipe names the way guest disks are made; it is part of their file
// names, so a change makes new ones.
const diskRecipe = "ext4-1"

// Names of guest disks beside an image's rootfs.
const (
	guestDirName = "guest"
	// DefaultDiskHeadroom is the free space a guest root disk has beyond
	// the image's files: room for the rootfs scratch of file workloads
	// (sysbench fileio's default is 2 GiB). The file is sparse: only what
	// is written takes space.
	DefaultDiskHeadroom = 8 << 30
)

// DiskOptions says how to make a guest disk.
type DiskOptions struct {
	// Headroom is the free space beyond the files; 0 means
	// DefaultDiskHeadroom.
	Headroom int64
	// Log receives a line per step; nil discards them.
	Log io.Writer
}

// GuestDisk returns the path of an ext4 disk image holding img's root
// file system, making it on first use without mounting anything (mkfs.ext4
// -d, from e2fsprogs 1.43 or later). It is kept in the image's directory,
// beside the rootfs, and shared by every guest: guests boot from a
// copy-on-write layer over it and never write to it.
func GuestDisk(ctx context.Context, img *image.Image, o DiskOptions) (string, error) {
	if img == nil || img.Rootfs == "" {
		return "", errors.New("guest disk: no image")
	}
	if o.Headroom <= 0 {
		o.Headroom = DefaultDiskHeadroom
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	dir := filepath.Join(img.Dir, guestDirName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("guest disk of image %s: %w", cachedir.ShortID(img.ID), err)
	}
	unlock, err := cachedir.Lock(ctx, dir, o.Log)
	if err != nil {
		return "", fmt.Errorf("guest disk of image %s: %w", cachedir.ShortID(img.ID), err)
	}
	defer unlock()
	final := filepath.Join(dir, "rootfs-"+diskRecipe+"-"+strconv.FormatInt(o.Headroom>>20, 10)+"M.ext4")
	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() {
		return final, nil
	}
	if err := cachedir.RemoveLeftovers(dir); err != nil {
		return "", fmt.Errorf("guest disk of image %s: %w", cachedir.ShortID(img.ID), err)
	}
	used, err := treeSize(img.Rootfs)
	if err != nil {
		return "", fmt.Errorf("guest disk of image %s: %w", cachedir.ShortID(img.ID), err)
	}
	size := roundUp(used+used/4+o.Headroom+64<<20, 1<<20)
	tmp := filepath.Join(dir, cachedir.BuildPrefix+filepath.Base(final))
	logf(o.Log, "image %s: making the guest root disk (ext4, %d MiB, %.1f MiB of files)", cachedir.ShortID(img.ID), size>>20, float64(used)/(1<<20))
	if err := MakeExt4(ctx, tmp, size, img.Rootfs, "isobench-root"); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("guest disk of image %s: %w", cachedir.ShortID(img.ID), err)
	}
	if err := os.Chmod(tmp, 0o444); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("guest disk of image %s: %w", cachedir.ShortID(img.ID), err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("guest disk of image %s: %w", cachedir.ShortID(img.ID), err)
	}
	return final, nil
}

// MakeExt4 makes a sparse file of size bytes at path holding an ext4 file
// system, filled with the tree at from when it is not "", without
// mounting anything (mkfs.ext4 -d). Ownership and modes come from the tree.
func MakeExt4(ctx context.Context, path string, size int64, from, label string) error {
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		return errors.New("mkfs.ext4 not found in PATH: isobench setup installs it (Debian package e2fsprogs)")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("make ext4 disk: %w", err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("make ext4 disk %s: %w", path, err)
	}
	args := []string{"-q", "-F", "-t", "ext4", "-m", "0", "-L", label,
		"-E", "lazy_itable_init=1,lazy_journal_init=1,root_owner=0:0"}
	if from != "" {
		args = append(args, "-d", from)
	}
	args = append(args, path)
	cmd := exec.CommandContext(ctx, mkfs, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mkfs.ext4 %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// treeSize adds up the sizes of the regular files under root, rounded up
// to 4 KiB blocks.
func treeSize(root string) (int64, error) {
	var total int64
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		total += 4096 // an inode, a directory entry
		if e.Type().IsRegular() {
			fi, err := e.Info()
			if err != nil {
				return err
			}
			total += roundUp(fi.Size(), 4096)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measuring %s: %w", root, err)
	}
	return total, nil
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }
