package store

import (
	"context"
	"database/sql"
	"fmt"
)

// applicationID marks a SQLite file as an isobench database ("isob").
const applicationID = 0x69736f62

// migration is one step of the schema's history. Step i of the list takes a
// database from version i to version i+1.
type migration struct {
	name  string
	stmts []string
}

// migrations returns the schema's history, oldest first. Released steps are
// never edited; a change to the schema is a new step at the end.
func migrations() []migration {
	return []migration{
		{name: "initial schema", stmts: []string{
			// Times are UTC text in a fixed-width layout (see timeLayout), so
			// they sort as text. JSON columns are NULL when empty.
			`CREATE TABLE runs (
				id          TEXT PRIMARY KEY,
				started     TEXT NOT NULL,
				ended       TEXT,
				status      TEXT NOT NULL,
				command     TEXT,
				version     TEXT NOT NULL,
				seed        INTEGER NOT NULL,
				trial_order TEXT NOT NULL,
				profile     TEXT NOT NULL,
				baseline    TEXT NOT NULL,
				suite       TEXT NOT NULL,
				env         TEXT,
				runtimes    TEXT,
				skipped     TEXT
			) STRICT`,
			`CREATE INDEX runs_started ON runs (started, id)`,
			`CREATE TABLE trials (
				id       INTEGER PRIMARY KEY,
				run_id   TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
				seq      INTEGER NOT NULL,
				runtime  TEXT NOT NULL,
				workload TEXT NOT NULL,
				params   TEXT,
				cell     TEXT NOT NULL,
				idx      INTEGER NOT NULL,
				warmup   INTEGER NOT NULL,
				status   TEXT NOT NULL,
				error    TEXT NOT NULL,
				attrs    TEXT,
				started  TEXT,
				ended    TEXT,
				UNIQUE (run_id, seq)
			) STRICT`,
			// Comparisons across runs select trials by cell.
			`CREATE INDEX trials_cell ON trials (cell, run_id)`,
			`CREATE TABLE samples (
				trial_id INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
				pos      INTEGER NOT NULL,
				metric   TEXT NOT NULL,
				unit     TEXT NOT NULL,
				value    REAL,
				PRIMARY KEY (trial_id, pos)
			) STRICT, WITHOUT ROWID`,
			`CREATE TABLE raw_outputs (
				trial_id INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
				name     TEXT NOT NULL,
				content  TEXT NOT NULL,
				PRIMARY KEY (trial_id, name)
			) STRICT`,
			fmt.Sprintf(`PRAGMA application_id = %d`, applicationID),
		}},
	}
}

// queryRower is what *sql.DB and *sql.Tx have in common for single-row
// queries.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// pragmaInt reads an integer PRAGMA.
func pragmaInt(ctx context.Context, q queryRower, name string) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading %s: %w", name, err)
	}
	return v, nil
}

// migrate brings the database to the last version of steps, applying every
// missing step in one transaction, or leaves it untouched.
func migrate(ctx context.Context, db *sql.DB, steps []migration) error {
	// A first look without the write lock, so that an up-to-date file is
	// opened without writing to it.
	if ok, err := checkVersion(ctx, db, steps); err != nil || ok {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrating schema: %w", err)
	}
	defer tx.Rollback()
	// Another process may have migrated meanwhile: look again under the lock.
	if ok, err := checkVersion(ctx, tx, steps); err != nil || ok {
		return err
	}
	from, err := pragmaInt(ctx, tx, "user_version")
	if err != nil {
		return err
	}
	for v := from; v < len(steps); v++ {
		for _, stmt := range steps[v].stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrating schema from version %d to %d (%s): %w", v, v+1, steps[v].name, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(steps))); err != nil {
		return fmt.Errorf("migrating schema: setting version %d: %w", len(steps), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrating schema from version %d to %d: commit: %w", from, len(steps), err)
	}
	return nil
}

// checkVersion reports whether the database is an isobench database at the
// latest version of steps, and returns an error when it is not an isobench
// database or is newer than steps.
func checkVersion(ctx context.Context, q queryRower, steps []migration) (bool, error) {
	// One statement, so one snapshot: read piecemeal, the three values could
	// straddle another process's migration. Counting the schema objects also
	// makes SQLite parse the schema, which finds a damaged first page now
	// rather than at the first query.
	var version, app, objects int
	err := q.QueryRowContext(ctx, `SELECT
			(SELECT user_version FROM pragma_user_version),
			(SELECT application_id FROM pragma_application_id),
			(SELECT count(*) FROM sqlite_schema)`).Scan(&version, &app, &objects)
	if err != nil {
		return false, fmt.Errorf("reading schema version: %w", err)
	}
	switch {
	case app != 0 && app != applicationID:
		return false, fmt.Errorf("%w: SQLite file of another application (application_id %#x)", ErrNotDatabase, app)
	case app == 0 && version != 0:
		return false, fmt.Errorf("%w: SQLite file of another application (user_version %d, no isobench application_id)", ErrNotDatabase, version)
	case app == 0 && objects != 0:
		return false, fmt.Errorf("%w: SQLite file with %d schema objects that are not isobench's", ErrNotDatabase, objects)
	}
	if version > len(steps) {
		return false, fmt.Errorf("%w: file has schema version %d, this build knows versions up to %d; use a newer isobench", ErrNewerSchema, version, len(steps))
	}
	return version == len(steps), nil
}
