package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// States of a remediation attempt.
const (
	AttemptQueued  = "queued"
	AttemptRunning = "running"
	AttemptDone    = "done"
)

// RemediationAttempt is one automatic action on a target.
type RemediationAttempt struct {
	ID          int64  `db:"id"`
	Target      string `db:"target"`
	Action      string `db:"action"`      // restart, cache_flush, cleanup
	Fingerprint string `db:"fingerprint"` // the alert that caused it
	Attempt     int    `db:"attempt"`     // 1-based within the budget round
	Budget      int    `db:"budget"`
	State       string `db:"state"`   // queued, running, done
	Outcome     string `db:"outcome"` // when done: cleared, not_cleared, failed, busy, lost
	Text        string `db:"text"`    // what the thread was told of the outcome
	JobID       *int64 `db:"job_id"`
	QueuedAt    Time   `db:"queued_at"`
	StartedAt   Time   `db:"started_at"`
	FinishedAt  Time   `db:"finished_at"`
}

// RemediationRound is the current budget round of a target and action.
type RemediationRound struct {
	Target       string `db:"target"`
	Action       string `db:"action"`
	StartedAt    Time   `db:"started_at"`
	LastFiringAt Time   `db:"last_firing_at"`
	SpentAt      Time   `db:"spent_at"`
	SkippedAt    Time   `db:"skipped_at"`
}

const attemptCols = `id, target, action, fingerprint, attempt, budget, state, outcome, text, job_id, queued_at, started_at, finished_at`

func remGet(ctx context.Context, q DBTX, dest any, query string, args ...any) error {
	err := sqlx.GetContext(ctx, q, dest, q.Rebind(query), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// LockRemediationRound returns the round of target and action inside tx,
// locking its row on PostgreSQL so that concurrent decisions for one
// target wait for each other (SQLite's immediate transactions already
// do). found is false when the target has no round yet.
func LockRemediationRound(ctx context.Context, tx *sqlx.Tx, target, action string) (r RemediationRound, found bool, err error) {
	q := `SELECT target, action, started_at, last_firing_at, spent_at, skipped_at FROM remediation_rounds WHERE target = ? AND action = ?`
	if tx.DriverName() == "pgx" {
		// Make the row exist first so there is something to lock.
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO remediation_rounds (target, action, started_at, last_firing_at) VALUES (?, ?, 0, 0) ON CONFLICT (target, action) DO NOTHING`), target, action); err != nil {
			return r, false, fmt.Errorf("lock remediation round %s/%s: %w", target, action, err)
		}
		q += ` FOR UPDATE`
	}
	err = remGet(ctx, tx, &r, q, target, action)
	if errors.Is(err, ErrNotFound) {
		return RemediationRound{Target: target, Action: action}, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("lock remediation round %s/%s: %w", target, action, err)
	}
	// A row made only to be locked has no round yet.
	return r, r.LastFiringAt.UnixMilli() > 0, nil
}

// RemediationRoundOf reads the round of target and action (found false when none).
func RemediationRoundOf(ctx context.Context, q DBTX, target, action string) (RemediationRound, bool, error) {
	var r RemediationRound
	err := remGet(ctx, q, &r, `SELECT target, action, started_at, last_firing_at, spent_at, skipped_at FROM remediation_rounds WHERE target = ? AND action = ? AND last_firing_at > 0`, target, action)
	if errors.Is(err, ErrNotFound) {
		return RemediationRound{Target: target, Action: action}, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("remediation round %s/%s: %w", target, action, err)
	}
	return r, true, nil
}

// PutRemediationRound writes the round of r.Target and r.Action.
func PutRemediationRound(ctx context.Context, q DBTX, r RemediationRound) error {
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO remediation_rounds (target, action, started_at, last_firing_at, spent_at, skipped_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (target, action) DO UPDATE SET started_at = excluded.started_at, last_firing_at = excluded.last_firing_at,
		spent_at = excluded.spent_at, skipped_at = excluded.skipped_at`),
		r.Target, r.Action, r.StartedAt, r.LastFiringAt, r.SpentAt, r.SkippedAt)
	if err != nil {
		return fmt.Errorf("put remediation round %s/%s: %w", r.Target, r.Action, err)
	}
	return nil
}

// OpenRemediationAttempt returns the unfinished attempt of target and
// action (ErrNotFound when there is none).
func OpenRemediationAttempt(ctx context.Context, q DBTX, target, action string) (RemediationAttempt, error) {
	var a RemediationAttempt
	err := remGet(ctx, q, &a, `SELECT `+attemptCols+` FROM remediation_attempts WHERE target = ? AND action = ? AND state <> ?`, target, action, AttemptDone)
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("open remediation attempt %s/%s: %w", target, action, err)
	}
	return a, err
}

