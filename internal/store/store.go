package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/isobench/isobench/internal/inputfile"
)

// Errors callers can test for with errors.Is. The messages that wrap them name
// the file, run or prefix concerned.
var (
	// ErrNotFound: no run has the given identifier or prefix.
	ErrNotFound = errors.New("no such run")
	// ErrAmbiguous: a prefix matches more than one run.
	ErrAmbiguous = errors.New("ambiguous run prefix")
	// ErrNewerSchema: the file was written by a newer isobench.
	ErrNewerSchema = errors.New("database schema is newer than this isobench")
	// ErrNotDatabase: the file is not an isobench database.
	ErrNotDatabase = errors.New("not an isobench database")
)

// busyTimeoutMS is how long a writer waits for another connection's write
// lock before giving up.
const busyTimeoutMS = 10000

// Store is an open isobench database. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
}

// DefaultPath returns where isobench keeps its database for the current user,
// following the XDG base directory specification:
// $XDG_DATA_HOME/isobench/isobench.db, or $HOME/.local/share/isobench/isobench.db
// when XDG_DATA_HOME is unset or not absolute. getenv is os.Getenv in
// production; the package never reads the environment itself.
func DefaultPath(getenv func(string) string) (string, error) {
	if getenv == nil {
		return "", errors.New("default database path: no environment given")
	}
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "isobench", "isobench.db"), nil
	}
	home := getenv("HOME")
	if home == "" || !filepath.IsAbs(home) {
		return "", errors.New("default database path: neither XDG_DATA_HOME nor HOME is set to an absolute path")
	}
	return filepath.Join(home, ".local", "share", "isobench", "isobench.db"), nil
}

// Open opens the database at path, creating it and its parent directories
// when missing, and brings its schema up to date. See the package
// documentation for the settings it uses and what it refuses to open.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, migrations())
}

func open(ctx context.Context, path string, steps []migration) (*Store, error) {
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := checkHeader(abs); err != nil {
		return nil, fmt.Errorf("open database %s: %w", abs, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("open database %s: creating its directory: %w", abs, err)
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", abs, err)
	}
	s := &Store{db: db, path: abs}
	if err := s.init(ctx, steps); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", abs, explain(err))
	}
	return s, nil
}

// sqliteMagic starts every SQLite 3 database file.
const sqliteMagic = "SQLite format 3\x00"

// checkHeader refuses a file that exists, is not empty and does not start
// like a SQLite database. SQLite itself would take a file shorter than its
// header for an empty database and overwrite it.
//
// Anything but a regular file (a FIFO, which opening would block on, a
// device, a socket, a directory) is refused before it is opened, and so
// are the journal files SQLite would open beside it.
func checkHeader(path string) error {
	for _, side := range []string{"-wal", "-shm", "-journal"} {
		if err := inputfile.CheckIfExists(path + side); err != nil {
			return notRegular(path, err)
		}
	}
	f, err := inputfile.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return notRegular(path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return nil
	}
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	if string(head) != sqliteMagic {
		return fmt.Errorf("%w: not a SQLite file", ErrNotDatabase)
	}
	return nil
}

// notRegular words a refusal of inputfile for the database at path: "is a
// directory", "is a FIFO (named pipe), not a regular file", or for a file
// beside it "PATH-wal is a socket, not a regular file".
func notRegular(path string, err error) error {
	var nr *inputfile.NotRegularError
	if !errors.As(err, &nr) {
		return err
	}
	what := "is " + inputfile.Kind(nr.Mode) + ", not a regular file"
	if nr.Mode.IsDir() {
		what = "is a directory"
	}
	if nr.Path != path {
		return fmt.Errorf("%s %s", nr.Path, what)
	}
	return errors.New(what)
}

// dsn builds a SQLite URI for an absolute path. Every connection of the pool
// gets the same per-connection settings; non-read-only transactions begin
// IMMEDIATE so that a writer takes the lock up front (waiting under the busy
// timeout) instead of failing when it upgrades a read lock. WAL mode is not
// among them: it is a property of the file, set by init once the file is
// known to be an isobench database, so that a file that is not one is left
// untouched.
func dsn(abs string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

func (s *Store) init(ctx context.Context, steps []migration) error {
	if err := s.db.PingContext(ctx); err != nil {
		return err
	}
	// Refuse what is not ours before changing anything in the file.
	if _, err := checkVersion(ctx, s.db, steps); err != nil {
		return err
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fmt.Errorf("enabling WAL mode: %w", err)
	}
	if mode != "wal" {
		return fmt.Errorf("could not enable WAL mode (journal mode is %q); is the file on a local file system?", mode)
	}
	return migrate(ctx, s.db, steps)
}

// explain makes SQLite's terse errors about a bad file say what they mean.
func explain(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%w: not a SQLite file (%v)", ErrNotDatabase, err)
	case sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("the database file is damaged: %w", err)
	}
	return err
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close database %s: %w", s.path, err)
	}
	return nil
}
