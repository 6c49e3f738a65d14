package notifier_test

import (
	"context"
	"strings"
	"testing"

	"opsbot/alert"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// A down host mutes the service alerts its agent reported (label host) by
// default; another host's alerts are routed; when the host is back its
// alerts still firing are routed.
func TestHostDownInhibitsItsHostsAlertsByDefault(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.subscribe(t, "ops", "", "", "health", "threshold")
		hostDown := alert.Alert{Fingerprint: "host_down:web-2", Kind: "health", Rule: "host_down", Severity: "critical", Status: alert.Firing,
			Summary: "host web-2 down", Labels: map[string]string{"host": "web-2"}}
		if err := r.n.Source("fleet").Notify(ctx, hostDown); err != nil {
			t.Fatal(err)
		}
		svc := func(host string) alert.Alert {
			return alert.Alert{Fingerprint: "api_5xx@" + host, Kind: "threshold", Rule: "api_5xx", Target: "api", Severity: "warning", Status: alert.Firing,
				Summary: "[" + host + "] api 5xx 12% > 5%", Value: 12, Labels: map[string]string{"host": host}}
		}
		for _, h := range []string{"web-2", "web-1"} {
			if err := r.n.Source("agent:"+h).Notify(ctx, svc(h)); err != nil {
				t.Fatal(err)
			}
		}
		r.tick(t)
		r.clk.Advance(r.cfg.Notifier.GroupWait)
		r.drain(t)
		posts := p.posts("ops")
		if len(posts) != 1 {
			t.Fatalf("%d messages, want 1", len(posts))
		}
		got := text(posts[0].Last())
		if !strings.Contains(got, "host web-2 down") || !strings.Contains(got, "[web-1] api 5xx") || strings.Contains(got, "[web-2] api 5xx") {
			t.Fatalf("message: %s", got)
		}
		views, err := r.n.Alerts(ctx, notifier.AlertFilter{State: notifier.ShowInhibited, Limit: 50})
		if err != nil || len(views) != 1 {
			t.Fatalf("inhibited alerts: %d %v", len(views), err)
		}
		_, hist, err := r.n.History(ctx, views[0].ID)
		if err != nil || len(hist) != 2 || hist[1].State != "inhibited" || !strings.Contains(hist[1].Note, "host_down:web-2 (rule host_down)") {
			t.Fatalf("history %v %v", hist, err)
		}
		// The host is back; its agent's alert still fires: now it is routed.
		if err := r.n.Source("fleet").Notify(ctx, alert.Alert{Fingerprint: "host_down:web-2", Kind: "health", Status: alert.Resolved}); err != nil {
			t.Fatal(err)
		}
		r.tick(t)
		r.drain(t)
		r.clk.Advance(r.cfg.Notifier.GroupWait)
		r.drain(t)
		all := ""
		for _, m := range p.posts("ops") {
			all += text(m.Last()) + "\n"
		}
		if !strings.Contains(all, "[web-2] api 5xx") {
			t.Fatalf("web-2's alert not routed after the host came back:\n%s", all)
		}
		_, hist, _ = r.n.History(ctx, views[0].ID)
		if hist[len(hist)-1].State != notifier.ShowFiring {
			t.Fatalf("history after release: %v", hist)
		}
	})
}
