package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/result"
)

// Latest is the word ResolveID takes for the most recently started run.
const Latest = "latest"

// maxIDLen bounds run identifiers chosen by callers.
const maxIDLen = 64

// RunInfo summarises a stored run for listings.
type RunInfo struct {
	ID      string
	Started time.Time
	Ended   time.Time // zero while running, or if the process was killed
	Status  result.RunStatus
	// Owner is the run's result.EnvOwner ("PID:START"), "" when it has
	// none (runs stored before it was recorded).
	Owner   string
	Profile string
	// Runtimes and Workloads are sorted names: the runtimes the run recorded
	// or ran trials on, and the workloads of its trials.
	Runtimes  []string
	Workloads []string
	// Trials counts every stored trial, warm-ups included; OK those that
	// ended in result.StatusOK and Failed all the others.
	Trials, OK, Failed int
}

// CreateRun stores a new run, with any trials r already holds, in one
// transaction. When r.ID is empty it names the run from r.Started (see the
// package documentation) and sets r.ID; an empty r.Status is set to
// result.RunRunning. r.Started must be set. A caller-chosen ID must be 1 to 64
// letters, digits, '.', '_' or '-', start with a letter or digit, not be
// "latest", and not be taken.
func (s *Store) CreateRun(ctx context.Context, r *result.Run) error {
	if r == nil {
		return errors.New("create run: nil run")
	}
	if r.Started.IsZero() {
		return fmt.Errorf("create run %s: no start time", r.ID)
	}
	status := r.Status
	if status == "" {
		status = result.RunRunning
	}
	if !validRunStatus(status) {
		return fmt.Errorf("create run %s: unknown status %q", r.ID, status)
	}
	if r.ID != "" {
		if err := validateID(r.ID); err != nil {
			return fmt.Errorf("create run: %w", err)
		}
	}
	for i := range r.Trials {
		if err := checkTrial(r.ID, &r.Trials[i]); err != nil {
			return fmt.Errorf("create run %s: trial %d: %w", r.ID, r.Trials[i].Seq, err)
		}
	}
	// A generated ID collides only with a run started in the same second
	// that drew the same 16 random bits; a few draws make that moot.
	const attempts = 8
	for range attempts {
		id := r.ID
		if id == "" {
			id = newID(r.Started)
		}
		taken, err := s.createRun(ctx, id, status, r)
		if err != nil {
			return fmt.Errorf("create run %s: %w", id, err)
		}
		if taken && r.ID == "" {
			continue
		}
		if taken {
			return fmt.Errorf("create run %s: a run with this identifier already exists", id)
		}
		r.ID, r.Status = id, status
		return nil
	}
	return fmt.Errorf("create run: no free identifier for start time %s after %d attempts", r.Started.UTC().Format(time.RFC3339), attempts)
}

