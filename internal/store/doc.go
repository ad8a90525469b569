// Package store keeps isobench runs and their trials in an embedded SQLite
// database, one file per user (see DefaultPath), through database/sql and the
// pure-Go driver modernc.org/sqlite.
//
// # What it owns
//
// The store owns the database file and its schema: the runs table (one row per
// isobench run: what was asked, the runtimes it used, what it skipped, its
// status), the trials table (one row per executed trial, failed ones
// included, with its error), and the samples and raw-output tables that hang
// off each trial. It persists exactly the values of package result and gives
// them back unchanged, with three normalisations: times come back in UTC
// without a monotonic reading (the same instant, to the nanosecond); empty
// slices and maps come back as nil; a sample whose value is NaN is kept as
// NaN. Nothing else in isobench opens the file.
//
// # Durability
//
// A run is expensive, so its results must survive the process that makes
// them. AddTrial writes each trial with its samples, attributes and raw output
// in one transaction and returns only after that transaction has committed: a
// trial AddTrial returned nil for is in the database even if the process is
// killed with SIGKILL the next instant, and a trial whose transaction was cut
// short leaves nothing behind, not half a trial.
//
// The database runs in WAL mode with synchronous=FULL. A commit in WAL mode
// appends the transaction to the write-ahead log; with FULL the log is also
// fsynced before the commit returns. Surviving a process kill only needs the
// append (the data is then in the kernel's page cache, which outlives the
// process), which synchronous=NORMAL would already give; FULL adds the fsync so
// that committed trials also survive a kernel panic or a power cut, which are
// not rare on a host that is busy testing hypervisors and sandboxes. The cost
// is one fsync per trial, small next to a trial that takes seconds (see
// BenchmarkAddTrial).
//
// Callers that record an interruption should store it with a context that the
// interruption does not cancel (context.WithoutCancel): a canceled context
// aborts the statement and nothing is written.
//
// # Concurrency
//
// Several processes may open the same file: readers (isobench runs, report)
// never block a running isobench and never see a partial trial; writers take
// the write lock at the start of each transaction and wait up to a busy
// timeout for one another. A Store is safe for concurrent use by multiple
// goroutines.
//
// # Schema versions
//
// The schema version is SQLite's user_version; the file is marked as an
// isobench database by its application_id. Open applies, in order and in a
// single transaction, every migration step the file has not had yet, so a
// file is always at one known version or untouched. Open refuses, with an
// error matching ErrNewerSchema, a file written by a newer isobench whose
// schema this build does not know, and with ErrNotDatabase a file that is not
// an isobench database (not SQLite, or SQLite belonging to something else).
// Every change to the schema is a new step appended to the list; steps are
// never edited once released.
//
// A file that Open refuses is left as it was: the checks run before the file
// is switched to WAL mode or migrated, and a file that exists, is not empty
// and lacks the SQLite header is never handed to SQLite (which would take a
// short one for an empty database and overwrite it). A damaged database gives
// an error saying so, from Open when the damage is in the schema, otherwise
// from the first read of the damaged part.
//
// # Run identifiers
//
// CreateRun names a run from its start time in UTC and four random hex
// digits, as in "20261128-143012-3f9a", so that identifiers sort by time and
// can be typed. ResolveID turns any unique prefix of an identifier, or the
// word "latest", into the full identifier.
//
// # Resuming a run
//
// A trial is identified within its run, independently of when it ran, by its
// TrialKey: the cell key, whether it is a warm-up, and its index. DoneTrials
// returns the keys of the trials that ended OK and the next free sequence
// number; a runner resuming a run executes the planned trials whose key is not
// done and numbers them from that sequence number. Failed trials stay stored
// with their error alongside the retry.
package store
