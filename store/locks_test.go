package store_test

import (
	"context"
	"testing"
	"time"

	"opsbot/store"
	"opsbot/store/storetest"
)

// A lease is timed by the database's clock: what the replica's own clock
// says never enters the query. Its expiry is written in Unix milliseconds
// (the store's time unit) TTL after the statement ran, a held lease is
// refused to others and renewed for its holder, and an expired one is taken.
func TestLeaseUsesTheDatabaseClock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		expiry := func() time.Time {
			var ms int64
			if err := s.Get(ctx, &ms, `SELECT expires_at FROM locks WHERE name = ?`, "leader"); err != nil {
				t.Fatal(err)
			}
			return time.UnixMilli(ms)
		}
		// The database runs on this host in tests, so its clock and ours
		// agree within the statement's duration (plus SQLite's rounding).
		before := time.Now().Add(-time.Millisecond)
		who, err := s.TryLease(ctx, "leader", "a", time.Minute)
		after := time.Now().Add(time.Millisecond)
		if err != nil || who != "a" {
			t.Fatalf("first lease: %q %v", who, err)
		}
		if e := expiry(); e.Before(before.Add(time.Minute)) || e.After(after.Add(time.Minute)) {
			t.Fatalf("expiry %s not a minute after [%s, %s]", e, before, after)
		}
		if who, err := s.TryLease(ctx, "leader", "b", time.Minute); err != nil || who != "a" {
			t.Fatalf("b took a held lease: %q %v", who, err)
		}
		if h, _ := s.LeaseHolder(ctx, "leader"); h != "a" {
			t.Fatalf("holder %q", h)
		}
		first := expiry()
		if who, err := s.TryLease(ctx, "leader", "a", 2*time.Minute); err != nil || who != "a" || !expiry().After(first) {
			t.Fatalf("renewal: %q %v, expiry %s then %s", who, err, first, expiry())
		}
		// Moved back past the renewal: expired by the database's clock.
		if _, err := s.Exec(ctx, `UPDATE locks SET expires_at = expires_at - ? WHERE name = ?`, (2*time.Minute + time.Millisecond).Milliseconds(), "leader"); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.LeaseHolder(ctx, "leader"); h != "" {
			t.Fatalf("expired lease still held by %q", h)
		}
		if who, err := s.TryLease(ctx, "leader", "b", time.Minute); err != nil || who != "b" {
			t.Fatalf("b could not take an expired lease: %q %v", who, err)
		}
		if err := s.Unlock(ctx, "leader", "a"); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.LeaseHolder(ctx, "leader"); h != "b" {
			t.Fatalf("a's unlock released b's lease: holder %q", h)
		}
	})
}
