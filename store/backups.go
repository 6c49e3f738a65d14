package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Backup statuses.
const (
	BackupRunning  = "running"
	BackupComplete = "complete"
	BackupFailed   = "failed"
)

// BackupRow is one backup set of a target.
type BackupRow struct {
	ID          int64         `db:"id"`
	Target      string        `db:"target"`
	Stamp       string        `db:"stamp"`
	Dir         string        `db:"dir"`
	Status      string        `db:"status"`
	Error       string        `db:"error"`
	CreatedAt   Time          `db:"created_at"`
	FinishedAt  Time          `db:"finished_at"`
	SizeBytes   int64         `db:"size_bytes"`
	Manifest    string        `db:"manifest"`
	VerifiedAt  Time          `db:"verified_at"`
	VerifyError string        `db:"verify_error"`
	Offsite     string        `db:"offsite"`
	OffsiteOK   sql.NullInt64 `db:"offsite_ok"`
	DeletedAt   Time          `db:"deleted_at"`
}

// Verified reports whether the set passed its last verification.
func (b BackupRow) Verified() bool { return !b.VerifiedAt.IsZero() && b.VerifyError == "" }

// AddBackup records a backup set that is starting and returns its id.
func (s *Store) AddBackup(ctx context.Context, target, stamp string, at time.Time) (int64, error) {
	id, err := s.InsertID(ctx, `INSERT INTO backups (target, stamp, status, created_at) VALUES (?, ?, ?, ?)`,
		target, stamp, BackupRunning, Ms(at))
	if err != nil {
		return 0, fmt.Errorf("add backup: %w", err)
	}
	return id, nil
}

// FinishBackup records how a backup set ended: complete with its folder,
// size and manifest, or failed with the error.
func (s *Store) FinishBackup(ctx context.Context, id int64, status, dir string, size int64, manifest, errText string, at time.Time) error {
	_, err := s.Exec(ctx, `UPDATE backups SET status = ?, dir = ?, size_bytes = ?, manifest = ?, error = ?, finished_at = ? WHERE id = ?`,
		status, dir, size, manifest, errText, Ms(at), id)
	if err != nil {
		return fmt.Errorf("finish backup %d: %w", id, err)
	}
	return nil
}

// SetBackupVerified records a verification: errText "" means it passed.
func (s *Store) SetBackupVerified(ctx context.Context, id int64, errText string, at time.Time) error {
	_, err := s.Exec(ctx, `UPDATE backups SET verified_at = ?, verify_error = ? WHERE id = ?`, Ms(at), errText, id)
	if err != nil {
		return fmt.Errorf("verify backup %d: %w", id, err)
	}
	return nil
}

// SetBackupOffsite records the off-host copy's result and the manifest
// that now carries it.
func (s *Store) SetBackupOffsite(ctx context.Context, id int64, ok bool, summary, manifest string) error {
	okInt := 0
	if ok {
		okInt = 1
	}
	_, err := s.Exec(ctx, `UPDATE backups SET offsite = ?, offsite_ok = ?, manifest = ? WHERE id = ?`, summary, okInt, manifest, id)
	if err != nil {
		return fmt.Errorf("offsite backup %d: %w", id, err)
	}
	return nil
}

// MarkBackupDeleted records that a set's files were removed (retention).
func (s *Store) MarkBackupDeleted(ctx context.Context, id int64, at time.Time) error {
	_, err := s.Exec(ctx, `UPDATE backups SET deleted_at = ? WHERE id = ?`, Ms(at), id)
	if err != nil {
		return fmt.Errorf("delete backup %d: %w", id, err)
	}
	return nil
}

// Backup returns one set by id (ErrNotFound when unknown).
func (s *Store) Backup(ctx context.Context, id int64) (BackupRow, error) {
	var b BackupRow
	if err := s.Get(ctx, &b, `SELECT `+backupCols+` FROM backups WHERE id = ?`, id); err != nil {
		return BackupRow{}, fmt.Errorf("backup %d: %w", id, err)
	}
	return b, nil
}

// Backups lists a target's sets that were not deleted, newest first.
func (s *Store) Backups(ctx context.Context, target string) ([]BackupRow, error) {
	var out []BackupRow
	if err := s.Select(ctx, &out, `SELECT `+backupCols+` FROM backups WHERE target = ? AND deleted_at IS NULL ORDER BY created_at DESC, id DESC`, target); err != nil {
		return nil, fmt.Errorf("list backups of %s: %w", target, err)
	}
	return out, nil
}
