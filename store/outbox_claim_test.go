package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"opsbot/store"
	"opsbot/store/storetest"
)

// A row is claimed by one holder at a time: not before it is due, not
// while another holder's claim is current, again once that claim lapsed
// or was released, and never once delivered. Retry and park end a claim.
func TestOutboxClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		r := store.OutboxRow{Channel: "slack:C1", Op: store.OpPost, Payload: "{}", CreatedAt: store.T(now), NextAt: store.T(now.Add(time.Second))}
		if err := store.EnqueueOutbox(ctx, s.DB, &r); err != nil {
			t.Fatal(err)
		}
		claim := func(holder string, at time.Time) bool {
			t.Helper()
			ok, err := store.ClaimOutbox(ctx, s.DB, r.ID, holder, at, at.Add(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if claim("a", now) {
			t.Fatal("claimed before it is due")
		}
		now = now.Add(time.Second)
		if !claim("a", now) {
			t.Fatal("due row not claimed")
		}
		if claim("b", now.Add(4*time.Second)) || claim("a", now.Add(time.Second)) {
			t.Fatal("claimed while a's claim is current")
		}
		if ok, err := store.ExtendClaim(ctx, s.DB, r.ID, "b", now.Add(time.Hour)); ok || err != nil {
			t.Fatalf("b extended a's claim: %v %v", ok, err)
		}
		if ok, err := store.ExtendClaim(ctx, s.DB, r.ID, "a", now.Add(10*time.Second)); !ok || err != nil {
			t.Fatalf("a could not extend: %v %v", ok, err)
		}
		if claim("b", now.Add(9*time.Second)) {
			t.Fatal("claimed before the extended claim lapsed")
		}
		if !claim("b", now.Add(10*time.Second)) {
			t.Fatal("lapsed claim not taken over")
		}
		row, _ := store.OutboxByID(ctx, s.DB, r.ID)
		if row.ClaimedBy != "b" || !row.ClaimedUntil.Equal(now.Add(15*time.Second)) {
			t.Fatalf("claim recorded as %q until %v", row.ClaimedBy, row.ClaimedUntil)
		}
		// a's release does not end b's claim; b's does.
		if err := store.ReleaseClaim(ctx, s.DB, r.ID, "a"); err != nil {
			t.Fatal(err)
		}
		if claim("c", now.Add(11*time.Second)) {
			t.Fatal("a released b's claim")
		}
		if err := store.ReleaseClaim(ctx, s.DB, r.ID, "b"); err != nil {
			t.Fatal(err)
		}
		if !claim("c", now.Add(11*time.Second)) {
			t.Fatal("released row not claimed")
		}
		if err := store.MarkRetry(ctx, s.DB, r.ID, now.Add(20*time.Second), "502", true); err != nil {
			t.Fatal(err)
		}
		if row, _ = store.OutboxByID(ctx, s.DB, r.ID); row.ClaimedBy != "" || !row.ClaimedUntil.IsZero() {
			t.Fatalf("retry kept the claim: %+v", row)
		}
		if !claim("d", now.Add(20*time.Second)) {
			t.Fatal("retried row not claimed when due")
		}
		if err := s.MarkDelivered(ctx, row, nil, now.Add(21*time.Second)); err != nil {
			t.Fatal(err)
		}
		if claim("e", now.Add(time.Hour)) {
			t.Fatal("delivered row claimed")
		}
	})
}

// Many claimants at once, as replicas racing for the same head: exactly
// one gets the row.
func TestOutboxClaimRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		for round := range 5 {
			r := store.OutboxRow{Channel: "slack:C1", Op: store.OpPost, Payload: "{}", CreatedAt: store.T(now)}
			if err := store.EnqueueOutbox(ctx, s.DB, &r); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			won := 0
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := store.ClaimOutbox(ctx, s.DB, r.ID, string(rune('a'+i)), now, now.Add(time.Minute))
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						won++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if won != 1 {
				t.Fatalf("round %d: %d claimants won, want 1", round, won)
			}
		}
	})
}
