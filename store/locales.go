package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SetChannelLocale records the language channel chose (by whom, when).
func (s *Store) SetChannelLocale(ctx context.Context, channel, locale, by string, at time.Time) error {
	_, err := s.Exec(ctx, `INSERT INTO channel_locales (channel, locale, set_by, set_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (channel) DO UPDATE SET locale = excluded.locale, set_by = excluded.set_by, set_at = excluded.set_at`,
		channel, locale, by, T(at))
	if err != nil {
		return fmt.Errorf("set locale of %s: %w", channel, err)
	}
	return nil
}

// ClearChannelLocale makes channel follow the configured locale again; it
// reports whether the channel had chosen one.
func (s *Store) ClearChannelLocale(ctx context.Context, channel string) (bool, error) {
	res, err := s.Exec(ctx, `DELETE FROM channel_locales WHERE channel = ?`, channel)
	if err != nil {
		return false, fmt.Errorf("clear locale of %s: %w", channel, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ChannelLocale is the language channel chose ("" when none), read through
// q (the pool or a transaction).
func ChannelLocale(ctx context.Context, q DBTX, channel string) (string, error) {
	var loc string
	err := qget(ctx, q, &loc, `SELECT locale FROM channel_locales WHERE channel = ?`, channel)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("locale of %s: %w", channel, err)
	}
	return loc, nil
}

// ChannelLocale is the language channel chose ("" when none).
func (s *Store) ChannelLocale(ctx context.Context, channel string) (string, error) {
	return ChannelLocale(ctx, s.DB, channel)
}
