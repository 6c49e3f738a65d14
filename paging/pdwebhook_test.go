package paging_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/store"
	"opsbot/store/storetest"
)

const pdWebhookSecret = "whsec-pd-subscription-0123456789"

// pdSender is a local stand-in for PagerDuty's webhook v3 deliveries: it
// builds the event body as PagerDuty documents it and signs it as
// PagerDuty does, X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw
// body with the subscription's secret>, computed here independently of the
// package under test.
type pdSender struct {
	url    string
	secret string
}

func (s pdSender) body(eventType, incidentKey, who string, at time.Time) []byte {
	status := strings.TrimPrefix(eventType, "incident.")
	ev := map[string]any{"event": map[string]any{
		"id": "01DEN3GMB0CM0LK9OE4KJ5WJ0X", "event_type": eventType, "resource_type": "incident",
		"occurred_at": at.UTC().Format("2006-01-02T15:04:05.000Z"),
		"agent":       map[string]any{"html_url": "https://acme.pagerduty.com/users/PLH1HKV", "id": "PLH1HKV", "self": "https://api.pagerduty.com/users/PLH1HKV", "summary": who, "type": "user_reference"},
		"client":      nil,
		"data": map[string]any{
			"id": "PGR0VU2", "type": "incident", "self": "https://api.pagerduty.com/incidents/PGR0VU2",
			"html_url": "https://acme.pagerduty.com/incidents/PGR0VU2", "number": 2, "status": status,
			"incident_key": incidentKey, "created_at": at.Add(-5 * time.Minute).UTC().Format(time.RFC3339),
			"title": "api is not responding", "urgency": "high",
			"service": map[string]any{"id": "PF9KMXH", "summary": "API Service", "type": "service_reference"},
		},
	}}
	b, _ := json.Marshal(ev)
	return b
}

func (s pdSender) send(t *testing.T, body []byte, signature string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "PagerDuty-Webhook/V3.0")
	req.Header.Set("X-Webhook-Id", "4d6a7a1e-9a3f-4c0b-8a29-0c1d2e3f4a5b")
	req.Header.Set("X-Webhook-Subscription", "PY1OQQR")
	if signature != "" {
		req.Header.Set("X-PagerDuty-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func pdSign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// An acknowledgement in PagerDuty acknowledges the alert: the escalation
// stops (no secondary page), the thread says who acked in PagerDuty, the
// webhook integration hears acknowledge, PagerDuty is not told back.
// Unsigned, forged and stale calls are refused with one line and change
// nothing; a redelivery and PagerDuty's echo change nothing either.
func TestPagerDutyAckFlowsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		r.cfg.Secrets.Paging[config.WebhookSecretKey("pd")] = pdWebhookSecret
		srv := httptest.NewServer(r.eng.PagerDutyWebhook(r.n))
		t.Cleanup(srv.Close)
		pd := pdSender{url: srv.URL, secret: pdWebhookSecret}

		r.fire(t, "api/down", "critical")
		r.pass(t)
		r.at(5 * time.Minute)
		r.pass(t)
		if got := strings.Join(r.pd.actions(), ","); got != "trigger" {
			t.Fatalf("PagerDuty actions %s, want trigger", got)
		}
		r.at(7 * time.Minute)
		now := r.clk.Now()
		id := r.alertID(t, "api/down")
		unchanged := func(what string) {
			t.Helper()
			a, err := store.AlertByID(t.Context(), st.DB, id)
			if err != nil {
				t.Fatal(err)
			}
			if a.AckedBy != "" {
				t.Fatalf("%s acknowledged the alert (by %q)", what, a.AckedBy)
			}
		}
		body := pd.body("incident.acknowledged", "api/down", "Jane Doe", now)

		for _, c := range []struct {
			name, sig string
			body      []byte
			code      int
			msg       string
		}{
			{"unsigned", "", body, 401, "unsigned: no X-PagerDuty-Signature header"},
			{"forged", pdSign("not-the-secret", body), body, 403, "bad signature: X-PagerDuty-Signature does not match the body"},
			{"altered", pdSign(pdWebhookSecret, body), bytes.Replace(body, []byte("Jane Doe"), []byte("Mallory"), 1), 403, "bad signature: X-PagerDuty-Signature does not match the body"},
			{"stale", "", pd.body("incident.acknowledged", "api/down", "Jane Doe", now.Add(-time.Hour)), 403, "stale event: occurred at 2026-03-04T02:07:00Z, more than 10m0s from now"},
		} {
			sig := c.sig
			if c.name == "stale" {
				sig = pdSign(pdWebhookSecret, c.body)
			}
			code, msg := pd.send(t, c.body, sig)
			if code != c.code || msg != c.msg {
				t.Fatalf("%s: %d %q, want %d %q", c.name, code, msg, c.code, c.msg)
			}
			unchanged(c.name)
		}

		// PagerDuty sends two signatures while a secret is rotated.
		code, msg := pd.send(t, body, pdSign("the-old-secret", body)+","+pdSign(pdWebhookSecret, body))
		if code != 200 || msg != "alert #1 acknowledged" {
			t.Fatalf("signed ack: %d %q", code, msg)
		}
		a, err := store.AlertByID(t.Context(), st.DB, id)
		if err != nil || a.AckedBy != "Jane Doe in PagerDuty" {
			t.Fatalf("alert acked by %q, %v", a.AckedBy, err)
		}
		// A redelivery, then PagerDuty's resolve: nothing more.
		if code, msg := pd.send(t, body, pdSign(pdWebhookSecret, body)); code != 200 || !strings.HasPrefix(msg, "ignored: already acknowledged") {
			t.Fatalf("redelivery: %d %q", code, msg)
		}
		r.pass(t)
		r.at(15 * time.Minute)
		r.pass(t)
		if got := strings.Join(r.pd.actions(), ","); got != "trigger" {
			t.Fatalf("PagerDuty actions %s: it must not be told back its own ack, nor paged for step 3", got)
		}
		if hb := r.hook.bodies(); len(hb) != 2 || hb[1].Action != "acknowledge" || hb[1].Alert.By != "Jane Doe in PagerDuty" {
			t.Fatalf("webhook got %+v", hb)
		}
		if n, _ := store.StepsTaken(t.Context(), st.DB, id); n != 2 {
			t.Fatalf("%d steps taken, want 2", n)
		}
		th := r.thread(t)
		if count(th, "Acknowledged in PagerDuty by Jane Doe: escalation stopped after 2 of 4 steps; hook told.") != 1 || count(th, "step 3") != 0 {
			t.Fatalf("thread after the PagerDuty ack: %q", th)
		}
	})
}

