package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"opsbot/store"
	"opsbot/store/storetest"
)

func TestInboxIsIdempotentAndClaimedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
		obs := []store.Observation{
			{Source: "rules", Fingerprint: "cpu/api", ObservedAt: store.T(at), Status: "firing", Payload: `{}`, CreatedAt: store.T(at)},
			{Source: "rules", Fingerprint: "cpu/api", ObservedAt: store.T(at), Status: "resolved", Payload: `{}`, CreatedAt: store.T(at)},
		}
		n, err := store.AppendObservations(ctx, st.DB, obs)
		if err != nil || n != 2 {
			t.Fatalf("append: %d, %v", n, err)
		}
		// A producer retrying after an error adds nothing.
		if n, err := store.AppendObservations(ctx, st.DB, obs); err != nil || n != 0 {
			t.Fatalf("retry appended %d, %v", n, err)
		}
		var first []store.Observation
		if err := st.Tx(ctx, func(tx *sqlx.Tx) error {
			var err error
			first, err = store.ClaimObservations(ctx, tx, 10, at)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(first) != 2 || first[0].ID > first[1].ID || first[0].Status != "firing" {
			t.Fatalf("claimed %+v", first)
		}
		var again []store.Observation
		if err := st.Tx(ctx, func(tx *sqlx.Tx) error {
			var err error
			again, err = store.ClaimObservations(ctx, tx, 10, at)
			return err
		}); err != nil || len(again) != 0 {
			t.Fatalf("claimed twice: %+v, %v", again, err)
		}
		if pending, processed, err := store.InboxCounts(ctx, st.DB); err != nil || pending != 0 || processed != 2 {
			t.Fatalf("counts %d/%d, %v", pending, processed, err)
		}
		// Applied observations go with the outbox's retention.
		if _, err := st.Prune(ctx, store.RetentionPolicy{Outbox: time.Hour}, at.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if pending, processed, _ := store.InboxCounts(ctx, st.DB); pending+processed != 0 {
			t.Fatalf("%d rows left after pruning", pending+processed)
		}
	})
}

// The schema itself forbids two active rows for one problem, whatever the
// code above it believes.
func TestOneActiveAlertPerFingerprint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
		row := func() *store.AlertRow {
			return &store.AlertRow{Fingerprint: "api_down:api", Kind: "health", Rule: "api_down", Severity: "critical",
				StartedAt: store.T(now), LastSeenAt: store.T(now), Pending: store.PendingGroup, RouteAt: store.T(now)}
		}
		first := row()
		if err := store.InsertAlert(ctx, st.DB, first); err != nil {
			t.Fatal(err)
		}
		if err := store.InsertAlert(ctx, st.DB, row()); err == nil {
			t.Fatal("a second active row for one fingerprint was accepted")
		}
		// Once resolved, the problem may fire again as a new episode.
		if err := store.ResolveAlert(ctx, st.DB, first.ID, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := store.InsertAlert(ctx, st.DB, row()); err != nil {
			t.Fatalf("a new episode after the resolve: %v", err)
		}
	})
}
