package notifier_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"opsbot/chat"
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
		if len(rows) != 1 || rows[0].Fingerprint != "am:c0ffee" || rows[0].Kind != "external" || rows[0].Rule != "HighLatency" ||
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
