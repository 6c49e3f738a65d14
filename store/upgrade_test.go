package store_test

import (
	"context"
	"testing"
	"time"

	"opsbot/store"
	"opsbot/store/storetest"
)

// A replica of the older release keeps working, and can restart, after a
// newer one migrated the shared store: its migrate finds nothing to apply
// (the newer version is not one it knows of, and none of its own is
// missing), and its queries ignore the new columns.
func TestOlderReleaseOnNewerSchema(t *testing.T) {
	storetest.EachWidened(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		v, err := s.Version(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// What the newer release's goose records for its migration.
		if _, err := s.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, TRUE)`, v+1); err != nil {
			t.Fatal(err)
		}
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("older release's migrate on a newer schema: applied %v, %v", applied, err)
		}
		if got, err := s.Version(ctx); err != nil || got != v+1 {
			t.Fatalf("version %d, %v; want %d", got, err, v+1)
		}
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		if ok, err := s.TryLock(ctx, "leader", "old-replica", 30*time.Second, now); err != nil || !ok {
			t.Fatalf("lease %v %v", ok, err)
		}
		if h, err := s.LockHolder(ctx, "leader", now); err != nil || h != "old-replica" {
			t.Fatalf("holder %q %v", h, err)
		}
		if _, err := s.AddAudit(ctx, store.AuditRow{At: store.T(now), Platform: "slack", UserID: "U1", Verb: "status", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
		if rows, err := s.RecentAudit(ctx, 1); err != nil || len(rows) != 1 || rows[0].UserID != "U1" {
			t.Fatalf("audit %+v %v", rows, err)
		}
	})
}
