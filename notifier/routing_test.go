package notifier_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// A target whose host is down: its ten service alerts are its consequences.
// One message (the host), the ten recorded as inhibited; when the host is
// back and the services still fail, they are posted.
func TestTargetDownInhibitsItsAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.subscribe(t, "ops", "", "", "health", "threshold")
		obs := []alert.Alert{firing("health_down:web1", "health", "health_down", "web1", "critical", "web1 does not answer", 0)}
		for i := range 10 {
			obs = append(obs, firing(fmt.Sprintf("svc%d/web1", i), "threshold", fmt.Sprintf("svc%d_high", i), "web1", "warning", "service failing", float64(i)))
		}
		// Another target's alert is not muted.
		obs = append(obs, firing("svc0/web2", "threshold", "svc0_high", "web2", "warning", "service failing", 1))
		r.notify(t, obs...)
		r.clk.Advance(r.cfg.Notifier.GroupWait)
		r.drain(t)
		posts := p.posts("ops")
		if len(posts) != 1 {
			t.Fatalf("host down + ten service alerts: %d messages, want 1", len(posts))
		}
		got := text(posts[0].Last())
		if !strings.Contains(got, "health_down on web1") || !strings.Contains(got, "svc0_high on web2") || strings.Contains(got, "svc3_high on web1") {
			t.Fatalf("message: %s", got)
		}
		views, err := r.n.Alerts(ctx, notifier.AlertFilter{State: notifier.ShowInhibited, Limit: 50})
		if err != nil || len(views) != 10 {
			t.Fatalf("inhibited alerts: %d %v", len(views), err)
		}
		_, hist, err := r.n.History(ctx, views[0].ID)
		if err != nil || len(hist) != 2 || hist[1].State != "inhibited" || !strings.Contains(hist[1].Note, "health_down:web1 (rule target_down)") {
			t.Fatalf("history %v %v", hist, err)
		}
		// Still down a minute later: still nothing more (the recheck).
		r.clk.Advance(2 * time.Minute)
		r.drain(t)
		if n := len(p.posts("ops")); n != 1 {
			t.Fatalf("inhibited alerts posted while the host is down: %d messages", n)
		}
		// The host is back; the services still fail: now they are news.
		r.notify(t, alert.Alert{Fingerprint: "health_down:web1", Kind: "health", Status: alert.Resolved})
		r.drain(t)
		posts = p.posts("ops")
		if len(posts) != 2 || !strings.Contains(text(posts[1].Last()), "10 alerts firing") {
			t.Fatalf("after the host came back: %d messages, last %s", len(posts), text(posts[len(posts)-1].Last()))
		}
		_, hist, _ = r.n.History(ctx, views[0].ID)
		if len(hist) != 3 || hist[2].State != notifier.ShowFiring {
			t.Fatalf("history after release: %v", hist)
		}
	})
}

// A route tree from the configuration: matchers, group_by, continue and a
// route's own repeat interval, with a subscription beside it.
func TestRouteTreeFromConfig(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.cfg.Routing = config.Routing{
			Receivers: []config.Receiver{
				{Name: "api", Channels: []string{"slack:CAPI"}, Oncall: "@api"},
				{Name: "all-critical", Channels: []string{"slack:CCRIT"}},
				{Name: "rest", Channels: []string{"slack:CREST"}},
			},
			Route: config.Route{Receiver: "rest", Routes: []config.Route{
				{Matchers: []string{`severity="critical"`}, Receiver: "all-critical", Continue: true, RepeatInterval: time.Hour},
				{Matchers: []string{`target=~"api.*"`}, Receiver: "api", GroupBy: []string{"target"}},
			}},
		}
		if probs := r.cfg.Routing.Check(); len(probs) > 0 {
			t.Fatal(probs)
		}
		r.subscribe(t, "ops", "critical", "", "threshold")
		r.notify(t,
			firing("cpu/api-1", "threshold", "cpu_high", "api-1", "critical", "cpu", 99),
			firing("mem/api-1", "threshold", "mem_high", "api-1", "warning", "mem", 91),
			firing("mem/api-2", "threshold", "mem_high", "api-2", "warning", "mem", 92),
			firing("disk/db", "threshold", "disk_high", "db", "warning", "disk", 93))
		r.drain(t)
		count := func(ch string) []string {
			var out []string
			for _, m := range p.posts(ch) {
				out = append(out, m.Last().Title)
			}
			return out
		}
		// api-1's two alerts are one group, api-2's another (group_by target).
		if got := count("slack:CAPI"); len(got) != 2 {
			t.Errorf("api channel: %q, want one message per target", got)
		}
		if got := count("slack:CCRIT"); len(got) != 1 || got[0] != "cpu_high on api-1" {
			t.Errorf("critical channel: %q", got)
		}
		if got := count("slack:CREST"); len(got) != 1 || got[0] != "disk_high on db" {
			t.Errorf("rest: %q (the root takes only what no route took)", got)
		}
		if got := count("ops"); len(got) != 1 || got[0] != "cpu_high on api-1" {
			t.Errorf("subscription: %q", got)
		}
		if m := p.posts("slack:CAPI"); len(m) == 2 && len(m[0].Last().Mentions)+len(m[1].Last().Mentions) != 1 {
			t.Errorf("on-call mentioned on %d messages, want the critical one", len(m[0].Last().Mentions)+len(m[1].Last().Mentions))
		}
		// The critical route repeats hourly; the others at notifier.repeat (4 h).
		before := p.count()
		r.clk.Advance(time.Hour + time.Minute)
		r.drain(t)
		if p.count() == before {
			t.Fatal("no repeat after the critical route's hour")
		}
		for _, ch := range []string{"slack:CREST"} {
			if len(p.posts(ch)) != 1 {
				t.Errorf("%s repeated before notifier.repeat", ch)
			}
		}
	})
}

