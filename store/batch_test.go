package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"opsbot/store"
	"opsbot/store/storetest"
)

// The batched statements of the pipeline: observations appended many to a
// statement stay idempotent; a batch's firing alerts are found, and its
// new ones inserted, in one statement each.
func TestBatchedAlertStatements(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		obs := func(from, to int) []store.Observation {
			var out []store.Observation
			for k := from; k < to; k++ {
				out = append(out, store.Observation{Source: "rules", Fingerprint: fmt.Sprintf("fp-%04d", k), Status: "firing",
					ObservedAt: store.T(now), Payload: "{}", CreatedAt: store.T(now)})
			}
			return out
		}
		if n, err := store.AppendObservations(ctx, s.DB, obs(0, 700)); err != nil || n != 700 {
			t.Fatalf("appended %d of 700: %v", n, err)
		}
		// Again with 5 new ones among them: only those are added.
		if n, err := store.AppendObservations(ctx, s.DB, obs(0, 705)); err != nil || n != 5 {
			t.Fatalf("appended %d, want the 5 new: %v", n, err)
		}
		if pending, _, err := store.InboxCounts(ctx, s.DB); err != nil || pending != 705 {
			t.Fatalf("%d in the inbox, want 705: %v", pending, err)
		}

		var rows []*store.AlertRow
		for k := 0; k < 450; k++ {
			rows = append(rows, &store.AlertRow{Fingerprint: fmt.Sprintf("fp-%04d", k), Kind: "threshold", Rule: "cpu_high",
				Severity: "warning", Summary: fmt.Sprint(k), StartedAt: store.T(now), LastSeenAt: store.T(now), Pending: store.PendingGroup, RouteAt: store.T(now)})
		}
		if err := store.InsertAlerts(ctx, s.DB, rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			got, err := store.AlertByID(ctx, s.DB, r.ID)
			if err != nil || got.Fingerprint != r.Fingerprint || got.Summary != r.Summary || got.State != store.AlertFiring {
				t.Fatalf("row %+v read back as %+v (%v)", r, got, err)
			}
		}
		if err := store.ResolveAlert(ctx, s.DB, rows[7].ID, now); err != nil {
			t.Fatal(err)
		}
		var ask []string
		for k := 0; k < 600; k++ {
			ask = append(ask, fmt.Sprintf("fp-%04d", k))
		}
		firing, err := store.FiringAlertsOf(ctx, s.DB, ask)
		if err != nil {
			t.Fatal(err)
		}
		if len(firing) != 449 {
			t.Fatalf("%d firing of 600 asked, want 449", len(firing))
		}
		if _, ok := firing["fp-0007"]; ok {
			t.Fatal("a resolved alert reported firing")
		}
		if got := firing["fp-0449"]; got.ID != rows[449].ID {
			t.Fatalf("fp-0449: %+v, want id %d", got, rows[449].ID)
		}

		if err := store.DeferReply(ctx, s.DB, "fp-0003", "{}", now); err != nil {
			t.Fatal(err)
		}
		if err := store.DeferReply(ctx, s.DB, "fp-0003", "{}", now); err != nil {
			t.Fatal(err)
		}
		waiting, err := store.DeferredFingerprints(ctx, s.DB)
		if err != nil || len(waiting) != 1 || !waiting["fp-0003"] {
			t.Fatalf("deferred: %v %v", waiting, err)
		}
	})
}
