package ociimport

import (
	"fmt"
	"syscall"

	humanize "github.com/dustin/go-humanize"
)

// DefaultMinFreeSpace is how much of the cache's file system an import
// leaves free by default.
const DefaultMinFreeSpace = 1 << 30

// spaceCheckEvery is how many bytes an unpacker writes, or entries it
// makes, between two looks at the free space.
const (
	spaceCheckBytes   = 64 << 20
	spaceCheckEntries = 4096
)

// fsFree returns the bytes and inodes an unprivileged user may still use
// on the file system holding dir; inodes is -1 when the file system does
// not count them.
func fsFree(dir string) (bytes int64, inodes int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	bytes = int64(st.Bavail) * int64(st.Bsize)
	inodes = -1
	if st.Files > 0 {
		inodes = int64(st.Ffree)
	}
	return bytes, inodes, nil
}

// SpaceGuard stops an import before it fills the cache's file system: it
// looks at the free space every spaceCheckBytes written and every
// spaceCheckEntries entries made.
type SpaceGuard struct {
	dir      string
	min      int64
	minInode int64
	bytes    int64 // written since the last look
	entries  int
}

// CheckSpace looks at the cache's free space before an import: the
// image's layers as stored (what its manifest or archive declares; they
// take at least as much once unpacked) must fit in it with the margin
// lim.MinFreeSpace to spare. It returns the guard that keeps watching
// while the image is unpacked.
func CheckSpace(dir string, declared int64, lim Limits) (*SpaceGuard, error) {
	lim = lim.WithDefaults()
	free, _, err := fsFree(dir)
	if err != nil {
		return nil, err
	}
	if declared > free-lim.MinFreeSpace {
		return nil, fmt.Errorf("the image's layers take %s (more once unpacked) and the cache's file system (%s) has %s free, of which %s is kept free: make room, or import into another cache directory",
			humanize.IBytes(uint64(declared)), dir, humanize.IBytes(uint64(max(free, 0))), humanize.IBytes(uint64(lim.MinFreeSpace)))
	}
	return &SpaceGuard{dir: dir, min: lim.MinFreeSpace, minInode: 1024}, nil
}

// wrote counts bytes and entries written and looks at the free space
// when enough of them have been.
func (g *SpaceGuard) wrote(bytes int64, entries int) error {
	if g == nil {
		return nil
	}
	g.bytes += bytes
	g.entries += entries
	if g.bytes < spaceCheckBytes && g.entries < spaceCheckEntries {
		return nil
	}
	g.bytes, g.entries = 0, 0
	free, inodes, err := fsFree(g.dir)
	if err != nil {
		return err
	}
	if free < g.min {
		return fmt.Errorf("the cache's file system (%s) is down to %s free, under the %s an import leaves free", g.dir, humanize.IBytes(uint64(max(free, 0))), humanize.IBytes(uint64(g.min)))
	}
	if inodes >= 0 && inodes < g.minInode {
		return fmt.Errorf("the cache's file system (%s) is down to %d free inodes", g.dir, inodes)
	}
	return nil
}