// createRun stores r as id in one transaction, or reports that id is taken.
func (s *Store) createRun(ctx context.Context, id string, status result.RunStatus, r *result.Run) (taken bool, err error) {
	command, err := encodeJSON(r.Command, len(r.Command))
	if err != nil {
		return false, fmt.Errorf("encoding command: %w", err)
	}
	env, err := encodeJSON(r.Env, len(r.Env))
	if err != nil {
		return false, fmt.Errorf("encoding environment: %w", err)
	}
	runtimes, err := encodeJSON(r.Runtimes, len(r.Runtimes))
	if err != nil {
		return false, fmt.Errorf("encoding runtimes: %w", err)
	}
	skipped, err := encodeJSON(r.Skipped, len(r.Skipped))
	if err != nil {
		return false, fmt.Errorf("encoding skipped: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE id = ?`, id).Scan(&n); err != nil {
		return false, err
	}
	if n != 0 {
		return true, nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO runs
		(id, started, ended, status, command, version, seed, trial_order, profile, baseline, suite, env, runtimes, skipped)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, encodeTime(r.Started), encodeTime(r.Ended), string(status), command, r.Version, r.Seed,
		r.Order, r.Profile, r.Baseline, r.Suite, env, runtimes, skipped)
	if err != nil {
		return false, err
	}
	for i := range r.Trials {
		if err := insertTrial(ctx, tx, id, &r.Trials[i]); err != nil {
			return false, fmt.Errorf("trial %d: %w", r.Trials[i].Seq, err)
		}
	}
	return false, tx.Commit()
}

// newID names a run from its start time, in UTC, and 16 random bits.
func newID(started time.Time) string {
	var b [2]byte
	rand.Read(b[:]) // never fails; see crypto/rand.Read
	return started.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

func validateID(id string) error {
	if len(id) > maxIDLen {
		return fmt.Errorf("run identifier %.20q...: longer than %d bytes", id, maxIDLen)
	}
	if id == Latest {
		return fmt.Errorf("run identifier %q is reserved", id)
	}
	for i, c := range id {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '_' && c != '.') {
			return fmt.Errorf("run identifier %q: want letters, digits, '.', '_' or '-', starting with a letter or digit", id)
		}
	}
	return nil
}

func validRunStatus(s result.RunStatus) bool {
	switch s {
	case result.RunRunning, result.RunFinished, result.RunInterrupted:
		return true
	}
	return false
}

// UpdateRun records what changes as a run proceeds: its end time, status,
// skipped runtimes and cells, runtimes and environment (a resumed run has
// another owner), from r. Its other fields are fixed when the run is
// created and are not read; nor are its trials (see AddTrial).
func (s *Store) UpdateRun(ctx context.Context, r *result.Run) error {
	if r == nil {
		return errors.New("update run: nil run")
	}
	if !validRunStatus(r.Status) {
		return fmt.Errorf("update run %s: unknown status %q", r.ID, r.Status)
	}
	runtimes, err := encodeJSON(r.Runtimes, len(r.Runtimes))
	if err != nil {
		return fmt.Errorf("update run %s: encoding runtimes: %w", r.ID, err)
	}
	skipped, err := encodeJSON(r.Skipped, len(r.Skipped))
	if err != nil {
		return fmt.Errorf("update run %s: encoding skipped: %w", r.ID, err)
	}
	env, err := encodeJSON(r.Env, len(r.Env))
	if err != nil {
		return fmt.Errorf("update run %s: encoding environment: %w", r.ID, err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET ended = ?, status = ?, runtimes = ?, skipped = ?, env = ? WHERE id = ?`,
		encodeTime(r.Ended), string(r.Status), runtimes, skipped, env, r.ID)
	if err != nil {
		return fmt.Errorf("update run %s: %w", r.ID, err)
	}
	return mustAffect(res, r.ID, "update run")
}

// mustAffect turns "no row changed" into ErrNotFound.
func mustAffect(res sql.Result, id, doing string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s %s: %w", doing, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %q: %w", doing, id, ErrNotFound)
	}
	return nil
}

// DeleteRun removes a run with all its trials, samples and raw outputs.
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete run %s: %w", id, err)
	}
	return mustAffect(res, id, "delete run")
}

// ListRuns summarises every stored run, oldest first.
func (s *Store) ListRuns(ctx context.Context) ([]RunInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.id, r.started, r.ended, r.status, r.profile, r.runtimes,
			coalesce(json_extract(r.env, '$."`+result.EnvOwner+`"'), ''),
			count(t.id), coalesce(sum(t.status = 'ok'), 0),
			json_group_array(DISTINCT t.runtime), json_group_array(DISTINCT t.workload)
		FROM runs r LEFT JOIN trials t ON t.run_id = r.id
		GROUP BY r.id
		ORDER BY r.started, r.id`)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var infos []RunInfo
	for rows.Next() {
		var (
			info                            RunInfo
			started, ended, runtimes        sql.NullString
			trialRuntimes, trialWorkloads   sql.NullString
			status                          string
			recorded                        []result.Runtime
			fromTrials, workloadsFromTrials []*string
		)
		if err := rows.Scan(&info.ID, &started, &ended, &status, &info.Profile, &runtimes, &info.Owner,
			&info.Trials, &info.OK, &trialRuntimes, &trialWorkloads); err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		info.Status = result.RunStatus(status)
		info.Failed = info.Trials - info.OK
		err := errors.Join(
			decodeTimeInto(&info.Started, started),
			decodeTimeInto(&info.Ended, ended),
			decodeJSON(runtimes, &recorded),
			decodeJSON(trialRuntimes, &fromTrials),
			decodeJSON(trialWorkloads, &workloadsFromTrials),
		)
		if err != nil {
			return nil, fmt.Errorf("list runs: run %s: %w", info.ID, err)
		}
		for _, rt := range recorded {
			info.Runtimes = append(info.Runtimes, rt.Name)
		}
		info.Runtimes = sortedSet(append(info.Runtimes, strings0(fromTrials)...))
		info.Workloads = sortedSet(strings0(workloadsFromTrials))
		infos = append(infos, info)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return infos, nil
}

func decodeTimeInto(dst *time.Time, s sql.NullString) error {
	t, err := decodeTime(s)
	*dst = t
	return err
}

// strings0 drops the nulls that json_group_array gives for a run without
// trials.
func strings0(ps []*string) []string {
	var out []string
	for _, p := range ps {
		if p != nil {
			out = append(out, *p)
		}
	}
	return out
}

func sortedSet(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// ResolveID returns the identifier of the one run whose identifier is prefix
// or starts with it, or of the most recently started run for "latest". An
// unknown prefix gives an error matching ErrNotFound; one matching several
// runs an error matching ErrAmbiguous that names some of them.
func (s *Store) ResolveID(ctx context.Context, prefix string) (string, error) {
	if prefix == "" {
		return "", errors.New("resolve run: empty identifier")
	}
	var id string
	if prefix == Latest {
		err := s.db.QueryRowContext(ctx, `SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT 1`).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("resolve run %q: %w: the database holds no runs", prefix, ErrNotFound)
		}
		if err != nil {
			return "", fmt.Errorf("resolve run %q: %w", prefix, err)
		}
		return id, nil
	}
	err := s.db.QueryRowContext(ctx, `SELECT id FROM runs WHERE id = ?`, prefix).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("resolve run %q: %w", prefix, err)
	}
	const shown = 5
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT ?2`,
		prefix, shown+1)
	if err != nil {
		return "", fmt.Errorf("resolve run %q: %w", prefix, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return "", fmt.Errorf("resolve run %q: %w", prefix, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("resolve run %q: %w", prefix, err)
	}
	switch {
	case len(ids) == 0:
		return "", fmt.Errorf("resolve run %q: %w", prefix, ErrNotFound)
	case len(ids) == 1:
		return ids[0], nil
	case len(ids) > shown:
		return "", fmt.Errorf("resolve run %q: %w: matches %s and more", prefix, ErrAmbiguous, strings.Join(ids[:shown], ", "))
	default:
		return "", fmt.Errorf("resolve run %q: %w: matches %s", prefix, ErrAmbiguous, strings.Join(ids, ", "))
	}
}

// GetRun returns the run with exactly this identifier, with all its trials in
// sequence order, each with its samples, attributes and raw outputs.
func (s *Store) GetRun(ctx context.Context, id string) (*result.Run, error) {
	r, err := s.getRun(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get run %q: %w", id, err)
	}
	return r, nil
}

func (s *Store) getRun(ctx context.Context, id string) (*result.Run, error) {
	// One read transaction, so that the run is a consistent snapshot even
	// while a writer adds trials.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	var (
		r                               = &result.Run{ID: id}
		started, ended                  sql.NullString
		status                          string
		command, env, runtimes, skipped sql.NullString
	)
	err = tx.QueryRowContext(ctx, `SELECT started, ended, status, command, version, seed, trial_order,
			profile, baseline, suite, env, runtimes, skipped
		FROM runs WHERE id = ?`, id).Scan(&started, &ended, &status, &command, &r.Version, &r.Seed,
		&r.Order, &r.Profile, &r.Baseline, &r.Suite, &env, &runtimes, &skipped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	r.Status = result.RunStatus(status)
	err = errors.Join(
		decodeTimeInto(&r.Started, started),
		decodeTimeInto(&r.Ended, ended),
		decodeJSON(command, &r.Command),
		decodeJSON(env, &r.Env),
		decodeJSON(runtimes, &r.Runtimes),
		decodeJSON(skipped, &r.Skipped),
	)
	if err != nil {
		return nil, err
	}
	trials, err := readTrials(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	r.Trials = trials
	return r, nil
}
