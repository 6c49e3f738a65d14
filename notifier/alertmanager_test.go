package notifier_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"opsbot/alert"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

const amFiring = `{"version":"4","groupKey":"{}:{alertname=\"HighLatency\"}","truncatedAlerts":0,"status":"firing","receiver":"opsbot",
"groupLabels":{"alertname":"HighLatency"},"commonLabels":{"alertname":"HighLatency"},"commonAnnotations":{},"externalURL":"http://am:9093",
"alerts":[{"status":"firing","labels":{"alertname":"HighLatency","instance":"api:8000","severity":"critical"},
"annotations":{"summary":"p99 latency 3.2s"},"startsAt":"2026-11-25T09:58:00Z","endsAt":"0001-01-01T00:00:00Z",
"generatorURL":"http://prom/graph","fingerprint":"c0ffee"}]}`

func TestAlertmanagerWebhook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.cfg.Secrets.AlertmanagerToken = "am-token-123"
		r.subscribe(t, "ops", "", "", "external")
		srv := httptest.NewServer(r.n.AlertmanagerHandler())
		defer srv.Close()
		post := func(body, token string) int {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		bad := []string{
			`{"version":"4","alerts":[`,
			`not json`,
			`{"version":"3","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2026-11-25T09:58:00Z"}]}`,
			`{"version":"4","status":"firing","alerts":[]}`,
			`{"version":"4","status":"firing","alerts":[{"status":"burning","labels":{"a":"b"},"startsAt":"2026-11-25T09:58:00Z"}]}`,
			`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{},"startsAt":"2026-11-25T09:58:00Z"}]}`,
			`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"yesterday"}]}`,
			// One good alert and one bad: nothing of it is stored.
			`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2026-11-25T09:58:00Z"},{"status":"firing","labels":{"a":"c"}}]}`,
		}
		for _, b := range bad {
			if code := post(b, "am-token-123"); code != http.StatusBadRequest {
				t.Errorf("malformed %q: %d, want 400", b, code)
			}
		}
		if code := post(amFiring, "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("wrong token: %d", code)
		}
		if code := post(amFiring, ""); code != http.StatusUnauthorized {
			t.Fatalf("no token: %d", code)
		}
		if rows, _ := store.ListAlerts(ctx, st.DB, "", 10); len(rows) != 0 {
			t.Fatalf("refused requests stored %d alerts", len(rows))
		}
		if code := post(amFiring, "am-token-123"); code != http.StatusOK {
			t.Fatalf("good payload: %d", code)
		}
		r.drain(t)
		rows, _ := store.ListAlerts(ctx, st.DB, "", 10)
		if len(rows) != 1 || rows[0].Fingerprint != "am:c0ffee" || rows[0].Kind != "external" || rows[0].Rule != "am:HighLatency" ||
			rows[0].Target != "api:8000" || rows[0].Severity != "critical" || rows[0].State != "firing" {
			t.Fatalf("stored %+v", rows)
		}
		ps := p.posts("ops")
		if len(ps) != 1 || ps[0].Last().Title != "HighLatency on api:8000" || ps[0].Last().Text != "p99 latency 3.2s" {
			t.Fatalf("posted %v", ps)
		}
		res := strings.NewReplacer(`"status":"firing"`, `"status":"resolved"`, `"endsAt":"0001-01-01T00:00:00Z"`, `"endsAt":"2026-11-25T10:00:00Z"`).Replace(amFiring)
		if code := post(res, "am-token-123"); code != http.StatusOK {
			t.Fatalf("resolved payload: %d", code)
		}
		r.drain(t)
		if ps[0].Last().Severity != chat.SevResolved || len(p.thread(ps[0].ID)) != 1 {
			t.Fatalf("not resolved in place: %s", text(ps[0].Last()))
		}
		if !strings.Contains(text(ps[0].Last()), "Duration=2 min") {
			t.Fatalf("duration from startsAt to endsAt: %s", text(ps[0].Last()))
		}
	})
}

// An Alertmanager alert named like one of opsbot's rules with a
// remediation (memory_high flushes Redis).
const amMemoryHigh = `{"version":"4","status":"firing","receiver":"opsbot","alerts":[{"status":"firing",
"labels":{"alertname":"memory_high","instance":"api-1:8000","severity":"critical"},"annotations":{"summary":"memory 97%"},
"startsAt":"2026-11-25T09:58:00Z","fingerprint":"feed"}]}`

