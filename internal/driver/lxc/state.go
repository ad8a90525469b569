package lxc

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
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

func recordPath(stateDir, id string) string {
	return filepath.Join(recordDir(stateDir), id+".json")
}

// newRecord returns the record of a sandbox made by this process.
func newRecord(id, dir, lxcpath string) (record, error) {
	start, ok := procStartTime(os.Getpid())
	if !ok {
		return record{}, errors.New("cannot read this process's start time from /proc")
	}
	return record{
		Version: recordVersion, ID: id, Dir: dir, Mounts: []string{filepath.Join(dir, "rootfs")},
		LXCPath: lxcpath, Lock: lockPath(lxcpath, id), Created: time.Now().UTC(),
		OwnerPID: os.Getpid(), OwnerStart: start,
	}, nil
}

// lockPath is the lock file LXC (run as root) makes for a container and
// leaves behind: /run/lxc/lock/<lxcpath>/.<name>.
func lockPath(lxcpath, name string) string {
	return filepath.Join("/run/lxc/lock", lxcpath, "."+name)
}

// writeRecord writes a record atomically; it fails if one exists for the id.
func writeRecord(stateDir string, r record) error {
	dir := recordDir(stateDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making state directory: %w", err)
	}
	path := recordPath(stateDir, r.ID)
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("state record %s exists: id %s is in use or was left by a crash (run isobench gc)", path, r.ID)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state record: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing state record: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing state record: %w", err)
	}
	return nil
}

// removeRecord removes a record; a missing one is not an error.
func removeRecord(stateDir, id string) error {
	err := os.Remove(recordPath(stateDir, id))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing state record of %s: %w", id, err)
	}
	return nil
}

// readRecords reads every record in the state directory. Unreadable files
// are reported in the error and skipped.
func readRecords(stateDir string) ([]record, error) {
	dir := recordDir(stateDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state directory: %w", err)
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
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// ownerAlive reports whether the process that wrote the record still runs.
func (r record) ownerAlive() bool {
	t, ok := procStartTime(r.OwnerPID)
	return ok && t == r.OwnerStart
}
