package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// PutState stores a small JSON value under key (failure counters, budgets,
// log offsets), replacing what was there.
func (s *Store) PutState(ctx context.Context, key string, v any, now time.Time) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("put state %s: %w", key, err)
	}
	_, err = s.Exec(ctx, `INSERT INTO check_state (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, string(b), Ms(now))
	if err != nil {
		return fmt.Errorf("put state %s: %w", key, err)
	}
	return nil
}

// GetState loads the value under key into v; ErrNotFound when absent.
func (s *Store) GetState(ctx context.Context, key string, v any) error {
	var raw string
	if err := s.Get(ctx, &raw, `SELECT value FROM check_state WHERE key = ?`, key); err != nil {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("get state %s: %w", key, ErrNotFound)
		}
		return fmt.Errorf("get state %s: %w", key, err)
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return fmt.Errorf("get state %s: %w", key, err)
	}
	return nil
}

// DeleteState removes key.
func (s *Store) DeleteState(ctx context.Context, key string) error {
	if _, err := s.Exec(ctx, `DELETE FROM check_state WHERE key = ?`, key); err != nil {
		return fmt.Errorf("delete state %s: %w", key, err)
	}
	return nil
}