func amPost(t *testing.T, url, body, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The webhook is closed by default: with no token it answers 404 to
// anyone and says why in the log once; with a token, a missing or wrong
// one gets 401. Either way nothing is stored, routed or queued. With the
// right token the alert is stored and routed under a rule name that
// cannot be one of opsbot's own (am:memory_high), and no action is mapped
// to it.
func TestWebhookClosedByDefault(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		var logs bytes.Buffer
		cfg := config.Default()
		cfg.Notifier.GroupWait = 0
		n := notifier.New(st, p, func() *config.Config { return cfg }, slog.New(slog.NewTextHandler(&logs, nil)))
		if err := n.Subscribe(ctx, "ops", []string{"external"}, "", "", "test"); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(n.AlertmanagerHandler())
		defer srv.Close()
		nothingStored := func(what string) {
			t.Helper()
			if rows, _ := store.ListAlerts(ctx, st.DB, "", 10); len(rows) != 0 {
				t.Fatalf("%s: %d alerts stored", what, len(rows))
			}
			if pend, _ := n.Pending(ctx); pend != 0 {
				t.Fatalf("%s: %d notifications queued", what, pend)
			}
			if waiting, applied, _ := store.InboxCounts(ctx, st.DB); waiting+applied != 0 {
				t.Fatalf("%s: %d observations in the inbox", what, waiting+applied)
			}
		}
		for _, tok := range []string{"", "guess"} {
			if code := amPost(t, srv.URL, amMemoryHigh, tok); code != http.StatusNotFound {
				t.Fatalf("no token configured, bearer %q: %d, want 404", tok, code)
			}
		}
		nothingStored("closed webhook")
		if got := strings.Count(logs.String(), "alertmanager webhook closed"); got != 1 || !strings.Contains(logs.String(), "no OPSBOT_ALERTMANAGER_TOKEN set") {
			t.Fatalf("log says why %d times, want once:\n%s", got, logs.String())
		}

		cfg.Secrets.AlertmanagerToken = "am-token-123"
		for _, tok := range []string{"", "wrong", "am-token-1234", "am-token-12"} {
			if code := amPost(t, srv.URL, amMemoryHigh, tok); code != http.StatusUnauthorized {
				t.Fatalf("bearer %q: %d, want 401", tok, code)
			}
		}
		nothingStored("wrong tokens")
		if code := amPost(t, srv.URL, amMemoryHigh, "am-token-123"); code != http.StatusOK {
			t.Fatalf("right token: %d", code)
		}
		if err := n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		rows, _ := store.ListAlerts(ctx, st.DB, "", 10)
		if len(rows) != 1 || rows[0].Rule != "am:memory_high" || rows[0].Kind != "external" {
			t.Fatalf("stored %+v, want one external alert with rule am:memory_high", rows)
		}
		if ps := p.posts("ops"); len(ps) != 1 || ps[0].Last().Title != "memory_high on api-1:8000" {
			t.Fatalf("routed %d posts", len(ps))
		}
		as, err := notifier.ParseAlertmanager([]byte(amMemoryHigh))
		if err != nil {
			t.Fatal(err)
		}
		if action, target, ok := notifier.MatchAction(cfg, as[0]); ok {
			t.Fatalf("unmapped external alert runs %s on %s", action, target)
		}
		if strings.Contains(logs.String(), "am-token-123") {
			t.Fatal("the token reached the log")
		}
	})
}

