package runner

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"github.com/isobench/isobench/internal/workload"
)

// DropCachesPath is the kernel's knob for dropping clean caches.
const DropCachesPath = "/proc/sys/vm/drop_caches"

// HostOps is the host side of workload.HostOps: what isobench itself does
// on the host between the steps of a trial. It needs root.
type HostOps struct{}

var _ workload.HostOps = HostOps{}

// DropCaches implements workload.HostOps: it writes dirty pages back (sync)
// and then drops the clean page cache, dentries and inodes ("3"), so that
// the next read comes from the device. It affects the whole host.
func (HostOps) DropCaches(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	syscall.Sync()
	f, err := os.OpenFile(DropCachesPath, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("opening the kernel's cache knob (root is needed): %w", err)
	}
	_, werr := f.WriteString("3")
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("writing %s: %w", DropCachesPath, werr)
	}
	if cerr != nil {
		return fmt.Errorf("writing %s: %w", DropCachesPath, cerr)
	}
	return nil
}