// LastRemediationAttempt returns the latest attempt of target and action
// (ErrNotFound when there is none).
func LastRemediationAttempt(ctx context.Context, q DBTX, target, action string) (RemediationAttempt, error) {
	var a RemediationAttempt
	err := remGet(ctx, q, &a, `SELECT `+attemptCols+` FROM remediation_attempts WHERE target = ? AND action = ? ORDER BY id DESC LIMIT 1`, target, action)
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("last remediation attempt %s/%s: %w", target, action, err)
	}
	return a, err
}

// CountedRemediationAttempts returns the attempts of target and action
// queued at or after since that count against the budget (an attempt that
// found another action running, or whose job was lost, ran nothing),
// oldest first.
func CountedRemediationAttempts(ctx context.Context, q DBTX, target, action string, since time.Time) ([]RemediationAttempt, error) {
	var out []RemediationAttempt
	err := sqlx.SelectContext(ctx, q, &out, q.Rebind(`SELECT `+attemptCols+` FROM remediation_attempts
		WHERE target = ? AND action = ? AND queued_at >= ? AND outcome NOT IN ('busy', 'lost') ORDER BY id`), target, action, Ms(since))
	if err != nil {
		return nil, fmt.Errorf("remediation attempts %s/%s: %w", target, action, err)
	}
	return out, nil
}

// LatestRemediationAttempts returns the newest n attempts on target, newest first.
func LatestRemediationAttempts(ctx context.Context, q DBTX, target string, n int) ([]RemediationAttempt, error) {
	var out []RemediationAttempt
	err := sqlx.SelectContext(ctx, q, &out, q.Rebind(`SELECT `+attemptCols+` FROM remediation_attempts WHERE target = ? ORDER BY id DESC LIMIT ?`), target, n)
	if err != nil {
		return nil, fmt.Errorf("remediation attempts %s: %w", target, err)
	}
	return out, nil
}

// InsertRemediationAttempt adds a queued attempt and sets a.ID. A second
// unfinished attempt of the same target and action is refused with
// ErrConflict.
func InsertRemediationAttempt(ctx context.Context, q DBTX, a *RemediationAttempt) error {
	if a.State == "" {
		a.State = AttemptQueued
	}
	err := q.QueryRowxContext(ctx, q.Rebind(`INSERT INTO remediation_attempts (target, action, fingerprint, attempt, budget, state, outcome, text, job_id, queued_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		a.Target, a.Action, a.Fingerprint, a.Attempt, a.Budget, a.State, a.Outcome, a.Text, a.JobID, a.QueuedAt).Scan(&a.ID)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("add remediation attempt %s/%s: %w", a.Target, a.Action, ErrConflict)
		}
		return fmt.Errorf("add remediation attempt %s/%s: %w", a.Target, a.Action, err)
	}
	return nil
}

// SetRemediationJob records the queue job that carries attempt id.
func SetRemediationJob(ctx context.Context, q DBTX, id, jobID int64) error {
	if _, err := q.ExecContext(ctx, q.Rebind(`UPDATE remediation_attempts SET job_id = ? WHERE id = ?`), jobID, id); err != nil {
		return fmt.Errorf("remediation attempt %d: job: %w", id, err)
	}
	return nil
}

// StartRemediationAttempt marks a queued attempt running. It reports false
// when the attempt is not queued any more (finished as lost, or started
// already): its job must then do nothing.
func StartRemediationAttempt(ctx context.Context, q DBTX, id int64, at time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, q.Rebind(`UPDATE remediation_attempts SET state = ?, started_at = ? WHERE id = ? AND state = ?`), AttemptRunning, Ms(at), id, AttemptQueued)
	if err != nil {
		return false, fmt.Errorf("start remediation attempt %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// FinishRemediationAttempt records how an unfinished attempt ended.
func FinishRemediationAttempt(ctx context.Context, q DBTX, id int64, outcome, text string, at time.Time) error {
	if _, err := q.ExecContext(ctx, q.Rebind(`UPDATE remediation_attempts SET state = ?, outcome = ?, text = ?, finished_at = ? WHERE id = ? AND state <> ?`),
		AttemptDone, outcome, text, Ms(at), id, AttemptDone); err != nil {
		return fmt.Errorf("finish remediation attempt %d: %w", id, err)
	}
	return nil
}