// alertmanager.allow_unauthenticated opens the webhook on a loopback
// listener only; configuration check refuses it elsewhere, and the handler
// stays closed even if such a configuration reaches it.
func TestWebhookUnauthenticatedOnLoopbackOnly(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	cfg := config.Default()
	cfg.Alertmanager.AllowUnauthenticated = true
	n := notifier.New(st, newPlatform(nil), func() *config.Config { return cfg }, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(n.AlertmanagerHandler())
	defer srv.Close()
	cfg.HTTP.Addr = "0.0.0.0:8080"
	if code := amPost(t, srv.URL, amMemoryHigh, ""); code != http.StatusNotFound {
		t.Fatalf("unauthenticated on 0.0.0.0: %d, want 404", code)
	}
	if rows, _ := store.ListAlerts(ctx, st.DB, "", 10); len(rows) != 0 {
		t.Fatalf("%d alerts stored", len(rows))
	}
	cfg.HTTP.Addr = "127.0.0.1:8080"
	if code := amPost(t, srv.URL, amMemoryHigh, ""); code != http.StatusOK {
		t.Fatalf("unauthenticated on loopback: %d, want 200", code)
	}
	if err := n.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if rows, _ := store.ListAlerts(ctx, st.DB, "", 10); len(rows) != 1 {
		t.Fatalf("%d alerts stored, want 1", len(rows))
	}
}

// The guide's Prometheus rule (up == 0 for 5m, labels severity: critical
// and action: restart) as Alertmanager posts it.
const amGuideRule = `{"version":"4","status":"firing","receiver":"opsbot","alerts":[{"status":"firing",
"labels":{"alertname":"ServiceAutoRestart","action":"restart","severity":"critical","job":"ai-tutor-api","instance":"10.0.0.12:8000"},
"annotations":{"summary":"服务自动重启","description":"up == 0 for 5m"},"startsAt":"2026-11-25T09:58:00Z"}]}`

func TestMatchAction(t *testing.T) {
	cfg := config.Default()
	for i := 1; i <= 3; i++ {
		cfg.Targets = append(cfg.Targets, config.Target{Name: fmt.Sprintf("api-%d", i), HealthURL: fmt.Sprintf("http://10.0.0.1%d:8000/health", i)})
	}
	cfg.Alertmanager.Actions = []config.AlertAction{
		{Alertname: "ServiceAutoRestart", Matchers: []string{`action="restart"`, `job=~"ai-tutor.*"`}, Action: "restart", TargetLabel: "instance"},
		{Alertname: "RedisMemoryHigh", Action: "cache_flush", Target: "api-1"},
		{Alertname: "DiskFull", Matchers: []string{`severity!="info"`, `mount!~"/boot.*"`}, Action: "cleanup", TargetLabel: "target"},
		{Alertname: "Unreachable", Action: "restart", Target: "api-9"},
	}
	guide, err := notifier.ParseAlertmanager([]byte(amGuideRule))
	if err != nil {
		t.Fatal(err)
	}
	if action, target, ok := notifier.MatchAction(cfg, guide[0]); !ok || action != "restart" || target != "api-2" {
		t.Fatalf("the guide's rule: %q %q %v, want restart api-2", action, target, ok)
	}
	ext := func(labels ...string) alert.Alert {
		a := alert.Alert{Kind: "external", Status: alert.Firing, Labels: map[string]string{}}
		for i := 0; i+1 < len(labels); i += 2 {
			a.Labels[labels[i]] = labels[i+1]
		}
		return a
	}
	restart := []string{"alertname", "ServiceAutoRestart", "action", "restart", "job", "ai-tutor"}
	with := func(base []string, more ...string) alert.Alert {
		return ext(append(append([]string{}, base...), more...)...)
	}
	resolved := with(restart, "instance", "api-1")
	resolved.Status = alert.Resolved
	own := with(restart, "instance", "api-1")
	own.Kind = "threshold"
	cases := []struct {
		name           string
		a              alert.Alert
		action, target string
	}{
		{"instance is a target name", with(restart, "instance", "api-1"), "restart", "api-1"},
		{"instance is a target name and port", with(restart, "instance", "api-3:9100"), "restart", "api-3"},
		{"instance is a health_url host:port", with(restart, "instance", "10.0.0.13:8000"), "restart", "api-3"},
		{"instance names no target", with(restart, "instance", "10.9.9.9:8000"), "", ""},
		{"no instance label", with(restart), "", ""},
		{"regexp is anchored", ext("alertname", "ServiceAutoRestart", "action", "restart", "job", "old-ai-tutor", "instance", "api-1"), "", ""},
		{"action label differs", ext("alertname", "ServiceAutoRestart", "action", "page", "job", "ai-tutor", "instance", "api-1"), "", ""},
		{"action label missing", ext("alertname", "ServiceAutoRestart", "job", "ai-tutor", "instance", "api-1"), "", ""},
		{"resolved alerts run nothing", resolved, "", ""},
		{"only external alerts", own, "", ""},
		{"a rule name of ours maps to nothing", ext("alertname", "memory_high", "instance", "api-1"), "", ""},
		{"fixed target", ext("alertname", "RedisMemoryHigh"), "cache_flush", "api-1"},
		{"not-equal and not-regexp hold", ext("alertname", "DiskFull", "severity", "warning", "mount", "/", "target", "api-2"), "cleanup", "api-2"},
		{"not-regexp refuses", ext("alertname", "DiskFull", "severity", "warning", "mount", "/boot/efi", "target", "api-2"), "", ""},
		{"not-equal refuses", ext("alertname", "DiskFull", "severity", "info", "mount", "/", "target", "api-2"), "", ""},
		{"fixed target no longer configured", ext("alertname", "Unreachable"), "", ""},
	}
	for _, c := range cases {
		action, target, ok := notifier.MatchAction(cfg, c.a)
		if ok != (c.action != "") || action != c.action || target != c.target {
			t.Errorf("%s: got %q %q %v, want %q %q", c.name, action, target, ok, c.action, c.target)
		}
	}
	// Off by default: the default configuration maps nothing.
	if _, _, ok := notifier.MatchAction(config.Default(), guide[0]); ok {
		t.Fatal("the default configuration runs an action for an external alert")
	}
}
