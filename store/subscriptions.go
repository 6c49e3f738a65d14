package store

import (
	"context"
	"fmt"
	"time"
)

// Subscription of a channel to one kind of alert.
type Subscription struct {
	ID          int64  `db:"id"`
	Channel     string `db:"channel"`
	Kind        string `db:"kind"`
	MinSeverity string `db:"min_severity"`
	Oncall      string `db:"oncall"`
	CreatedBy   string `db:"created_by"`
	CreatedAt   Time   `db:"created_at"`
	// Matchers narrow the subscription (Alertmanager syntax, "" = none).
	Matchers string `db:"matchers"`
}

// Subscribe adds or changes a channel's subscription to a kind.
func (s *Store) Subscribe(ctx context.Context, sub Subscription) error {
	if sub.CreatedAt.IsZero() {
		sub.CreatedAt = T(time.Now())
	}
	_, err := s.Exec(ctx, `INSERT INTO subscriptions (channel, kind, min_severity, oncall, created_by, created_at, matchers) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel, kind) DO UPDATE SET min_severity = excluded.min_severity, oncall = excluded.oncall,
		created_by = excluded.created_by, created_at = excluded.created_at, matchers = excluded.matchers`,
		sub.Channel, sub.Kind, sub.MinSeverity, sub.Oncall, sub.CreatedBy, sub.CreatedAt, sub.Matchers)
	if err != nil {
		return fmt.Errorf("subscribe %s to %s: %w", sub.Channel, sub.Kind, err)
	}
	return nil
}

// SeedSubscription adds a subscription from configuration unless the
// channel already has one for that kind (a change made in chat wins).
func (s *Store) SeedSubscription(ctx context.Context, sub Subscription) (bool, error) {
	res, err := s.Exec(ctx, `INSERT INTO subscriptions (channel, kind, min_severity, oncall, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel, kind) DO NOTHING`, sub.Channel, sub.Kind, sub.MinSeverity, sub.Oncall, sub.CreatedBy, sub.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("seed subscription %s/%s: %w", sub.Channel, sub.Kind, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Unsubscribe removes a channel's subscription to kind; it reports whether
// there was one.
func (s *Store) Unsubscribe(ctx context.Context, channel, kind string) (bool, error) {
	res, err := s.Exec(ctx, `DELETE FROM subscriptions WHERE channel = ? AND kind = ?`, channel, kind)
	if err != nil {
		return false, fmt.Errorf("unsubscribe %s from %s: %w", channel, kind, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Subscriptions lists subscriptions of channel ("" = every channel) by channel and kind.
func (s *Store) Subscriptions(ctx context.Context, channel string) ([]Subscription, error) {
	var out []Subscription
	var err error
	if channel == "" {
		err = s.Select(ctx, &out, `SELECT `+subscriptionCols+` FROM subscriptions ORDER BY channel, kind`)
	} else {
		err = s.Select(ctx, &out, `SELECT `+subscriptionCols+` FROM subscriptions WHERE channel = ? ORDER BY kind`, channel)
	}
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return out, nil
}

// SubscriptionsTx lists every subscription inside a transaction.
func SubscriptionsTx(ctx context.Context, q DBTX) ([]Subscription, error) {
	var out []Subscription
	if err := qselect(ctx, q, &out, `SELECT `+subscriptionCols+` FROM subscriptions ORDER BY channel, kind`); err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return out, nil
}
