package vmm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
}

func recordDir(stateDir string) string { return filepath.Join(stateDir, "vm") }

func recordPath(stateDir, id string) string {
	return filepath.Join(recordDir(stateDir), id+".json")
}

// writeRecord writes a record atomically; with create it fails if one
// exists for the id.
func writeRecord(stateDir string, r record, create bool) error {
	dir := recordDir(stateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making the state directory: %w", err)
	}
	path := recordPath(stateDir, r.ID)
	if _, err := os.Lstat(path); err == nil && create {
		return fmt.Errorf("state record %s exists: id %s is in use or was left by a crash (run isobench gc)", path, r.ID)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the state record: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the state record: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing the state record: %w", err)
	}
	return nil
}

func removeRecord(stateDir, id string) error {
	err := os.Remove(recordPath(stateDir, id))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the state record of %s: %w", id, err)
	}
	return nil
}

// readRecords reads the records of one runtime. Unreadable files are
// reported in the error and skipped.
func readRecords(stateDir, runtime string) ([]record, error) {
	dir := recordDir(stateDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the state directory: %w", err)
	}
	var out []record
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, fmt.Errorf("state record %s: %w", name, err))
			continue
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			errs = append(errs, fmt.Errorf("state record %s: %w", name, err))
			continue
		}
		if r.ID+".json" != name {
			errs = append(errs, fmt.Errorf("state record %s: names id %q", name, r.ID))
			continue
		}
		if r.Runtime == runtime {
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}

// ownerAlive reports whether the isobench process that wrote the record
// still runs.
func (r record) ownerAlive() bool {
	t, ok := procStartTime(r.OwnerPID)
	return ok && t == r.OwnerStart
}

// procStartTime returns a process's start time (field 22 of
// /proc/PID/stat, clock ticks since boot).
func procStartTime(pid int) (uint64, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, false
	}
	t, err := strconv.ParseUint(f[19], 10, 64)
	return t, err == nil
}

// procIsZombie reports whether the process has exited and waits to be
// reaped.
func procIsZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}
