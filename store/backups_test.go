package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"opsbot/store"
	"opsbot/store/storetest"
)

func TestBackupsLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
		id1, err := s.AddBackup(ctx, "api", "20261125_020000", base)
		if err != nil {
			t.Fatal(err)
		}
		id2, err := s.AddBackup(ctx, "api", "20261126_020000", base.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddBackup(ctx, "other", "20261126_020000", base); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishBackup(ctx, id1, store.BackupComplete, "/b/1", 1234, `{"x":1}`, "", base.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishBackup(ctx, id2, store.BackupFailed, "", 0, "", "disk full", base.Add(24*time.Hour+time.Minute)); err != nil {
			t.Fatal(err)
		}
		b, err := s.Backup(ctx, id1)
		if err != nil {
			t.Fatal(err)
		}
		if b.Verified() || b.SizeBytes != 1234 || b.Dir != "/b/1" || b.Status != store.BackupComplete || !b.FinishedAt.Equal(base.Add(time.Minute)) {
			t.Fatalf("after finish: %+v", b)
		}
		if err := s.SetBackupVerified(ctx, id1, "", base.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.SetBackupOffsite(ctx, id1, true, "ok in 1s", `{"x":2}`); err != nil {
			t.Fatal(err)
		}
		b, _ = s.Backup(ctx, id1)
		if !b.Verified() || !b.OffsiteOK.Valid || b.OffsiteOK.Int64 != 1 || b.Manifest != `{"x":2}` {
			t.Fatalf("after verify: %+v", b)
		}
		if err := s.SetBackupVerified(ctx, id1, "checksum mismatch", base.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if b, _ = s.Backup(ctx, id1); b.Verified() {
			t.Fatalf("failed verification still verified: %+v", b)
		}
		list, err := s.Backups(ctx, "api")
		if err != nil || len(list) != 2 || list[0].ID != id2 || list[1].ID != id1 {
			t.Fatalf("list %+v %v", list, err)
		}
		if err := s.MarkBackupDeleted(ctx, id1, base.Add(40*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if list, _ = s.Backups(ctx, "api"); len(list) != 1 || list[0].ID != id2 {
			t.Fatalf("deleted set still listed: %+v", list)
		}
		if _, err := s.Backup(ctx, 999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	})
}
