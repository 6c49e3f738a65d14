package paging_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/store"
	"opsbot/store/storetest"
)

// PagerDuty refuses the event (a routing key of the wrong length): the page
// is parked at once, not retried, and said once in the thread. The webhook
// answers 500 for ten minutes: retried with the shared backoff, parked after
// notifier.max_attempts, counted for /ops status, said once. The next step
// still happens at 15 min.
func TestPageFaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		ctx := context.Background()
		r.cfg.Secrets.Paging = map[string]config.Secret{"pd": "too-short", "hook": hookKey}
		r.hook.fail = func(int) int {
			if r.clk.Now().Before(t0.Add(15 * time.Minute)) {
				return http.StatusInternalServerError
			}
			return 0
		}
		r.fire(t, "api/down", "critical")
		r.pass(t)
		for d := 5 * time.Minute; d < 15*time.Minute; d += 10 * time.Second {
			r.at(d)
			r.pass(t)
		}
		th := r.thread(t)
		pdLine := "Page via pd to alice failed and was given up (pagerduty trigger: 400 Bad Request: " +
			`{"errors":["Length of 'routing_key' is incorrect (should be 32 characters)"],"message":"Event object is invalid","status":"invalid event"}). The next step still follows.`
		if count(th, pdLine) != 1 {
			t.Fatalf("PagerDuty's refusal not said once: %q", th)
		}
		if count(th, "Page via hook to alice failed and was given up (webhook trigger: 500 Internal Server Error). The next step still follows.") != 1 {
			t.Fatalf("the webhook's failure not said once: %q", th)
		}
		r.hook.mu.Lock()
		tries := r.hook.n
		r.hook.mu.Unlock()
		if tries != r.cfg.Notifier.MaxAttempts {
			t.Fatalf("webhook tried %d times, want %d (notifier.max_attempts)", tries, r.cfg.Notifier.MaxAttempts)
		}
		parked, err := r.n.Parked(ctx)
		if err != nil || parked != 2 {
			t.Fatalf("parked %d, %v; want 2 (shown in /ops status)", parked, err)
		}
		if len(r.pd.events()) != 0 {
			t.Fatalf("PagerDuty accepted %d events with a bad key", len(r.pd.events()))
		}

		// The next step still happens, and the webhook, healthy again, gets it.
		r.cfg.Secrets.Paging["pd"] = pdKey
		r.at(15 * time.Minute)
		r.pass(t)
		if hb := r.hook.bodies(); len(hb) != 1 || hb[0].Alert.Person != "bob" || hb[0].Alert.Step != 3 {
			t.Fatalf("step 3 through the webhook: %+v", hb)
		}
		if evs := r.pd.events(); len(evs) != 1 || evs[0].EventAction != "trigger" {
			t.Fatalf("step 3 through PagerDuty: %+v", evs)
		}
		if r.hook.bad != 0 {
			t.Fatalf("%d webhook calls had a bad signature", r.hook.bad)
		}
	})
}

// A webhook receiver's 4xx is permanent: one try, parked, said once. A
// forged signature is refused by a receiver that checks it.
func TestWebhook4xxIsPermanent(t *testing.T) {
	st := storetest.SQLite(t)
	r := newRig(t, st)
	r.cfg.Secrets.Paging["hook"] = "a-different-key" // the receiver refuses the signature with 401
	r.fire(t, "api/down", "critical")
	r.pass(t)
	r.at(5 * time.Minute)
	r.pass(t)
	r.at(6 * time.Minute)
	r.pass(t)
	if r.hook.bad != 1 || len(r.hook.bodies()) != 0 {
		t.Fatalf("forged calls %d (want 1), accepted %d", r.hook.bad, len(r.hook.bodies()))
	}
	th := r.thread(t)
	if count(th, "Page via hook to alice failed and was given up (webhook trigger: 401 Unauthorized: bad signature)") != 1 {
		t.Fatalf("thread: %q", th)
	}
	for _, l := range th {
		if strings.Contains(l, "a-different-key") || strings.Contains(l, pdKey) {
			t.Fatalf("a secret reached the thread: %q", l)
		}
	}
}
