package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Confirmation is a pending dangerous action waiting for a click.
type Confirmation struct {
	ID        int64   `db:"id"`
	Token     string  `db:"token"`
	Verb      string  `db:"verb"`
	Args      string  `db:"args"` // JSON list of arguments
	Requester string  `db:"requester"`
	Platform  string  `db:"platform"`
	Channel   string  `db:"channel"`
	CreatedAt Time    `db:"created_at"`
	ExpiresAt Time    `db:"expires_at"`
	UsedBy    *string `db:"used_by"`
	UsedAt    Time    `db:"used_at"`
	Outcome   string  `db:"outcome"`
}

// ErrUsed is returned when a confirmation was already used.
var ErrUsed = errors.New("already used")

// AddConfirmation stores a pending confirmation.
func (s *Store) AddConfirmation(ctx context.Context, c Confirmation) (int64, error) {
	id, err := s.InsertID(ctx, `INSERT INTO confirmations (token, verb, args, requester, platform, channel, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.Token, c.Verb, c.Args, c.Requester, c.Platform, c.Channel, c.CreatedAt, c.ExpiresAt)
	if err != nil {
		return 0, fmt.Errorf("add confirmation: %w", err)
	}
	return id, nil
}

// Confirmation returns the confirmation with the given token.
func (s *Store) Confirmation(ctx context.Context, token string) (Confirmation, error) {
	var c Confirmation
	if err := s.Get(ctx, &c, `SELECT `+confirmationCols+` FROM confirmations WHERE token = ?`, token); err != nil {
		return c, fmt.Errorf("confirmation: %w", err)
	}
	return c, nil
}

// UseConfirmation marks the confirmation used by user, once: a second call
// (a double click, another replica) gets ErrUsed.
func (s *Store) UseConfirmation(ctx context.Context, token, user string, now time.Time) error {
	res, err := s.Exec(ctx, `UPDATE confirmations SET used_by = ?, used_at = ? WHERE token = ? AND used_at IS NULL`, user, Ms(now), token)
	if err != nil {
		return fmt.Errorf("use confirmation: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("use confirmation: %w", ErrUsed)
	}
	return nil
}

// SetConfirmationOutcome records what the confirmed action did.
func (s *Store) SetConfirmationOutcome(ctx context.Context, token, outcome string) error {
	if _, err := s.Exec(ctx, `UPDATE confirmations SET outcome = ? WHERE token = ?`, outcome, token); err != nil {
		return fmt.Errorf("confirmation outcome: %w", err)
	}
	return nil
}
