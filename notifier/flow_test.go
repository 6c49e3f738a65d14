package notifier_test

import (
	"opsbot/alert"

	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"opsbot/chat"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// One message per alert per channel while it fires, routed by kind and
// minimum severity; `subscriptions test` agrees with where it went.
func TestRoutingDedupAndSeverity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.subscribe(t, "ops", "", "", "threshold", "security")
		r.subscribe(t, "pager", "critical", "", "threshold")
		r.subscribe(t, "sec", "", "", "security")

		for i := 0; i < 3; i++ {
			r.notify(t, firing("cpu/api", "threshold", "cpu_high", "api", "warning", fmt.Sprintf("CPU %d%%", 90+i), float64(90+i)))
			r.clk.Advance(time.Minute)
			r.tick(t)
			r.drain(t)
		}
		r.notify(t, firing("login/1.2.3.4", "security", "login_failed_burst", "", "critical", "40 failed logins", 40))
		r.drain(t)

		if got := len(p.posts("ops")); got != 2 {
			t.Fatalf("ops got %d messages, want 2 (one per alert)", got)
		}
		if got := len(p.posts("pager")); got != 0 {
			t.Fatalf("pager (critical only) got %d warning messages", got)
		}
		sec := p.posts("sec")
		if len(sec) != 1 || !strings.Contains(sec[0].Last().Title, "login_failed_burst") {
			t.Fatalf("sec got %v", sec)
		}
		rec, err := r.n.Recipients(ctx, "threshold", "critical")
		if err != nil || len(rec) != 2 || rec[0].Channel != "ops" || rec[1].Channel != "pager" {
			t.Fatalf("recipients of critical threshold: %+v %v", rec, err)
		}
		rec, _ = r.n.Recipients(ctx, "threshold", "warning")
		if len(rec) != 1 || rec[0].Channel != "ops" {
			t.Fatalf("recipients of warning threshold: %+v", rec)
		}
		// Bad input changes nothing.
		if err := r.n.Subscribe(ctx, "ops", []string{"threshold", "weather"}, "", "", "x"); !errors.Is(err, notifier.ErrInvalid) || err.Error() != `unknown kind "weather" (want threshold, security, health, backup, incident, external)` {
			t.Fatalf("unknown kind: %v", err)
		}
		if _, err := r.n.Recipients(ctx, "weather", "warning"); !errors.Is(err, notifier.ErrInvalid) {
			t.Fatalf("recipients of unknown kind: %v", err)
		}
		if err := r.n.Subscribe(ctx, "new", []string{"backup"}, "fatal", "", "x"); !errors.Is(err, notifier.ErrInvalid) {
			t.Fatalf("bad severity: %v", err)
		}
		subs, _ := r.n.Subscriptions(ctx, "")
		if len(subs) != 4 {
			t.Fatalf("bad input stored something: %+v", subs)
		}
		if err := r.n.Notify(ctx, firing("x", "weather", "r", "", "warning", "", 0)); !errors.Is(err, notifier.ErrInvalid) {
			t.Fatalf("alert of unknown kind: %v", err)
		}
		removed, err := r.n.Unsubscribe(ctx, "ops", []string{"security", "backup"})
		if err != nil || len(removed) != 1 || removed[0] != "security" {
			t.Fatalf("unsubscribe: %v %v", removed, err)
		}
	})
}

