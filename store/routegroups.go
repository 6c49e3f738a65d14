package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"
)

// RouteGroupsSince returns when each alert group announced at or after
// since was last announced.
func RouteGroupsSince(ctx context.Context, q DBTX, since time.Time) (map[string]time.Time, error) {
	var rows []struct {
		Key string `db:"group_key"`
		At  int64  `db:"sent_at"`
	}
	if err := qselect(ctx, q, &rows, `SELECT group_key, sent_at FROM route_groups WHERE sent_at >= ?`, Ms(since)); err != nil {
		return nil, fmt.Errorf("route groups: %w", err)
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		k, err := hex.DecodeString(r.Key)
		if err != nil {
			continue
		}
		out[string(k)] = time.UnixMilli(r.At)
	}
	return out, nil
}

// SetRouteGroupsSent records (keys hex-encoded: a group key holds NUL
// separators, which PostgreSQL's TEXT refuses and SQLite would cut at) that the groups were announced at, and forgets
// groups not announced for longer than keep.
func SetRouteGroupsSent(ctx context.Context, q DBTX, keys []string, at time.Time, keep time.Duration) error {
	for _, k := range keys {
		if _, err := qexec(ctx, q, `INSERT INTO route_groups (group_key, sent_at) VALUES (?, ?)
			ON CONFLICT (group_key) DO UPDATE SET sent_at = excluded.sent_at`, hex.EncodeToString([]byte(k)), Ms(at)); err != nil {
			return fmt.Errorf("route group sent: %w", err)
		}
	}
	if _, err := qexec(ctx, q, `DELETE FROM route_groups WHERE sent_at < ?`, Ms(at.Add(-keep))); err != nil {
		return fmt.Errorf("route groups prune: %w", err)
	}
	return nil
}
