package notifier_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// group_interval holds across a change of leader: the new leader, with no
// memory of its own, reads when the group was announced from the store and
// holds back an alert joining it until the interval has passed.
func TestGroupIntervalSurvivesALeaderChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 30 * time.Second
		r.cfg.Routing = config.Routing{
			Receivers: []config.Receiver{{Name: "db", Channels: []string{"slack:CDB"}}},
			Route: config.Route{Routes: []config.Route{
				{Matchers: []string{`target="db"`}, Receiver: "db", GroupWait: 2 * time.Minute, GroupInterval: 10 * time.Minute},
			}},
		}
		r.notify(t, firing("cpu/db", "threshold", "cpu_high", "db", "warning", "cpu", 90))
		r.clk.Advance(2*time.Minute + time.Second)
		r.drain(t)
		if n := len(p.posts("slack:CDB")); n != 1 {
			t.Fatalf("first message: %d", n)
		}
		if m, err := store.RouteGroupsSince(context.Background(), st.DB, time.Time{}); err != nil || len(m) == 0 {
			t.Fatalf("group not recorded: %v %v", m, err)
		}
		// The leader is gone; another replica takes over with the same store.
		n2 := notifier.New(st, p, func() *config.Config { return r.cfg }, slog.New(slog.DiscardHandler))
		n2.Now, n2.Jitter = r.clk.Now, func() float64 { return 0 }
		r2 := &rig{n: n2, clk: r.clk, cfg: r.cfg, st: st}
		r.clk.Advance(2 * time.Minute)
		r2.notify(t, firing("mem/db", "threshold", "mem_high", "db", "warning", "mem", 95))
		r.clk.Advance(3 * time.Minute) // its own group_wait has passed; 5 min since the message
		r2.drain(t)
		if n := len(p.posts("slack:CDB")); n != 1 {
			t.Fatalf("the new leader posted within the group_interval: %d messages: %q", n, p.posts("slack:CDB")[n-1].Last().Title)
		}
		r.clk.Advance(5*time.Minute + time.Second) // 10 min since the group's message
		r2.drain(t)
		posts := p.posts("slack:CDB")
		if len(posts) != 2 || posts[1].Last().Title != "mem_high on db" {
			t.Fatalf("after the group_interval: %d messages", len(posts))
		}
	})
}
