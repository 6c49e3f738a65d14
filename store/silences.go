package store

import (
	"context"
	"fmt"
	"time"
)

// SilenceRow mutes alerts matching Matcher until EndsAt.
type SilenceRow struct {
	ID        int64  `db:"id"`
	Matcher   string `db:"matcher"` // "key=value[,key=value…]"
	Reason    string `db:"reason"`
	CreatedBy string `db:"created_by"`
	StartsAt  Time   `db:"starts_at"`
	EndsAt    Time   `db:"ends_at"`
	RemovedAt Time   `db:"removed_at"`
	RemovedBy string `db:"removed_by"`
}

// AddSilence stores a silence and returns its id.
func (s *Store) AddSilence(ctx context.Context, r SilenceRow) (int64, error) {
	id, err := s.InsertID(ctx, `INSERT INTO silences (matcher, reason, created_by, starts_at, ends_at) VALUES (?, ?, ?, ?, ?)`,
		r.Matcher, r.Reason, r.CreatedBy, r.StartsAt, r.EndsAt)
	if err != nil {
		return 0, fmt.Errorf("add silence: %w", err)
	}
	return id, nil
}

// Silence returns one silence.
func (s *Store) Silence(ctx context.Context, id int64) (SilenceRow, error) {
	var r SilenceRow
	if err := s.Get(ctx, &r, `SELECT `+silenceCols+` FROM silences WHERE id = ?`, id); err != nil {
		return r, fmt.Errorf("silence %d: %w", id, err)
	}
	return r, nil
}

// ActiveSilences returns silences in force at now, oldest first.
func ActiveSilences(ctx context.Context, q DBTX, now time.Time) ([]SilenceRow, error) {
	var out []SilenceRow
	if err := qselect(ctx, q, &out, `SELECT `+silenceCols+` FROM silences WHERE removed_at IS NULL AND starts_at <= ? AND ends_at > ? ORDER BY id`, Ms(now), Ms(now)); err != nil {
		return nil, fmt.Errorf("active silences: %w", err)
	}
	return out, nil
}

// RemoveSilence ends a silence early; ErrNotFound when there is no such
// silence in force.
func (s *Store) RemoveSilence(ctx context.Context, id int64, by string, now time.Time) error {
	res, err := s.Exec(ctx, `UPDATE silences SET removed_at = ?, removed_by = ? WHERE id = ? AND removed_at IS NULL AND ends_at > ?`, Ms(now), by, id, Ms(now))
	if err != nil {
		return fmt.Errorf("remove silence %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("remove silence %d: %w", id, ErrNotFound)
	}
	return nil
}
