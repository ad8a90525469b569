package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/isobench/isobench/internal/result"
)

// TrialKey identifies a planned trial within its run independently of when it
// ran: its cell, whether it is a warm-up, and its index among the cell's
// trials of that kind.
type TrialKey struct {
	Cell   string // result.Cell.Key()
	Warmup bool
	Index  int
}

// KeyOf returns the key of a trial.
func KeyOf(t result.Trial) TrialKey {
	return TrialKey{Cell: t.Cell.Key(), Warmup: t.Warmup, Index: t.Index}
}

// Done is what resuming a run needs to know from the store.
type Done struct {
	// Keys holds the key of every trial of the run that ended in
	// result.StatusOK, warm-ups included. A planned trial whose key is not in
	// Keys still has to run (again).
	Keys map[TrialKey]bool
	// NextSeq is one past the highest sequence number stored for the run, 0
	// for a run without trials: the first Seq a resumed run may use.
	NextSeq int
}

// AddTrial stores one trial of a run, with its samples, attributes and raw
// outputs, in one transaction, and returns once that transaction has
// committed. t.RunID may be empty; if set it must equal runID. Seq must not be
// taken in the run: a retried trial gets a new Seq (see Done.NextSeq).
func (s *Store) AddTrial(ctx context.Context, runID string, t result.Trial) error {
	if err := s.addTrial(ctx, runID, &t); err != nil {
		return fmt.Errorf("run %s: add trial %d: %w", runID, t.Seq, err)
	}
	return nil
}

func (s *Store) addTrial(ctx context.Context, runID string, t *result.Trial) error {
	if err := checkTrial(runID, t); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := requireRun(ctx, tx, runID); err != nil {
		return err
	}
	if err := insertTrial(ctx, tx, runID, t); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// checkTrial rejects trials the store would not give back as they were.
func checkTrial(runID string, t *result.Trial) error {
	switch {
	case t.RunID != "" && t.RunID != runID:
		return fmt.Errorf("trial belongs to run %q", t.RunID)
	case t.Seq < 0:
		return fmt.Errorf("negative sequence number %d", t.Seq)
	case t.Index < 0:
		return fmt.Errorf("negative index %d", t.Index)
	case t.Cell.Runtime == "" || t.Cell.Workload == "":
		return fmt.Errorf("cell %q lacks a runtime or a workload", t.Cell.Key())
	case !validTrialStatus(t.Status):
		return fmt.Errorf("unknown status %q", t.Status)
	}
	for i, smp := range t.Samples {
		if smp.Metric == "" {
			return fmt.Errorf("sample %d has no metric", i)
		}
	}
	return nil
}

func validTrialStatus(s result.Status) bool {
	switch s {
	case result.StatusOK, result.StatusFailed, result.StatusTimeout, result.StatusInterrupted:
		return true
	}
	return false
}

// requireRun returns ErrNotFound unless the run exists.
func requireRun(ctx context.Context, q queryRower, runID string) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE id = ?`, runID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// insertTrial writes a checked trial and everything that hangs off it.
func insertTrial(ctx context.Context, tx *sql.Tx, runID string, t *result.Trial) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM trials WHERE run_id = ? AND seq = ?`, runID, t.Seq).Scan(&n)
	if err != nil {
		return err
	}
	if n != 0 {
		return fmt.Errorf("sequence number %d is already stored", t.Seq)
	}
	params, err := encodeJSON(t.Cell.Params, len(t.Cell.Params))
	if err != nil {
		return fmt.Errorf("encoding params: %w", err)
	}
	attrs, err := encodeJSON(t.Attrs, len(t.Attrs))
	if err != nil {
		return fmt.Errorf("encoding attrs: %w", err)
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO trials
		(run_id, seq, runtime, workload, params, cell, idx, warmup, status, error, attrs, started, ended)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		runID, t.Seq, t.Cell.Runtime, t.Cell.Workload, params, t.Cell.Key(), t.Index, t.Warmup,
		string(t.Status), t.Error, attrs, encodeTime(t.Start), encodeTime(t.End)).Scan(&id)
	if err != nil {
		return err
	}
	for i, smp := range t.Samples {
		_, err := tx.ExecContext(ctx, `INSERT INTO samples (trial_id, pos, metric, unit, value) VALUES (?, ?, ?, ?, ?)`,
			id, i, smp.Metric, smp.Unit, encodeValue(smp.Value))
		if err != nil {
			return fmt.Errorf("sample %s: %w", smp.Metric, err)
		}
	}
	for name, text := range t.Raw {
		_, err := tx.ExecContext(ctx, `INSERT INTO raw_outputs (trial_id, name, content) VALUES (?, ?, ?)`, id, name, text)
		if err != nil {
			return fmt.Errorf("raw output %s: %w", name, err)
		}
	}
	return nil
}

