package store

import (
	"context"
	"fmt"
	"time"
)

// AuditRow is one command (or automatic action) and its result.
type AuditRow struct {
	ID         int64  `db:"id"`
	At         Time   `db:"at"`
	Platform   string `db:"platform"`
	UserID     string `db:"user_id"`
	UserName   string `db:"user_name"`
	Channel    string `db:"channel"`
	Verb       string `db:"verb"`
	Target     string `db:"target"`
	Text       string `db:"text"`
	Result     string `db:"result"` // ok, error, refused, denied, invalid, confirm, rate-limited
	Detail     string `db:"detail"`
	DurationMS int64  `db:"duration_ms"`
}

// AddAudit records one row.
func (s *Store) AddAudit(ctx context.Context, r AuditRow) (int64, error) {
	if r.At.IsZero() {
		r.At = T(time.Now())
	}
	id, err := s.InsertID(ctx, `INSERT INTO audit (at, platform, user_id, user_name, channel, verb, target, text, result, detail, duration_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.At, r.Platform, r.UserID, r.UserName, r.Channel, r.Verb, r.Target, r.Text, r.Result, r.Detail, r.DurationMS)
	if err != nil {
		return 0, fmt.Errorf("add audit: %w", err)
	}
	return id, nil
}

// RecentAudit returns the latest n rows, newest first.
func (s *Store) RecentAudit(ctx context.Context, n int) ([]AuditRow, error) {
	var rows []AuditRow
	if err := s.Select(ctx, &rows, `SELECT `+auditCols+` FROM audit ORDER BY id DESC LIMIT ?`, n); err != nil {
		return nil, fmt.Errorf("recent audit: %w", err)
	}
	return rows, nil
}

// AuditSince returns rows at or after t, oldest first.
func (s *Store) AuditSince(ctx context.Context, t time.Time) ([]AuditRow, error) {
	var rows []AuditRow
	if err := s.Select(ctx, &rows, `SELECT `+auditCols+` FROM audit WHERE at >= ? ORDER BY id`, Ms(t)); err != nil {
		return nil, fmt.Errorf("audit since: %w", err)
	}
	return rows, nil
}

// CountAudit returns the number of audit rows.
func (s *Store) CountAudit(ctx context.Context) (int, error) {
	var n int
	if err := s.Get(ctx, &n, `SELECT COUNT(*) FROM audit`); err != nil {
		return 0, fmt.Errorf("count audit: %w", err)
	}
	return n, nil
}
