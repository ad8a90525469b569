package driverkit

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type testRecord struct {
	Version    int       `json:"version"`
	ID         string    `json:"id"`
	Dir        string    `json:"dir"`
	Created    time.Time `json:"created"`
	OwnerPID   int       `json:"owner_pid"`
	OwnerStart uint64    `json:"owner_start"`
}

func TestRecords(t *testing.T) {
	me, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	byID := func(dir string) Records[testRecord] {
		return Records[testRecord]{Dir: filepath.Join(dir, "kit"), Key: func(r testRecord) string { return r.ID }, KeyName: "id"}
	}
	byDir := func(dir string) Records[testRecord] {
		return Records[testRecord]{Dir: filepath.Join(dir, "kit"), Key: func(r testRecord) string { return filepath.Base(r.Dir) }, KeyName: "directory", Prefix: "d-"}
	}
	tests := []struct {
		name  string
		store func(dir string) Records[testRecord]
		rec   testRecord
		// other is a file of another record kind in the same directory,
		// which ReadAll must skip (with a Prefix) or report (without).
		other string
	}{
		{"keyed by id", byID, testRecord{Version: 1, ID: "isobench-r1", Dir: "/x/isobench-r1"}, ""},
		{"keyed by directory, with a prefix", byDir, testRecord{Version: 1, ID: "d", Dir: "/run/d-1234-ab"}, "isobench-other.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := tc.store(dir)
			r := tc.rec
			r.Created, r.OwnerPID, r.OwnerStart = time.Unix(1, 0).UTC(), me.PID, me.Start
			key := s.Key(r)
			if err := s.Create(r); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(s.Dir); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("record directory: %v, %v; want mode 0700", fi, err)
			}
			if err := s.Create(r); err == nil || !strings.Contains(err.Error(), "exists") || !strings.Contains(err.Error(), key) {
				t.Errorf("second Create: %v, want an error saying %s exists", err, key)
			}
			r.Version = 2
			if err := s.Write(r); err != nil {
				t.Fatalf("Write replacing a record: %v", err)
			}
			if tc.other != "" {
				if err := os.WriteFile(filepath.Join(s.Dir, tc.other), []byte(`{`), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// A file whose name and key disagree, and one that does not
			// decode, are reported, not used.
			prefix := s.Prefix
			if err := os.WriteFile(filepath.Join(s.Dir, prefix+"isobench-mismatch.json"), []byte(`{"id":"isobench-r1","dir":"/run/d-1234-ab"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(s.Dir, prefix+"isobench-junk.json"), []byte(`{`), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := s.ReadAll()
			if err == nil || !strings.Contains(err.Error(), prefix+"isobench-mismatch.json: names "+s.KeyName) || !strings.Contains(err.Error(), prefix+"isobench-junk.json") {
				t.Errorf("ReadAll error %v, want both bad files named", err)
			}
			if tc.other != "" && strings.Contains(err.Error(), tc.other) {
				t.Errorf("ReadAll read %s, which its prefix excludes", tc.other)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], r) {
				t.Fatalf("ReadAll = %+v, want [%+v]", got, r)
			}
			if err := s.Remove(key); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(s.Path(key)); !os.IsNotExist(err) {
				t.Errorf("record still there after Remove: %v", err)
			}
			if err := s.Remove(key); err != nil {
				t.Errorf("removing a missing record: %v", err)
			}
			if got, err := tc.store(filepath.Join(dir, "none")).ReadAll(); len(got) != 0 || err != nil {
				t.Errorf("records in a missing dir: %v, %v", got, err)
			}
		})
	}
}
