package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"opsbot/store"
	"opsbot/store/storetest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		v, err := s.Version(ctx)
		if err != nil || v < 5 {
			t.Fatalf("version %d, %v", v, err)
		}
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("second migrate applied %v, %v", applied, err)
		}
	})
}

func TestAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		for i := 0; i < 3; i++ {
			if _, err := s.AddAudit(ctx, store.AuditRow{At: store.T(base.Add(time.Duration(i) * time.Minute)), Platform: "console", UserID: "u", Verb: "status", Result: "ok", DurationMS: int64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := s.RecentAudit(ctx, 2)
		if err != nil || len(rows) != 2 {
			t.Fatalf("rows %v %v", rows, err)
		}
		if rows[0].DurationMS != 2 || !rows[0].At.Equal(base.Add(2*time.Minute)) {
			t.Fatalf("newest first, got %+v", rows[0])
		}
		n, err := s.Prune(ctx, store.RetentionPolicy{Audit: 90 * time.Second}, base.Add(3*time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("pruned %d, %v", n, err)
		}
		if c, _ := s.CountAudit(ctx); c != 1 {
			t.Fatalf("left %d", c)
		}
	})
}

func TestConfirmationUsedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		if _, err := s.AddConfirmation(ctx, store.Confirmation{Token: "tok", Verb: "restart", Args: `["api"]`, Requester: "slack:U1", Platform: "slack", CreatedAt: store.T(now), ExpiresAt: store.T(now.Add(time.Minute))}); err != nil {
			t.Fatal(err)
		}
		if err := s.UseConfirmation(ctx, "tok", "slack:U2", now); err != nil {
			t.Fatal(err)
		}
		if err := s.UseConfirmation(ctx, "tok", "slack:U3", now); !errors.Is(err, store.ErrUsed) {
			t.Fatalf("second use: %v", err)
		}
		c, err := s.Confirmation(ctx, "tok")
		if err != nil || c.UsedBy == nil || *c.UsedBy != "slack:U2" {
			t.Fatalf("%+v %v", c, err)
		}
		if _, err := s.Confirmation(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
	})
}

func TestLocks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		ok, err := s.TryLock(ctx, "restart:api", "a", time.Minute, now)
		if err != nil || !ok {
			t.Fatalf("first lock %v %v", ok, err)
		}
		if ok, _ := s.TryLock(ctx, "restart:api", "b", time.Minute, now); ok {
			t.Fatal("b took a held lock")
		}
		if h, _ := s.LockHolder(ctx, "restart:api", now); h != "a" {
			t.Fatalf("holder %q", h)
		}
		if ok, _ := s.TryLock(ctx, "restart:api", "b", time.Minute, now.Add(2*time.Minute)); !ok {
			t.Fatal("b could not take an expired lock")
		}
		if err := s.Unlock(ctx, "restart:api", "a"); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.LockHolder(ctx, "restart:api", now.Add(2*time.Minute)); h != "b" {
			t.Fatalf("a's unlock released b's lock: holder %q", h)
		}
	})
}

func TestState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		type st struct{ Failures int }
		var got st
		if err := s.GetState(ctx, "k", &got); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("absent: %v", err)
		}
		_ = s.PutState(ctx, "k", st{2}, time.Now())
		_ = s.PutState(ctx, "k", st{3}, time.Now())
		if err := s.GetState(ctx, "k", &got); err != nil || got.Failures != 3 {
			t.Fatalf("%+v %v", got, err)
		}
	})
}

func TestOpenUnreachablePostgres(t *testing.T) {
	_, err := store.Open(context.Background(), "postgres", "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err == nil {
		t.Fatal("open of a closed port succeeded")
	}
	if got := err.Error(); len(got) > 300 || got[:10] != "open store" || strings.Contains(got, "\n") {
		t.Fatalf("want one short line, got %q", got)
	}
}

func TestPruneOldAlertsAndRefs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		old := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		now := old.Add(400 * 24 * time.Hour)
		for i, resolved := range []any{store.Ms(old), nil} {
			if _, err := s.Exec(ctx, `INSERT INTO alerts (fingerprint, kind, rule, severity, state, started_at, last_seen_at, resolved_at, route_at) VALUES (?, 'threshold', 'cpu_high', 'warning', 'x', ?, ?, ?, ?)`,
				fmt.Sprint("fp", i), store.Ms(old), store.Ms(old), resolved, store.Ms(old)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Exec(ctx, `INSERT INTO message_refs (outbox_id, address, platform, channel, message_id, created_at) VALUES (1, 'console', 'console', '', '1', ?)`, store.Ms(old)); err != nil {
			t.Fatal(err)
		}
		n, err := s.Prune(ctx, store.RetentionPolicy{Events: 365 * 24 * time.Hour}, now)
		if err != nil || n != 2 {
			t.Fatalf("pruned %d, %v", n, err)
		}
		var left int
		s.Get(ctx, &left, `SELECT COUNT(*) FROM alerts`)
		if left != 1 {
			t.Fatalf("a firing alert must stay, %d left", left)
		}
	})
}
