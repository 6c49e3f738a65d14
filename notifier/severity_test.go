package notifier_test

import (
	"opsbot/alert"

	"context"
	"strings"
	"testing"
	"time"

	"opsbot/chat"
	"opsbot/store"
	"opsbot/store/storetest"
)

// A finding whose severity rises under the same fingerprint is not a
// duplicate: its message is edited in place to the new severity, a reply in
// its thread pages the on-call, channels that take only critical alerts get
// it now, and the escalation hook sees it; a fall is an edit only.
func TestSeverityChangeUpdatesTheMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.subscribe(t, "ops", "", "@oncall", "security")
		r.subscribe(t, "pager", "critical", "", "security")
		var escalated, announced []string
		r.n.OnEscalate(func(_ context.Context, a alert.Alert) { escalated = append(escalated, a.Fingerprint+"/"+a.Severity) })
		r.n.OnAlert(func(_ context.Context, a alert.Alert) { announced = append(announced, a.Fingerprint+"/"+a.Severity) })

		tls := firing("tls/api", "security", "tls_expiry", "api", "warning", "certificate expires in 10 days", 10)
		r.notify(t, tls)
		r.drain(t)
		ops := p.posts("ops")
		if len(ops) != 1 || ops[0].Last().Severity != chat.SevWarning || len(ops[0].Last().Mentions) != 0 || len(p.posts("pager")) != 0 {
			t.Fatalf("first: ops %d pager %d", len(ops), len(p.posts("pager")))
		}

		r.clk.Advance(time.Hour)
		tls.Severity, tls.Summary, tls.Value = "critical", "certificate expires in 2 days", 2
		r.notify(t, tls)
		r.drain(t)
		ops = p.posts("ops")
		if len(ops) != 1 {
			t.Fatalf("escalation posted a second message in ops: %d", len(ops))
		}
		last := ops[0].Last()
		if len(ops[0].Versions) != 2 || last.Severity != chat.SevCritical || !strings.Contains(text(last), "Severity=critical") || !strings.Contains(last.Text, "2 days") {
			t.Fatalf("ops message not edited to critical: %d versions, %s", len(ops[0].Versions), text(last))
		}
		th := p.thread(ops[0].ID)
		if len(th) != 1 || th[0].Last().Title != "Now critical: tls_expiry on api" || th[0].Last().Severity != chat.SevCritical ||
			strings.Join(th[0].Last().Mentions, ",") != "@oncall" || !strings.Contains(th[0].Last().Text, "rose from warning to critical") {
			t.Fatalf("ops thread: %v", th)
		}
		pager := p.posts("pager")
		if len(pager) != 1 || pager[0].Last().Title != "tls_expiry on api" || pager[0].Last().Severity != chat.SevCritical {
			t.Fatalf("pager did not get the critical alert: %v", pager)
		}
		if strings.Join(escalated, ",") != "tls/api/critical" || strings.Join(announced, ",") != "tls/api/warning" {
			t.Fatalf("hooks: escalated %v, announced %v", escalated, announced)
		}
		row, err := store.LatestAlert(ctx, st.DB, "tls/api")
		if err != nil || row.Severity != "critical" || row.State != store.AlertFiring {
			t.Fatalf("stored %+v %v", row, err)
		}

		// The same again: a duplicate, nothing new.
		before := p.count()
		r.notify(t, tls)
		r.drain(t)
		if p.count() != before || len(ops[0].Versions) != 2 {
			t.Fatalf("duplicate changed something: %d → %d messages, %d versions", before, p.count(), len(ops[0].Versions))
		}

		// A fall: edited in both channels, no reply, no page.
		tls.Severity = "warning"
		r.notify(t, tls)
		r.drain(t)
		if p.count() != before || ops[0].Last().Severity != chat.SevWarning || pager[0].Last().Severity != chat.SevWarning {
			t.Fatalf("fall: %d messages (was %d), ops %s, pager %s", p.count(), before, text(ops[0].Last()), text(pager[0].Last()))
		}
		if len(escalated) != 1 {
			t.Fatalf("a fall called the escalation hook: %v", escalated)
		}

		// Resolved in place in both channels, with a reply in each thread.
		r.notify(t, resolved("tls/api"))
		r.drain(t)
		for _, pm := range []*fmsg{ops[0], pager[0]} {
			if pm.Last().Severity != chat.SevResolved {
				t.Fatalf("%s not resolved: %s", pm.Channel, text(pm.Last()))
			}
			if th := p.thread(pm.ID); th[len(th)-1].Last().Title != "Resolved: tls_expiry on api" {
				t.Fatalf("%s thread: %v", pm.Channel, th)
			}
		}
	})
}

// An alert silenced for its warning severity is looked at again when it
// turns critical; an acknowledged alert that rises pages nobody.
func TestSeverityChangeSilencedAndAcked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.subscribe(t, "ops", "", "@oncall", "security", "external")
		if _, err := r.n.Silence(ctx, "severity=warning", time.Hour, "quiet warnings", "slack:U1"); err != nil {
			t.Fatal(err)
		}
		burst := firing("login/1.2.3.4", "security", "login_failed_ip", "", "warning", "12 failed logins", 12)
		r.notify(t, burst)
		r.drain(t)
		if n := len(p.posts("ops")); n != 0 {
			t.Fatalf("silenced warning posted: %d", n)
		}
		burst.Severity = "critical"
		r.notify(t, burst)
		r.drain(t)
		if ps := p.posts("ops"); len(ps) != 1 || ps[0].Last().Severity != chat.SevCritical || strings.Join(ps[0].Last().Mentions, ",") != "@oncall" {
			t.Fatalf("critical alert still silenced by a warning silence: %d posts", len(ps))
		}

		// Acknowledged, then risen: the message shows it, nobody is paged.
		r.clk.Advance(2 * time.Hour) // past the warning silence
		r.tick(t)
		warn := firing("am:3", "external", "Latency", "api", "warning", "p99 1.9s", 1.9)
		r.notify(t, warn)
		r.drain(t)
		ps := p.posts("ops")
		msg := ps[len(ps)-1]
		if msg.Last().Title != "Latency on api" {
			t.Fatalf("latency alert: %s", text(msg.Last()))
		}
		row, _ := store.LatestAlert(ctx, st.DB, "am:3")
		if _, err := r.n.Ack(ctx, row.ID, "slack:U2 (bob)"); err != nil {
			t.Fatal(err)
		}
		warn.Severity = "critical"
		r.notify(t, warn)
		r.drain(t)
		th := p.thread(msg.ID)
		if len(th) != 1 || len(th[0].Last().Mentions) != 0 || msg.Last().Severity != chat.SevCritical || !strings.Contains(msg.Last().Context, "acknowledged by slack:U2 (bob)") {
			t.Fatalf("acked rise: thread %v, message %s", th, text(msg.Last()))
		}
	})
}