// readTrials reads every trial of a run in sequence order.
func readTrials(ctx context.Context, tx *sql.Tx, runID string) ([]result.Trial, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, seq, runtime, workload, params, idx, warmup, status, error,
			attrs, started, ended
		FROM trials WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("reading trials: %w", err)
	}
	defer rows.Close()
	var trials []result.Trial
	byID := map[int64]int{}
	for rows.Next() {
		var (
			id                            int64
			t                             = result.Trial{RunID: runID}
			status                        string
			params, attrs, started, ended sql.NullString
		)
		if err := rows.Scan(&id, &t.Seq, &t.Cell.Runtime, &t.Cell.Workload, &params, &t.Index, &t.Warmup,
			&status, &t.Error, &attrs, &started, &ended); err != nil {
			return nil, fmt.Errorf("reading trials: %w", err)
		}
		t.Status = result.Status(status)
		err := errors.Join(
			decodeJSON(params, &t.Cell.Params),
			decodeJSON(attrs, &t.Attrs),
			decodeTimeInto(&t.Start, started),
			decodeTimeInto(&t.End, ended),
		)
		if err != nil {
			return nil, fmt.Errorf("reading trial %d: %w", t.Seq, err)
		}
		byID[id] = len(trials)
		trials = append(trials, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading trials: %w", err)
	}
	if err := readSamples(ctx, tx, runID, trials, byID); err != nil {
		return nil, err
	}
	if err := readRaw(ctx, tx, runID, trials, byID); err != nil {
		return nil, err
	}
	return trials, nil
}

func readSamples(ctx context.Context, tx *sql.Tx, runID string, trials []result.Trial, byID map[int64]int) error {
	rows, err := tx.QueryContext(ctx, `SELECT s.trial_id, s.metric, s.unit, s.value
		FROM samples s JOIN trials t ON t.id = s.trial_id
		WHERE t.run_id = ? ORDER BY s.trial_id, s.pos`, runID)
	if err != nil {
		return fmt.Errorf("reading samples: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id    int64
			smp   result.Sample
			value sql.NullFloat64
		)
		if err := rows.Scan(&id, &smp.Metric, &smp.Unit, &value); err != nil {
			return fmt.Errorf("reading samples: %w", err)
		}
		smp.Value = decodeValue(value)
		t := &trials[byID[id]]
		t.Samples = append(t.Samples, smp)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading samples: %w", err)
	}
	return nil
}

func readRaw(ctx context.Context, tx *sql.Tx, runID string, trials []result.Trial, byID map[int64]int) error {
	rows, err := tx.QueryContext(ctx, `SELECT r.trial_id, r.name, r.content
		FROM raw_outputs r JOIN trials t ON t.id = r.trial_id
		WHERE t.run_id = ?`, runID)
	if err != nil {
		return fmt.Errorf("reading raw outputs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id         int64
			name, text string
		)
		if err := rows.Scan(&id, &name, &text); err != nil {
			return fmt.Errorf("reading raw outputs: %w", err)
		}
		t := &trials[byID[id]]
		if t.Raw == nil {
			t.Raw = map[string]string{}
		}
		t.Raw[name] = text
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading raw outputs: %w", err)
	}
	return nil
}

// DoneTrials tells a resumed run which of its planned trials are done and
// where its sequence numbers continue. See Done.
func (s *Store) DoneTrials(ctx context.Context, runID string) (Done, error) {
	d, err := s.doneTrials(ctx, runID)
	if err != nil {
		return Done{}, fmt.Errorf("run %s: done trials: %w", runID, err)
	}
	return d, nil
}

func (s *Store) doneTrials(ctx context.Context, runID string) (Done, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Done{}, err
	}
	defer tx.Rollback()
	if err := requireRun(ctx, tx, runID); err != nil {
		return Done{}, err
	}
	d := Done{Keys: map[TrialKey]bool{}}
	err = tx.QueryRowContext(ctx, `SELECT coalesce(max(seq) + 1, 0) FROM trials WHERE run_id = ?`, runID).Scan(&d.NextSeq)
	if err != nil {
		return Done{}, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT cell, warmup, idx FROM trials WHERE run_id = ? AND status = ?`,
		runID, string(result.StatusOK))
	if err != nil {
		return Done{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var k TrialKey
		if err := rows.Scan(&k.Cell, &k.Warmup, &k.Index); err != nil {
			return Done{}, err
		}
		d.Keys[k] = true
	}
	return d, rows.Err()
}
