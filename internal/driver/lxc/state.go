package lxc

import (
	"path/filepath"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// recordVersion is the format version of state records.
const recordVersion = 1

// record says what isobench made for one LXC sandbox. It is written before
// anything is made and removed after everything is gone, so that Collect
// can remove exactly what a crashed isobench left.
type record struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	// Dir is the instance directory (overlay layers, logs), removed whole.
	Dir string `json:"dir"`
	// Mounts are the host mount points isobench made, all under Dir.
	Mounts []string `json:"mounts,omitempty"`
	// LXCPath is the LXC path the container was defined in, and Lock the
	// lock file LXC makes for it.
	LXCPath string    `json:"lxcpath"`
	Lock    string    `json:"lock,omitempty"`
	Created time.Time `json:"created"`
	// OwnerPID and OwnerStart name the isobench process that made the
	// sandbox (start time in clock ticks since boot, against pid reuse).
	OwnerPID   int    `json:"owner_pid"`
	OwnerStart uint64 `json:"owner_start"`
}

// recordDir is the directory of this package's records under the StateDir.
func recordDir(stateDir string) string { return filepath.Join(stateDir, "lxc") }

// newRecord returns the record of a sandbox made by this process.
func newRecord(id, dir, lxcpath string) (record, error) {
	me, err := driverkit.Self()
	if err != nil {
		return record{}, err
	}
	return record{
		Version: recordVersion, ID: id, Dir: dir, Mounts: []string{filepath.Join(dir, "rootfs")},
		LXCPath: lxcpath, Lock: lockPath(lxcpath, id), Created: time.Now().UTC(),
		OwnerPID: me.PID, OwnerStart: me.Start,
	}, nil
}

// lockPath is the lock file LXC (run as root) makes for a container and
// leaves behind: /run/lxc/lock/<lxcpath>/.<name>.
func lockPath(lxcpath, name string) string {
	return filepath.Join("/run/lxc/lock", lxcpath, "."+name)
}

// stateRecords is this package's directory of state records, one per sandbox id.
func stateRecords(stateDir string) driverkit.Records[record] {
	return driverkit.Records[record]{Dir: recordDir(stateDir), Key: func(r record) string { return r.ID }, KeyName: "id"}
}

// ownerAlive reports whether the process that wrote the record still runs.
func (r record) ownerAlive() bool {
	return driverkit.Identity{PID: r.OwnerPID, Start: r.OwnerStart}.Alive()
}
