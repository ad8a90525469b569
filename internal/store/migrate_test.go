package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/result"
)

// withStep returns the real schema history with one more step.
func withStep(stmts ...string) []migration {
	return append(migrations(), migration{name: "test step", stmts: stmts})
}

// rawExec runs statements on a database file outside the store.
func rawExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// storeAt opens path with steps (nil: the real history), adds a run, and
// closes it.
func storeAt(t *testing.T, path string, steps []migration) {
	t.Helper()
	if steps == nil {
		steps = migrations()
	}
	s, err := open(t.Context(), path, steps)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := &result.Run{ID: "kept", Started: t0()}
	if err := s.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTrial(t.Context(), r.ID, newTrial(0)); err != nil {
		t.Fatal(err)
	}
}

func TestOpen(t *testing.T) {
	latest := len(migrations())
	tests := []struct {
		name  string
		setup func(t *testing.T, path string) // prepares the file, if any
		steps []migration                     // nil: the real history
		// Either the error expected (errors.Is target or nil for any, with
		// message fragments), or the version and the runs expected after.
		wantErr     bool
		is          error
		contains    []string
		wantVersion int
		wantKept    bool // the run stored in setup is still there
	}{
		{name: "new file in new directories", wantVersion: latest},
		{name: "empty file (version 0)", setup: func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, wantVersion: latest},
		{name: "empty SQLite database (version 0)", setup: func(t *testing.T, path string) {
			rawExec(t, path, "PRAGMA user_version = 0")
		}, wantVersion: latest},
		{name: "current version reopened", setup: func(t *testing.T, path string) {
			storeAt(t, path, nil)
		}, wantVersion: latest, wantKept: true},
		{name: "version 1 migrated to 2", setup: func(t *testing.T, path string) {
			storeAt(t, path, nil)
		}, steps: withStep(`CREATE TABLE notes (run_id TEXT REFERENCES runs (id), note TEXT)`, `CREATE INDEX notes_run ON notes (run_id)`),
			wantVersion: latest + 1, wantKept: true},
		{name: "newer version refused", setup: func(t *testing.T, path string) {
			storeAt(t, path, withStep(`CREATE TABLE notes (note TEXT)`))
		}, wantErr: true, is: ErrNewerSchema, contains: []string{"version 2", "up to 1", "newer isobench"}},
		{name: "much newer version refused", setup: func(t *testing.T, path string) {
			storeAt(t, path, nil)
			rawExec(t, path, "PRAGMA user_version = 99")
		}, wantErr: true, is: ErrNewerSchema, contains: []string{"version 99"}},
		{name: "failed migration leaves version 1", setup: func(t *testing.T, path string) {
			storeAt(t, path, nil)
		}, steps: withStep(`CREATE TABLE notes (note TEXT)`, `THIS IS NOT SQL`),
			wantErr: true, contains: []string{"from version 1 to 2", "test step"}},
		{name: "text file", setup: func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(strings.Repeat("not a database\n", 400)), 0o600); err != nil {
				t.Fatal(err)
			}
		}, wantErr: true, is: ErrNotDatabase, contains: []string{"not a SQLite file"}},
		{name: "short garbage", setup: func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, wantErr: true, is: ErrNotDatabase},
		{name: "another application's SQLite file", setup: func(t *testing.T, path string) {
			rawExec(t, path, "CREATE TABLE runs (x)")
		}, wantErr: true, is: ErrNotDatabase, contains: []string{"not isobench's"}},
		{name: "SQLite file with another application_id", setup: func(t *testing.T, path string) {
			rawExec(t, path, "PRAGMA application_id = 1234")
		}, wantErr: true, is: ErrNotDatabase, contains: []string{"0x4d2"}},
		{name: "directory", setup: func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, wantErr: true, contains: []string{"is a directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "a", "b", "isobench.db")
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(t, path)
			} else {
				os.Remove(filepath.Dir(path))
			}
			before, _ := os.ReadFile(path)
			steps := tt.steps
			if steps == nil {
				steps = migrations()
			}
			s, err := open(ctx, path, steps)
			if tt.wantErr {
				if err == nil {
					s.Close()
					t.Fatal("no error")
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("error %q is not %q", err, tt.is)
				}
				for _, c := range append(tt.contains, path) {
					if !strings.Contains(err.Error(), c) {
						t.Errorf("error %q does not contain %q", err, c)
					}
				}
				// A file that is not an isobench database is left as it was.
				if errors.Is(err, ErrNotDatabase) {
					if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
						t.Error("the refused file was changed")
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			checkPragmas(t, s, tt.wantVersion)
			_, err = s.GetRun(ctx, "kept")
			if tt.wantKept && err != nil {
				t.Errorf("run stored before: %v", err)
			}
			// The store works at the new version.
			r := &result.Run{Started: t0()}
			if err := s.CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			if err := s.AddTrial(ctx, r.ID, newTrial(0)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func checkPragmas(t *testing.T, s *Store, wantVersion int) {
	t.Helper()
	ctx := t.Context()
	// Every connection of the pool has the settings, not only the first.
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range conns {
		want := map[string]string{
			"user_version":   strconv.Itoa(wantVersion),
			"application_id": strconv.Itoa(applicationID),
			"journal_mode":   "wal",
			"foreign_keys":   "1",
			"synchronous":    "2", // FULL
			"busy_timeout":   strconv.Itoa(busyTimeoutMS),
		}
		for name, w := range want {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != w {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, name, got, w)
			}
		}
	}
}

func TestOpenOddPaths(t *testing.T) {
	for _, dir := range []string{"with space", "question?mark", "percent%20", "hash#sign", "ünïcode", "semi;colon&amp=1"} {
		t.Run(dir, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), dir, "isobench.db")
			storeAt(t, path, nil)
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.GetRun(t.Context(), "kept"); err != nil {
				t.Error(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("database not at the path given: %v", err)
			}
		})
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "isobench.db")
	storeAt(t, path, nil)
	if _, err := open(ctx, path, withStep(`CREATE TABLE notes (note TEXT)`, `BROKEN`)); err == nil {
		t.Fatal("broken migration: no error")
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkPragmas(t, s, len(migrations()))
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'notes'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("table of the failed step was left behind")
	}
}

func TestOpenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if s, err := Open(ctx, filepath.Join(t.TempDir(), "x.db")); err == nil {
		s.Close()
		t.Error("Open with a canceled context: no error")
	}
}

