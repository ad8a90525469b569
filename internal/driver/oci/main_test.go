package oci

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// TestMain removes the empty parent cgroups the tests' sandboxes were made
// under, as isobench gc does: Close leaves them, since another sandbox may
// be about to use them; rmdir refuses a parent that is in use.
func TestMain(m *testing.M) {
	code := m.Run()
	if table, err := driverkit.ReadMountInfo(); err == nil {
		for _, mnt := range driverkit.Cgroups(table).Mounts {
			_ = syscall.Rmdir(filepath.Join(mnt, cgroupParent))
		}
	}
	os.Exit(code)
}