// A silence set to start later lets alerts through until it starts.
func TestSilenceStartsInFuture(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.subscribe(t, "ops", "", "", "threshold")
		s, err := r.n.AddSilence(ctx, notifier.SilenceRequest{Matchers: []string{`target=~"db.*"`, `rule!="disk_full"`},
			Start: r.clk.Now().Add(time.Hour), Duration: 2 * time.Hour, Reason: "reindex tonight", By: "slack:U1"})
		if err != nil {
			t.Fatal(err)
		}
		if !s.StartsAt.Equal(r.clk.Now().Add(time.Hour)) {
			t.Fatalf("starts %s", s.StartsAt)
		}
		r.notify(t, firing("cpu/db1", "threshold", "cpu_high", "db1", "warning", "cpu", 90))
		r.drain(t)
		if len(p.posts("ops")) != 1 {
			t.Fatal("silenced before its start")
		}
		r.clk.Advance(90 * time.Minute)
		r.notify(t,
			firing("mem/db1", "threshold", "mem_high", "db1", "warning", "mem", 90),
			firing("disk/db1", "threshold", "disk_full", "db1", "critical", "disk", 99))
		r.drain(t)
		posts := p.posts("ops")
		if len(posts) != 2 || posts[1].Last().Title != "disk_full on db1" {
			t.Fatalf("during the silence: %d posts, last %q (only disk_full is not silenced)", len(posts), posts[len(posts)-1].Last().Title)
		}
		views, _ := r.n.Alerts(ctx, notifier.AlertFilter{State: notifier.ShowSilenced})
		if len(views) != 1 || views[0].Rule != "mem_high" {
			t.Fatalf("silenced: %+v", views)
		}
		_, hist, _ := r.n.History(ctx, views[0].ID)
		if len(hist) != 2 || hist[1].State != "silenced" || hist[1].Actor != "slack:U1" {
			t.Fatalf("history %v", hist)
		}
		r.clk.Advance(2 * time.Hour) // past its end (start + 2 h)
		r.drain(t)
		if posts := p.posts("ops"); len(posts) != 3 || posts[2].Last().Title != "mem_high on db1" {
			t.Fatalf("after the silence: %d posts", len(posts))
		}
	})
}

// The Silence button silences exactly the alert's labels, within the limit.
func TestSilenceButtonSilencesThatAlert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.subscribe(t, "ops", "", "", "threshold")
		a := firing("cpu/api", "threshold", "cpu_high", "api", "warning", "cpu", 90)
		a.Labels = map[string]string{"env": "prod"}
		r.notify(t, a)
		r.drain(t)
		first := p.posts("ops")[0].Last()
		var value string
		for _, b := range first.Buttons {
			if b.ID == notifier.SilenceAction && b.Label == "Silence 4h" {
				value = b.Value
			}
		}
		if value == "" {
			t.Fatalf("no Silence 4h button: %+v", first.Buttons)
		}
		if _, _, err := r.n.SilenceButton(ctx, "ops", value, "slack:U1", time.Hour); err == nil || !strings.Contains(err.Error(), "at most 1 h") {
			t.Fatalf("4h with a 1h limit: %v", err)
		}
		m, s, err := r.n.SilenceButton(ctx, "ops", value, "slack:U1", 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		want := `{alertname="cpu_high", env="prod", fingerprint="cpu/api", kind="threshold", rule="cpu_high", severity="warning", target="api"}`
		if s.Matcher != want || !s.EndsAt.Equal(r.clk.Now().Add(4*time.Hour)) || !strings.Contains(m.Context, "silenced 4 h by slack:U1") {
			t.Fatalf("silence %q until %s; context %q", s.Matcher, s.EndsAt, m.Context)
		}
		// Repeats of that alert stop; another alert on the target still posts.
		r.cfg.Notifier.Repeat = time.Hour
		r.clk.Advance(2 * time.Hour)
		r.notify(t, firing("mem/api", "threshold", "mem_high", "api", "warning", "mem", 90))
		r.drain(t)
		posts := p.posts("ops")
		if len(posts) != 2 || posts[1].Last().Title != "mem_high on api" {
			t.Fatalf("%d posts, last %q", len(posts), posts[len(posts)-1].Last().Title)
		}
	})
}

// A route's group_wait longer than notifier.group_wait holds its alerts
// longer; its group_interval makes an alert joining an announced group
// wait until the interval since the group's last message has passed.
func TestRouteGroupWaitAndInterval(t *testing.T) {
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
		r.clk.Advance(time.Minute)
		r.drain(t)
		if n := len(p.posts("slack:CDB")); n != 0 {
			t.Fatalf("posted before the route's group_wait: %d", n)
		}
		r.clk.Advance(time.Minute + time.Second)
		r.drain(t)
		if n := len(p.posts("slack:CDB")); n != 1 {
			t.Fatalf("after group_wait: %d messages", n)
		}
		// 2 min later another alert of the group: it waits for the interval.
		r.clk.Advance(2 * time.Minute)
		r.notify(t, firing("mem/db", "threshold", "mem_high", "db", "warning", "mem", 95))
		r.clk.Advance(3 * time.Minute) // its own group_wait has passed; 5 min since the message
		r.drain(t)
		if n := len(p.posts("slack:CDB")); n != 1 {
			t.Fatalf("posted within the group_interval: %d messages", n)
		}
		r.clk.Advance(5*time.Minute + time.Second) // 10 min since the group's message
		r.drain(t)
		posts := p.posts("slack:CDB")
		if len(posts) != 2 || posts[1].Last().Title != "mem_high on db" {
			t.Fatalf("after the group_interval: %d messages", len(posts))
		}
	})
}
