package builtin

import (
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/vmm"
)

// kvmProbeTimeout bounds the tiny guest that tells whether KVM runs guests.
const kvmProbeTimeout = 5 * time.Second

// KVM returns a new decision whether VM guests get KVM (driver.Env.KVM),
// for a driver environment whose run directory is runDir: it is made on
// first use, with a tiny probe guest, and the caller keeps one for the
// whole process, shared by every VM driver and doctor.
func KVM(runDir string) driver.KVMDecider {
	return vmm.NewDecider(runDir, kvmProbeTimeout)
}