// A resolve in PagerDuty stops the escalation too, and says the alert
// stays firing; an event for a key opsbot never paged changes nothing; the
// endpoint is closed without its secret.
func TestPagerDutyResolveAndUnknownKeys(t *testing.T) {
	st := storetest.SQLite(t)
	r := newRig(t, st)
	srv := httptest.NewServer(r.eng.PagerDutyWebhook(r.n))
	t.Cleanup(srv.Close)
	pd := pdSender{url: srv.URL, secret: pdWebhookSecret}
	body := pd.body("incident.resolved", "api/down", "Jane Doe", r.clk.Now())
	if code, _ := pd.send(t, body, pdSign(pdWebhookSecret, body)); code != http.StatusNotFound {
		t.Fatalf("without its secret the endpoint answered %d, want 404", code)
	}
	r.cfg.Secrets.Paging[config.WebhookSecretKey("pd")] = pdWebhookSecret

	r.fire(t, "api/down", "critical")
	r.pass(t)
	// Not paged through PagerDuty yet: an incident with that key is not ours.
	if code, msg := pd.send(t, body, pdSign(pdWebhookSecret, body)); code != 200 || msg != "ignored: the alert was not paged through pd" {
		t.Fatalf("before the page: %d %q", code, msg)
	}
	other := pd.body("incident.acknowledged", "db/down", "Jane Doe", r.clk.Now())
	if code, msg := pd.send(t, other, pdSign(pdWebhookSecret, other)); code != 200 || msg != "ignored: no alert with that dedup key" {
		t.Fatalf("unknown key: %d %q", code, msg)
	}
	r.at(5 * time.Minute)
	r.pass(t)
	r.at(6 * time.Minute)
	body = pd.body("incident.resolved", "api/down", "Jane Doe", r.clk.Now())
	if code, msg := pd.send(t, body, pdSign(pdWebhookSecret, body)); code != 200 || msg != "alert #1 resolved" {
		t.Fatalf("resolve: %d %q", code, msg)
	}
	r.pass(t)
	r.at(20 * time.Minute)
	r.pass(t)
	th := r.thread(t)
	if count(th, "Resolved in PagerDuty by Jane Doe: escalation stopped after 2 of 4 steps; the alert stays firing until its check passes; hook told.") != 1 || count(th, "step 3") != 0 {
		t.Fatalf("thread after the PagerDuty resolve: %q", th)
	}
	a, _ := store.AlertByID(t.Context(), st.DB, r.alertID(t, "api/down"))
	if a.State != store.AlertFiring {
		t.Fatalf("alert state %s, want firing", a.State)
	}
}
