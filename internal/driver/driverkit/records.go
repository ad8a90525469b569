package driverkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Records is a directory of state records: one JSON file, KEY.json, for
// each thing a driver made on the host. A record is written before the
// thing is made and removed after it is gone, so that a driver's Collect
// can remove exactly what a crashed isobench left.
type Records[T any] struct {
	// Dir is the directory of the records, under driver.Env.StateDir; it
	// is made (0700) on the first write.
	Dir string
	// Key returns the name of a record's file without ".json".
	Key func(T) string
	// KeyName says what the key is, for errors ("id", "directory").
	KeyName string
	// Prefix, when set, limits ReadAll to the files whose name starts with
	// it: the directory may hold other records.
	Prefix string
}

// Path is the file of the record with the key.
func (s Records[T]) Path(key string) string { return filepath.Join(s.Dir, key+".json") }

// Create writes a record atomically; it fails if one exists for its key.
func (s Records[T]) Create(r T) error { return s.write(r, true) }

// Write writes a record atomically, replacing the one of its key.
func (s Records[T]) Write(r T) error { return s.write(r, false) }

func (s Records[T]) write(r T, create bool) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("making state directory: %w", err)
	}
	key := s.Key(r)
	path := s.Path(key)
	if create {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("state record %s exists: %s %s is in use or was left by a crash (run isobench gc)", path, s.KeyName, key)
		}
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

// Remove removes the record with the key; a missing one is not an error.
func (s Records[T]) Remove(key string) error {
	err := os.Remove(s.Path(key))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing state record of %s: %w", key, err)
	}
	return nil
}

// ReadAll reads every record of the directory (none when it does not
// exist). A file that cannot be read or decoded, or whose name is not its
// record's key, is reported in the error and skipped; the others are
// returned all the same.
func (s Records[T]) ReadAll() ([]T, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state directory: %w", err)
	}
	var out []T
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, s.Prefix) || !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.Dir, name))
		if err != nil {
			errs = append(errs, fmt.Errorf("state record %s: %w", name, err))
			continue
		}
		var r T
		if err := json.Unmarshal(b, &r); err != nil {
			errs = append(errs, fmt.Errorf("state record %s: %w", name, err))
			continue
		}
		if key := s.Key(r); key+".json" != name {
			errs = append(errs, fmt.Errorf("state record %s: names %s %q", name, s.KeyName, key))
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}
