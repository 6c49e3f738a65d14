package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"opsbot/store"
	"opsbot/store/storetest"
)

func TestSubscriptionsAndSilences(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		if err := s.Subscribe(ctx, store.Subscription{Channel: "slack:C1", Kind: "threshold", MinSeverity: "warning", CreatedAt: store.T(now)}); err != nil {
			t.Fatal(err)
		}
		// A seed does not overwrite a subscription changed in chat.
		if err := s.Subscribe(ctx, store.Subscription{Channel: "slack:C1", Kind: "threshold", MinSeverity: "critical", Oncall: "@sre", CreatedAt: store.T(now)}); err != nil {
			t.Fatal(err)
		}
		if added, err := s.SeedSubscription(ctx, store.Subscription{Channel: "slack:C1", Kind: "threshold", MinSeverity: "warning", CreatedAt: store.T(now)}); err != nil || added {
			t.Fatalf("seed over existing: %v %v", added, err)
		}
		subs, err := s.Subscriptions(ctx, "slack:C1")
		if err != nil || len(subs) != 1 || subs[0].MinSeverity != "critical" || subs[0].Oncall != "@sre" {
			t.Fatalf("%+v %v", subs, err)
		}
		if ok, _ := s.Unsubscribe(ctx, "slack:C1", "security"); ok {
			t.Fatal("removed a subscription that did not exist")
		}
		if ok, _ := s.Unsubscribe(ctx, "slack:C1", "threshold"); !ok {
			t.Fatal("did not remove")
		}

		id, err := s.AddSilence(ctx, store.SilenceRow{Matcher: "target=api", CreatedBy: "u", StartsAt: store.T(now), EndsAt: store.T(now.Add(time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		if act, _ := store.ActiveSilences(ctx, s.DB, now.Add(59*time.Minute)); len(act) != 1 || act[0].ID != id {
			t.Fatalf("active %+v", act)
		}
		if act, _ := store.ActiveSilences(ctx, s.DB, now.Add(time.Hour)); len(act) != 0 {
			t.Fatalf("expired silence still active: %+v", act)
		}
		if err := s.RemoveSilence(ctx, id, "v", now.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("removing an expired silence: %v", err)
		}
		if err := s.RemoveSilence(ctx, id, "v", now); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOutboxHeadsAndDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		var rows []store.OutboxRow
		for _, ch := range []string{"a", "b", "a"} {
			r := store.OutboxRow{Channel: ch, Op: store.OpPost, Owner: "incident:1", Payload: "{}", CreatedAt: store.T(now)}
			if err := store.EnqueueOutbox(ctx, s.DB, &r); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, r)
		}
		heads, err := store.OutboxHeads(ctx, s.DB)
		if err != nil || len(heads) != 2 || heads[0].ID != rows[0].ID || heads[1].ID != rows[1].ID {
			t.Fatalf("heads %+v %v", heads, err)
		}
		if err := s.MarkDelivered(ctx, rows[0], &store.MessageRef{Platform: "slack", Channel: "C1", MessageID: "1.0001"}, now); err != nil {
			t.Fatal(err)
		}
		// Marking twice is refused: a row is delivered once.
		if err := s.MarkDelivered(ctx, rows[0], nil, now); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second mark: %v", err)
		}
		if _, err := store.RefOf(ctx, s.DB, rows[0].ID); err != nil {
			t.Fatal(err)
		}
		// The ref of a failed mark (rolled back) is not left behind.
		if refs, _ := store.RefsOfOwner(ctx, s.DB, "incident:1"); len(refs) != 1 {
			t.Fatalf("refs %+v", refs)
		}
		heads, _ = store.OutboxHeads(ctx, s.DB)
		if len(heads) != 2 || heads[0].ID != rows[1].ID || heads[1].ID != rows[2].ID {
			t.Fatalf("heads after delivery %+v", heads)
		}
		first, err := store.FirstPosts(ctx, s.DB, "incident:1")
		if err != nil || first["a"] != rows[0].ID || first["b"] != rows[1].ID {
			t.Fatalf("first posts %v %v", first, err)
		}
		// Pruning the delivered row keeps its ref: later edits still find it.
		if _, err := s.Prune(ctx, store.RetentionPolicy{Outbox: time.Hour}, now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if first, _ = store.FirstPosts(ctx, s.DB, "incident:1"); first["a"] != rows[0].ID {
			t.Fatalf("first posts after prune %v", first)
		}
		if err := store.Park(ctx, s.DB, rows[1].ID, now, "channel_not_found"); err != nil {
			t.Fatal(err)
		}
		if n, _ := store.CountParked(ctx, s.DB); n != 1 {
			t.Fatalf("parked %d", n)
		}
		if n, _ := store.OutboxPending(ctx, s.DB); n != 1 {
			t.Fatalf("pending %d", n)
		}
	})
}

func TestAlertEpisodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		err := s.Tx(ctx, func(tx *sqlx.Tx) error {
			a := store.AlertRow{Fingerprint: "fp", Kind: "threshold", Rule: "cpu_high", Severity: "warning", StartedAt: store.T(now), LastSeenAt: store.T(now), Pending: store.PendingGroup, RouteAt: store.T(now.Add(30 * time.Second))}
			if err := store.InsertAlert(ctx, tx, &a); err != nil {
				return err
			}
			if end, open, err := store.OpenGroupWindow(ctx, tx, now); err != nil || !open || !end.Equal(now.Add(30*time.Second)) {
				t.Errorf("window %v %v %v", end, open, err)
			}
			if due, _ := store.DueAlerts(ctx, tx, now.Add(29*time.Second)); len(due) != 0 {
				t.Errorf("due early: %+v", due)
			}
			if due, _ := store.DueAlerts(ctx, tx, now.Add(30*time.Second)); len(due) != 1 {
				t.Errorf("not due: %+v", due)
			}
			if err := store.MarkRouted(ctx, tx, []int64{a.ID}, now.Add(30*time.Second)); err != nil {
				return err
			}
			if err := store.AckAlert(ctx, tx, a.ID, "alice", now); err != nil {
				return err
			}
			if err := store.AckAlert(ctx, tx, a.ID, "bob", now); !errors.Is(err, store.ErrAlreadyAcked) {
				t.Errorf("second ack: %v", err)
			}
			if err := store.AckAlert(ctx, tx, 999, "bob", now); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("ack of unknown: %v", err)
			}
			if err := store.ResolveAlert(ctx, tx, a.ID, now.Add(time.Minute)); err != nil {
				return err
			}
			if _, err := store.FiringAlert(ctx, tx, "fp"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("resolved alert still firing: %v", err)
			}
			got, err := store.LatestAlert(ctx, tx, "fp")
			if err != nil || got.AckedBy != "alice" || got.Duration(now.Add(time.Hour)) != time.Minute {
				t.Errorf("latest %+v %v", got, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