// Repeat re-announces an unacknowledged alert each interval, mentioning
// the on-call on critical ones; an acknowledgement stops both and shows
// who took it.
func TestRepeatMentionsAndAck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.cfg.Notifier.Repeat = 4 * time.Hour
		r.subscribe(t, "ops", "", "@oncall", "health")
		r.notify(t, firing("health/api", "health", "health_down", "api", "critical", "api does not answer", 0))
		r.drain(t)
		posts := p.posts("ops")
		if len(posts) != 1 || strings.Join(posts[0].Last().Mentions, ",") != "@oncall" {
			t.Fatalf("first message: %+v", posts)
		}
		first := posts[0].Last()
		if len(first.Buttons) != 2+len(notifier.SilenceChoices) || first.Buttons[0].ID != notifier.AckAction || first.Buttons[1].ID != notifier.SilenceAction {
			t.Fatalf("no ack button: %+v", first.Buttons)
		}
		alertID := first.Buttons[0].Value

		r.clk.Advance(4*time.Hour - time.Second)
		r.tick(t)
		r.drain(t)
		if n := len(p.posts("ops")); n != 1 {
			t.Fatalf("repeated before the interval: %d", n)
		}
		r.clk.Advance(time.Second)
		r.tick(t)
		r.drain(t)
		posts = p.posts("ops")
		if len(posts) != 2 || !strings.HasPrefix(posts[1].Last().Title, "Still firing: health_down on api") || strings.Join(posts[1].Last().Mentions, ",") != "@oncall" {
			t.Fatalf("repeat: %s", text(posts[len(posts)-1].Last()))
		}

		msg, err := r.n.AckButton(ctx, "ops", alertID, "slack:U1 (alice)")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg.Context, "acknowledged by slack:U1 (alice)") || len(msg.Buttons) != 0 {
			t.Fatalf("button answer: %s", text(msg))
		}
		r.drain(t)
		for i, pm := range p.posts("ops") {
			last := pm.Last()
			if len(pm.Versions) != 2 || !strings.Contains(last.Context, "acknowledged by slack:U1 (alice)") || len(last.Buttons) != 0 || len(last.Mentions) != 0 {
				t.Fatalf("message %d after ack: %d versions, %s", i, len(pm.Versions), text(last))
			}
		}
		if _, err := r.n.AckButton(ctx, "ops", alertID, "slack:U2"); !errors.Is(err, notifier.ErrInvalid) || !strings.Contains(err.Error(), "already acknowledged by slack:U1 (alice)") {
			t.Fatalf("second ack: %v", err)
		}
		if _, err := r.n.Ack(ctx, 999, "x"); !errors.Is(err, notifier.ErrInvalid) {
			t.Fatalf("ack of unknown alert: %v", err)
		}
		r.clk.Advance(9 * time.Hour)
		r.tick(t)
		r.drain(t)
		if n := len(p.posts("ops")); n != 2 {
			t.Fatalf("repeated after ack: %d messages", n)
		}
	})
}

// While a target is in maintenance its health alerts are held; one that
// resolves meanwhile is never posted, one still firing after is.
func TestMaintenanceHoldsHealthAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		// Without the default inhibition: health_down on api would mute
		// cpu_high on api (TestTargetDownInhibitsItsAlerts).
		off := false
		r.cfg.Routing.DefaultInhibitions = &off
		r.subscribe(t, "ops", "", "", "health", "threshold")
		until := r.clk.Now().Add(3 * time.Minute)
		if err := st.PutState(ctx, "maintenance:api", map[string]int64{"until": until.UnixMilli()}, r.clk.Now()); err != nil {
			t.Fatal(err)
		}
		r.notify(t,
			firing("health/api/a", "health", "health_down", "api", "critical", "down during restart", 0),
			firing("health/web", "health", "health_down", "web", "critical", "web is down", 0),
			firing("cpu/api", "threshold", "cpu_high", "api", "warning", "cpu", 90))
		r.drain(t)
		if got := len(p.posts("ops")); got != 1 || !strings.Contains(p.posts("ops")[0].Last().Text, "web is down") {
			t.Fatalf("during maintenance: %d posts", got)
		}
		if !strings.Contains(p.posts("ops")[0].Last().Text, "cpu_high") || strings.Contains(p.posts("ops")[0].Last().Text, "health_down on api") {
			t.Fatalf("held the wrong alerts: %s", p.posts("ops")[0].Last().Text)
		}
		r.notify(t, firing("health/api/b", "health", "health_probe_slow", "api", "warning", "slow while restarting", 0))
		r.clk.Advance(time.Minute)
		r.notify(t, resolved("health/api/a"))
		r.clk.Advance(2 * time.Minute)
		r.tick(t)
		r.drain(t)
		posts := p.posts("ops")
		if len(posts) != 2 || posts[1].Last().Title != "health_probe_slow on api" {
			t.Fatalf("after maintenance: %d posts, last %s", len(posts), text(posts[len(posts)-1].Last()))
		}
		for _, pm := range posts {
			if strings.Contains(text(pm.Last()), "down during restart") {
				t.Fatalf("resolved-in-maintenance alert was posted: %s", text(pm.Last()))
			}
		}
	})
}

