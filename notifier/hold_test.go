package notifier_test

import (
	"context"
	"testing"
	"time"

	"opsbot/ops"
	"opsbot/store"
	"opsbot/store/storetest"
)

// An action holds its target for its longest possible run; when it ends
// sooner (and its window is cut to its end plus the grace), a health alert
// still firing is posted then, not at the end of the longest run.
func TestHoldEndsWithTheAction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.subscribe(t, "ops", "", "", "health")
		acts := ops.NewActions(st, nil)
		acts.Now = r.clk.Now
		const longest = 10 * time.Minute
		err := acts.Guard(ctx, "api", "restart", "slack:U1", longest, func(context.Context) error {
			r.notify(t, firing("health/api", "health", "health_down", "api", "critical", "api does not answer", 0))
			r.drain(t)
			if n := len(p.posts("ops")); n != 0 {
				t.Fatalf("posted during the restart: %d", n)
			}
			r.clk.Advance(30 * time.Second)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		grace := time.Duration(ops.MaintenanceGrace) * time.Millisecond
		r.clk.Advance(grace - time.Second)
		r.tick(t)
		r.drain(t)
		if n := len(p.posts("ops")); n != 0 {
			t.Fatalf("posted within the grace: %d", n)
		}
		r.clk.Advance(time.Second)
		r.tick(t)
		r.drain(t)
		if ps := p.posts("ops"); len(ps) != 1 || ps[0].Last().Title != "health_down on api" {
			t.Fatalf("after the action and its grace: %d posts", len(ps))
		}
	})
}
