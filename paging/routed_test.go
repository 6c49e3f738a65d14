package paging_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/config"
	"opsbot/store"
	"opsbot/store/storetest"
)

// A routing receiver names the escalation policy of the alerts routed to
// it: routing decides, paging executes. A policy a receiver names is not
// picked by its severity for other alerts; those keep the shorthand.
func TestRouteReceiverNamesThePolicy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		ctx := context.Background()
		r.cfg.Routing = config.Routing{
			Receivers: []config.Receiver{{Name: "db-oncall", Channels: []string{"slack:C0ALERT"}, PagingPolicy: "db"}},
			Route:     config.Route{Routes: []config.Route{{Receiver: "db-oncall", Matchers: []string{`team="db"`}}}},
		}
		r.cfg.Paging.Policies = append([]config.EscalationPolicy{{Name: "db", Steps: []config.Step{{After: 0, People: []string{"bob"}, Via: []string{"pd"}}}}},
			r.cfg.Paging.Policies...)
		if probs := r.cfg.Validate(); len(probs) > 0 {
			t.Fatalf("config: %v", probs)
		}
		if err := r.n.Notify(ctx, alert.Alert{Fingerprint: "db/slow", Kind: "threshold", Rule: "db_latency", Target: "db",
			Severity: "warning", Summary: "db is slow", Labels: map[string]string{"team": "db"}}); err != nil {
			t.Fatal(err)
		}
		r.fire(t, "api/down", "critical")
		r.pass(t)
		r.at(time.Minute)
		r.pass(t)
		evs := r.pd.events()
		if len(evs) != 1 || evs[0].DedupKey != "db/slow" {
			t.Fatalf("PagerDuty got %+v, want the db alert's trigger only", evs)
		}
		for fp, want := range map[string]string{"db/slow": "db", "api/down": "critical"} {
			esc, err := store.EscalationOf(ctx, st.DB, r.alertID(t, fp))
			if err != nil || esc.Policy != want {
				t.Fatalf("%s escalated by %q (%v), want %q", fp, esc.Policy, err, want)
			}
		}
		// A receiver naming a policy that does not exist is a config error.
		r.cfg.Routing.Receivers[0].PagingPolicy = "dba"
		probs := r.cfg.Validate()
		if !strings.Contains(probs.Error(), `routing.receivers[0].paging_policy: unknown paging policy "dba" (not in paging.policies)`) {
			t.Fatalf("config check: %v", probs)
		}
	})
}
