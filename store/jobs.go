package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// JobRun is one run of a scheduled job for one due time.
type JobRun struct {
	ID         int64  `db:"id"`
	Job        string `db:"job"`
	DueAt      Time   `db:"due_at"`
	StartedAt  Time   `db:"started_at"`
	FinishedAt Time   `db:"finished_at"`
	Result     string `db:"result"` // running, ok, error, skipped
	Error      string `db:"error"`
	Holder     string `db:"holder"`
}

// JobState is a job's persistent state.
type JobState struct {
	Job         string `db:"job"`
	Paused      bool   `db:"paused"`
	LastSuccess Time   `db:"last_success"`
}

// ClaimJobRun records that holder starts job for due. It returns false when
// a run for that due time exists already (another replica took it), so no
// due time runs twice.
func (s *Store) ClaimJobRun(ctx context.Context, job string, due, now time.Time, holder string) (int64, bool, error) {
	id, err := s.InsertID(ctx, `INSERT INTO job_runs (job, due_at, started_at, result, holder) VALUES (?, ?, ?, 'running', ?)
		ON CONFLICT (job, due_at) DO NOTHING`, job, Ms(due), Ms(now), holder)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("claim job run %s: %w", job, err)
	}
	return id, true, nil
}

// FinishJobRun records a run's result; on success it also moves the job's
// last success forward.
func (s *Store) FinishJobRun(ctx context.Context, id int64, job, result, errText string, now time.Time) error {
	if _, err := s.Exec(ctx, `UPDATE job_runs SET finished_at = ?, result = ?, error = ? WHERE id = ?`, Ms(now), result, errText, id); err != nil {
		return fmt.Errorf("finish job run: %w", err)
	}
	if result == "ok" {
		if _, err := s.Exec(ctx, `INSERT INTO job_state (job, paused, last_success) VALUES (?, 0, ?)
			ON CONFLICT (job) DO UPDATE SET last_success = excluded.last_success`, job, Ms(now)); err != nil {
			return fmt.Errorf("job success: %w", err)
		}
	}
	return nil
}

// RecordSkippedRun records a due time skipped because the job still ran.
func (s *Store) RecordSkippedRun(ctx context.Context, job string, due, now time.Time, holder, why string) error {
	_, err := s.Exec(ctx, `INSERT INTO job_runs (job, due_at, started_at, finished_at, result, error, holder) VALUES (?, ?, ?, ?, 'skipped', ?, ?)
		ON CONFLICT (job, due_at) DO NOTHING`, job, Ms(due), Ms(now), Ms(now), why, holder)
	if err != nil {
		return fmt.Errorf("record skipped run: %w", err)
	}
	return nil
}

// LastJobRun returns the latest finished or running run of job.
func (s *Store) LastJobRun(ctx context.Context, job string) (JobRun, error) {
	var r JobRun
	err := s.Get(ctx, &r, `SELECT `+jobRunCols+` FROM job_runs WHERE job = ? ORDER BY due_at DESC, id DESC LIMIT 1`, job)
	if err != nil {
		return r, fmt.Errorf("last job run %s: %w", job, err)
	}
	return r, nil
}

// JobRuns returns every run of job, oldest first.
func (s *Store) JobRuns(ctx context.Context, job string) ([]JobRun, error) {
	var rs []JobRun
	if err := s.Select(ctx, &rs, `SELECT `+jobRunCols+` FROM job_runs WHERE job = ? ORDER BY due_at, id`, job); err != nil {
		return nil, fmt.Errorf("job runs %s: %w", job, err)
	}
	return rs, nil
}

// JobStates returns the persistent state of every job that has one.
func (s *Store) JobStates(ctx context.Context) (map[string]JobState, error) {
	var rs []struct {
		Job         string `db:"job"`
		Paused      int    `db:"paused"`
		LastSuccess Time   `db:"last_success"`
	}
	if err := s.Select(ctx, &rs, `SELECT job, paused, last_success FROM job_state`); err != nil {
		return nil, fmt.Errorf("job states: %w", err)
	}
	out := make(map[string]JobState, len(rs))
	for _, r := range rs {
		out[r.Job] = JobState{Job: r.Job, Paused: r.Paused != 0, LastSuccess: r.LastSuccess}
	}
	return out, nil
}

// SetJobPaused pauses or resumes a job; it persists across restarts.
func (s *Store) SetJobPaused(ctx context.Context, job string, paused bool) error {
	p := 0
	if paused {
		p = 1
	}
	if _, err := s.Exec(ctx, `INSERT INTO job_state (job, paused) VALUES (?, ?)
		ON CONFLICT (job) DO UPDATE SET paused = excluded.paused`, job, p); err != nil {
		return fmt.Errorf("pause job %s: %w", job, err)
	}
	return nil
}