func TestCorruptFile(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, path string) // damages a closed isobench database
	}{
		{"truncated to part of the header", func(t *testing.T, path string) {
			if err := os.Truncate(path, 40); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated to half", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"schema page overwritten", func(t *testing.T, path string) {
			overwrite(t, path, 100, 3000)
		}},
		{"data pages overwritten", func(t *testing.T, path string) {
			overwrite(t, path, 4096, 1<<20)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "isobench.db")
			storeAt(t, path, nil)
			tt.corrupt(t, path)
			// Either Open or the first read reports the damage; nothing
			// panics and nothing passes for a good run.
			s, err := Open(ctx, path)
			if err != nil {
				t.Logf("Open: %v", err)
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			defer s.Close()
			if _, err := s.GetRun(ctx, "kept"); err == nil {
				t.Error("GetRun on a damaged file: no error")
			} else {
				t.Logf("GetRun: %v", err)
			}
		})
	}
}

// overwrite fills n bytes of the file from off with a pattern that is no
// valid SQLite page content.
func overwrite(t *testing.T, path string, off, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	n = min(n, fi.Size()-off)
	if n <= 0 {
		t.Fatalf("file of %d bytes too short to damage at %d", fi.Size(), off)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, int(n)), off); err != nil {
		t.Fatal(err)
	}
}
