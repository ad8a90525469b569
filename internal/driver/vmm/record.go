package vmm

import (
	"path/filepath"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// recordVersion is the format version of state records.
const recordVersion = 1

// record says what isobench made for one guest. It is written before
// anything is made, updated when the VMM process starts, and removed after
// everything is gone, so that Collect can remove exactly what a crashed
// isobench left.
type record struct {
	Version int    `json:"version"`
	Runtime string `json:"runtime"` // the driver's name, e.g. qemu-microvm
	ID      string `json:"id"`
	// Dir is the instance directory (disks, sockets, logs), removed whole.
	Dir     string    `json:"dir"`
	Created time.Time `json:"created"`
	// OwnerPID and OwnerStart name the isobench process that made it
	// (start time in clock ticks since boot, against pid reuse).
	OwnerPID   int    `json:"owner_pid"`
	OwnerStart uint64 `json:"owner_start"`
	// VMMPID and VMMStart name the VMM process once it runs.
	VMMPID   int    `json:"vmm_pid,omitempty"`
	VMMStart uint64 `json:"vmm_start,omitempty"`
	// Tap is the guest's tap device, once made; its own record (package
	// sandboxnet) is what removes it.
	Tap string `json:"tap,omitempty"`
}

// newRecord returns the record of a guest of runtime that this process
// makes, with the instance directory dir.
func newRecord(runtime, id, dir string) (record, error) {
	me, err := driverkit.Self()
	if err != nil {
		return record{}, err
	}
	return record{Version: recordVersion, Runtime: runtime, ID: id, Dir: dir,
		Created: time.Now().UTC(), OwnerPID: me.PID, OwnerStart: me.Start}, nil
}

// stateRecords is the directory of the VM drivers' state records, one per
// guest id: every VM runtime writes there, and each reads back its own
// (readRecords).
func stateRecords(stateDir string) driverkit.Records[record] {
	return driverkit.Records[record]{Dir: filepath.Join(stateDir, "vm"), Key: func(r record) string { return r.ID }, KeyName: "id"}
}

// readRecords reads the records of one runtime. Unreadable files are
// reported in the error and skipped.
func readRecords(stateDir, runtime string) ([]record, error) {
	all, err := stateRecords(stateDir).ReadAll()
	var out []record
	for _, r := range all {
		if r.Runtime == runtime {
			out = append(out, r)
		}
	}
	return out, err
}

// ownerAlive reports whether the isobench process that wrote the record
// still runs.
func (r record) ownerAlive() bool {
	return driverkit.Identity{PID: r.OwnerPID, Start: r.OwnerStart}.Alive()
}

// vmmAlive reports whether the VMM process the record names still runs:
// its pid with the recorded start time, never a later process that got
// the same pid.
func (r record) vmmAlive() bool {
	return r.VMMPID > 0 && driverkit.Identity{PID: r.VMMPID, Start: r.VMMStart}.Alive()
}