// Silenced alerts are recorded, not posted; the silence ends by itself and
// a still-firing alert is posted then; a message sent before the silence is
// still resolved in place.
func TestSilences(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.subscribe(t, "ops", "", "", "threshold")

		r.notify(t, firing("disk/db", "threshold", "disk_high", "db", "warning", "disk 91%", 91))
		r.drain(t)
		before := p.posts("ops")
		if len(before) != 1 {
			t.Fatalf("posts %d", len(before))
		}

		for _, bad := range []struct{ m, d, want string }{
			{"target", "1h", `bad matcher "target": want e.g. target=api, severity!=warning, target=~"api.*" or rule!~"disk_.*"`},
			{"=api", "1h", `bad matcher "=api": want e.g. target=api, severity!=warning, target=~"api.*" or rule!~"disk_.*"`},
			{`target=~"api(("`, "1h", `bad matcher "target=~\"api((\"": want e.g. target=api, severity!=warning, target=~"api.*" or rule!~"disk_.*"`},
			{`target=~".*"`, "1h", `matchers {target=~".*"} match every alert: name at least one label value`},
			{"severity=fatal", "1h", `bad matcher: unknown severity "fatal" (want warning, critical)`},
			{"target=api", "-1h", `duration must be positive, got "-1h"`},
			{"target=api", "soon", `bad duration "soon": want e.g. 30m, 2h or 1d`},
			{"target=api", "400d", `duration "400d" is longer than 90 d`},
		} {
			d, err := notifier.ParseDuration(bad.d)
			if err == nil {
				_, err = r.n.Silence(ctx, bad.m, d, "why", "x")
			}
			if !errors.Is(err, notifier.ErrInvalid) || err.Error() != bad.want {
				t.Errorf("silence %s %s: %v, want %q", bad.m, bad.d, err, bad.want)
			}
		}
		if s, _ := r.n.Silences(ctx); len(s) != 0 {
			t.Fatalf("bad silences stored: %+v", s)
		}

		sil, err := r.n.Silence(ctx, "target=db", time.Hour, "migration", "slack:U1")
		if err != nil {
			t.Fatal(err)
		}
		sil2, err := r.n.Silence(ctx, "env=staging", 2*time.Hour, "staging rebuild", "slack:U1")
		if err != nil {
			t.Fatal(err)
		}
		r.notify(t, firing("cpu/db", "threshold", "cpu_high", "db", "warning", "cpu 90%", 90))
		staging := firing("cpu/stg", "threshold", "cpu_high", "stg", "warning", "cpu", 90)
		staging.Labels = map[string]string{"env": "staging"}
		r.notify(t, staging)
		r.clk.Advance(10 * time.Minute)
		r.notify(t, resolved("disk/db"))
		r.tick(t)
		r.drain(t)
		if got := len(p.posts("ops")); got != 1 {
			t.Fatalf("silenced alerts posted: %d", got)
		}
		if v := before[0].Last(); v.Severity != chat.SevResolved || len(before[0].Versions) != 2 || len(p.thread(before[0].ID)) != 1 {
			t.Fatalf("message sent before the silence not resolved: %s, %d replies", text(v), len(p.thread(before[0].ID)))
		}
		rows, _ := r.n.Firing(ctx, 10)
		if len(rows) != 2 || rows[0].SilenceID == nil || rows[1].SilenceID == nil || *rows[1].SilenceID != sil.ID || *rows[0].SilenceID != sil2.ID {
			t.Fatalf("silenced alerts not recorded with their silence: %+v", rows)
		}
		r.clk.Advance(50 * time.Minute) // the first silence expires by itself
		r.tick(t)
		r.drain(t)
		posts := p.posts("ops")
		if len(posts) != 2 || posts[1].Last().Title != "cpu_high on db" {
			t.Fatalf("after expiry: %d posts", len(posts))
		}
		if err := r.n.Unsilence(ctx, sil2.ID, "slack:U2"); err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		if posts = p.posts("ops"); len(posts) != 3 || posts[2].Last().Title != "cpu_high on stg" {
			t.Fatalf("after unsilence: %d posts", len(posts))
		}
		if err := r.n.Unsilence(ctx, sil2.ID, "x"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second unsilence: %v", err)
		}
	})
}

// Delivery retries with backoff, honours retry-after without counting it
// as a failure, parks after MaxAttempts or at once on a permanent error.
func TestDeliveryRetryAndPark(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		p.now = r.clk.Now
		r.cfg.Notifier.MaxAttempts = 3
		r.cfg.Notifier.RetryBase = time.Second
		r.cfg.Notifier.RetryMax = 4 * time.Second

		fails := map[string]int{"flaky": 2, "down": 100}
		limited := 0
		p.fail = func(op, ch string) error {
			switch ch {
			case "gone":
				return chat.Permanent(errors.New("channel_not_found"))
			case "slow":
				if limited < 5 {
					limited++
					return &chat.RetryAfterError{After: 7 * time.Second, Err: errors.New("429")}
				}
			}
			if fails[ch] > 0 {
				fails[ch]--
				return errors.New("502 bad gateway")
			}
			return nil
		}
		for _, ch := range []string{"flaky", "down", "gone", "slow"} {
			if err := r.n.Send(ctx, ch, "incident:1", chat.Message{Title: "hello " + ch}); err != nil {
				t.Fatal(err)
			}
		}
		next, err := r.n.Drain(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// flaky and down failed once (backoff base 1s × jitter 0.5), slow asked for 7s.
		if want := r.clk.Now().Add(500 * time.Millisecond); !next.Equal(want) {
			t.Fatalf("next due %v, want %v", next, want)
		}
		if n, _ := r.n.Parked(ctx); n != 1 {
			t.Fatalf("parked %d, want 1 (permanent failure)", n)
		}
		for i := 0; i < 60; i++ {
			r.clk.Advance(time.Second)
			r.drain(t)
		}
		if len(p.posts("flaky")) != 1 || len(p.posts("slow")) != 1 || len(p.posts("down")) != 0 || len(p.posts("gone")) != 0 {
			t.Fatalf("delivered: flaky %d slow %d down %d gone %d", len(p.posts("flaky")), len(p.posts("slow")), len(p.posts("down")), len(p.posts("gone")))
		}
		if n, _ := r.n.Parked(ctx); n != 2 {
			t.Fatalf("parked %d, want 2", n)
		}
		parked, _ := store.ParkedOutbox(ctx, st.DB, 10)
		if parked[0].Channel != "down" || parked[0].Failures != 3 || parked[0].LastError != "502 bad gateway" {
			t.Fatalf("parked row: %+v", parked[0])
		}
		if p.posts("slow")[0].Key == "" {
			t.Fatal("message carried no idempotency key")
		}
	})
}

