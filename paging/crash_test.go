package paging_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// killAfterReceipt makes a receiver hold its answer to the first call it
// takes until the sender is gone, and tells got when it took it.
func killAfterReceipt(got chan<- struct{}) func(req *http.Request) {
	first := true
	return func(req *http.Request) {
		if !first {
			return
		}
		first = false
		got <- struct{}{}
		select {
		case <-req.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}
}

// crashDelivery runs the delivery until the receiver took a page, then
// kills it (its context ends) before it could mark the page delivered: the
// outbox row stays undelivered with its attempt recorded, as after a crash.
func (r *rig) crashDelivery(t *testing.T, got <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.n.Drain(ctx)
		done <- err
	}()
	select {
	case <-got:
	case err := <-done:
		t.Fatalf("delivery ended before the receiver took the page: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the receiver never got the page")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("killed delivery ended with %v", err)
	}
}

// restart is a new process on the same store: a fresh notifier and engine.
func (r *rig) restart() {
	r.n = notifier.New(r.st, r.router, func() *config.Config { return r.cfg }, r.log)
	r.n.Now = r.clk.Now
	r.n.Jitter = func() float64 { return 0 }
	r.eng = r.engine()
}

// A crash between a page's send and its mark: the receiver got it, the
// worker died before recording it. After the restart the page is sent
// again with the same dedup key and delivery id, so PagerDuty (its local
// stand-in deduplicates by dedup_key as PagerDuty does) opens one incident
// and a webhook receiver that drops repeats by X-Opsbot-Delivery acts once;
// every page row ends delivered and the thread says so once.
func TestPageCrashBetweenSendAndMark(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		ctx := context.Background()
		r.fire(t, "api/down", "critical")
		r.pass(t)
		r.at(5 * time.Minute)
		if err := r.eng.Tick(ctx); err != nil {
			t.Fatal(err)
		}

		got := make(chan struct{}, 1)
		r.pd.setAccepted(killAfterReceipt(got))
		r.crashDelivery(t, got)
		id := r.alertID(t, "api/down")
		row := func(integration string) store.OutboxRow {
			t.Helper()
			pages, err := store.PagesOf(ctx, st.DB, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pages {
				if p.Integration == integration && p.Action == chat.PageTrigger {
					o, err := store.OutboxByID(ctx, st.DB, p.OutboxID)
					if err != nil {
						t.Fatal(err)
					}
					return o
				}
			}
			t.Fatalf("no %s page", integration)
			return store.OutboxRow{}
		}
		if o := row("pd"); !o.DeliveredAt.IsZero() || o.Attempts != 1 {
			t.Fatalf("after the crash the pd page is delivered=%v attempts=%d, want undelivered after 1 attempt", !o.DeliveredAt.IsZero(), o.Attempts)
		}

		// Restarted: PagerDuty hears the trigger again; then it dies once
		// more, this time with the webhook's call taken.
		r.restart()
		r.pd.setAccepted(nil)
		got = make(chan struct{}, 1)
		r.hook.setAccepted(killAfterReceipt(got))
		r.crashDelivery(t, got)

		r.restart()
		r.hook.setAccepted(nil)
		r.pass(t)

		if len(r.pd.events()) != 2 {
			t.Fatalf("PagerDuty got %d events, want the trigger twice", len(r.pd.events()))
		}
		if opened, deduped := r.pd.incidents(); opened != 1 || deduped != 1 {
			t.Fatalf("PagerDuty opened %d incidents (deduplicated %d), want 1 (1)", opened, deduped)
		}
		ids := r.hook.deliveries()
		if len(ids) != 1 {
			t.Fatalf("webhook delivery ids %v, want one id", ids)
		}
		for k, n := range ids {
			if k == "" || n != 2 {
				t.Fatalf("webhook delivery ids %v, want one id received twice", ids)
			}
		}
		for _, in := range []string{"pd", "hook"} {
			if o := row(in); o.DeliveredAt.IsZero() || !o.ParkedAt.IsZero() {
				t.Fatalf("%s page row not delivered: %+v", in, o)
			}
		}
		th := r.thread(t)
		if count(th, "Page via pd to alice: delivered.") != 1 || count(th, "Page via hook to alice: delivered.") != 1 {
			t.Fatalf("thread after the crashes: %q", th)
		}
	})
}
