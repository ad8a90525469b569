package oci

import (
	"path/filepath"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// recordVersion is the format version of state records.
const recordVersion = 1

// record says what isobench made for one sandbox. It is written before
// anything is made and removed after everything is gone, so that Collect can
// remove exactly what a crashed isobench left.
type record struct {
	Version int    `json:"version"`
	Runtime string `json:"runtime"` // flavor name: runc, crun, runsc, youki
	Binary  string `json:"binary"`
	// Globals are the runtime's global flags for this sandbox.
	Globals []string `json:"globals,omitempty"`
	ID      string   `json:"id"`
	// Dir is the instance directory (holding the bundle), removed whole.
	Dir    string `json:"dir"`
	Bundle string `json:"bundle"`
	// Mounts are the host mount points isobench makes for the sandbox.
	Mounts  []string  `json:"mounts,omitempty"`
	Created time.Time `json:"created"`
	// OwnerPID and OwnerStart name the isobench process that made the
	// sandbox (start time in clock ticks since boot, against pid reuse).
	OwnerPID   int    `json:"owner_pid"`
	OwnerStart uint64 `json:"owner_start"`
}

// recordDir is the directory of this package's records under the StateDir.
func recordDir(stateDir string) string { return filepath.Join(stateDir, "oci") }

// stateRecords is this package's directory of state records, one per sandbox id.
func stateRecords(stateDir string) driverkit.Records[record] {
	return driverkit.Records[record]{Dir: recordDir(stateDir), Key: func(r record) string { return r.ID }, KeyName: "id"}
}

// ownerAlive reports whether the process that wrote the record still runs.
func (r record) ownerAlive() bool {
	return driverkit.Identity{PID: r.OwnerPID, Start: r.OwnerStart}.Alive()
}