// After an attempt whose outcome is unknown, the worker asks the platform
// for the key before sending again: one message, not two.
func TestResendLooksUpKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, finder{p})
		p.now = r.clk.Now
		lost := true
		p.afterPost = func(m *fmsg) error {
			if lost {
				lost = false
				return errors.New("read tcp: connection reset") // landed, answer lost
			}
			return nil
		}
		if err := r.n.Send(ctx, "ops", "incident:7", chat.Message{Title: "incident 7 opened"}); err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		r.clk.Advance(time.Minute)
		r.drain(t)
		if got := len(p.posts("ops")); got != 1 {
			t.Fatalf("%d messages after a resend, want 1", got)
		}
		if pend, _ := r.n.Pending(ctx); pend != 0 {
			t.Fatalf("%d still pending", pend)
		}
		if err := r.n.Reply(ctx, "incident:7", chat.Message{Text: "stage: mitigating"}); err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		if th := p.thread(p.posts("ops")[0].ID); len(th) != 1 || th[0].Last().Text != "stage: mitigating" {
			t.Fatalf("reply not in the thread found again: %v", th)
		}
	})
}

// chat.Outbox for incidents and scheduled jobs: Send, Update edits the first
// message, Reply threads under it, and "alert:<fingerprint>" threads under
// the message that carried the alert.
func TestOutboxOwners(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.subscribe(t, "ops", "", "", "health")
		r.subscribe(t, "pager", "critical", "", "health")
		var hooked []string
		r.n.OnAlert(func(ctx context.Context, a alert.Alert) { hooked = append(hooked, a.Fingerprint+"/"+a.Severity) })

		var ob chat.Outbox = r.n
		if err := ob.Send(ctx, "inc", "incident:7", chat.Message{Title: "Incident 7"}); err != nil {
			t.Fatal(err)
		}
		// Edits and replies queued before the post went out still find it.
		if err := ob.Update(ctx, "incident:7", chat.Message{Title: "Incident 7 (mitigating)"}); err != nil {
			t.Fatal(err)
		}
		if err := ob.Update(ctx, "incident:7", chat.Message{Title: "Incident 7 (resolved)"}); err != nil {
			t.Fatal(err)
		}
		if err := ob.Reply(ctx, "incident:7", chat.Message{Text: "note"}); err != nil {
			t.Fatal(err)
		}
		r.notify(t, firing("health/api", "health", "health_down", "api", "critical", "down", 0))
		if err := ob.Reply(ctx, "alert:health/api", chat.Message{Text: "restarting api (1 of 3)"}); err != nil {
			t.Fatal(err)
		}
		if err := ob.Reply(ctx, "alert:unknown", chat.Message{Text: "nowhere"}); err != nil {
			t.Fatal(err)
		}
		r.drain(t)
		inc := p.posts("inc")
		if len(inc) != 1 || len(inc[0].Versions) != 2 || inc[0].Last().Title != "Incident 7 (resolved)" {
			t.Fatalf("incident message: %d posts, versions %v", len(inc), inc[0].Versions)
		}
		if th := p.thread(inc[0].ID); len(th) != 1 || th[0].Last().Text != "note" {
			t.Fatalf("incident thread %v", th)
		}
		for _, ch := range []string{"ops", "pager"} {
			ps := p.posts(ch)
			if len(ps) != 1 {
				t.Fatalf("%s: %d posts", ch, len(ps))
			}
			if th := p.thread(ps[0].ID); len(th) != 1 || th[0].Last().Text != "restarting api (1 of 3)" {
				t.Fatalf("%s: remediation reply not in the alert's thread: %v", ch, th)
			}
		}
		if strings.Join(hooked, ",") != "health/api/critical" {
			t.Fatalf("OnAlert saw %v", hooked)
		}
	})
}
