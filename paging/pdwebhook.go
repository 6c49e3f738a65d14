package paging

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"opsbot/config"
	"opsbot/store"
)

// PagerDuty's own acknowledgements flow back through its generic webhook
// (v3): a subscription on the service opsbot pages posts
// incident.acknowledged and incident.resolved to /webhooks/pagerduty,
// signed with the subscription's secret (X-PagerDuty-Signature: v1=<hex
// HMAC-SHA256 of the raw body>; several, comma-separated, while a secret
// is rotated). The incident's incident_key is the dedup_key opsbot sent,
// the alert's fingerprint, which names the alert.

// Acker acknowledges an alert as a person would (the notifier).
type Acker interface {
	Ack(ctx context.Context, id int64, by string) (store.AlertRow, error)
}

// PDWebhookTolerance is how far an event's occurred_at may lie from our
// clock: PagerDuty signs no timestamp, so an older event is refused as a
// possible replay (PagerDuty's own retries come within minutes).
const PDWebhookTolerance = 10 * time.Minute

// pdWebhook is the body of a PagerDuty webhook v3 call.
type pdWebhook struct {
	Event struct {
		ID           string `json:"id"`
		EventType    string `json:"event_type"`
		ResourceType string `json:"resource_type"`
		OccurredAt   string `json:"occurred_at"`
		Agent        *struct {
			ID      string `json:"id"`
			Summary string `json:"summary"`
			Type    string `json:"type"`
		} `json:"agent"`
		Data struct {
			ID          string `json:"id"`
			Type        string `json:"type"`
			Status      string `json:"status"`
			IncidentKey string `json:"incident_key"`
			HTMLURL     string `json:"html_url"`
		} `json:"data"`
	} `json:"event"`
}

// pdWebhookSecrets are the inbound secrets of the PagerDuty integrations,
// by integration name.
func pdWebhookSecrets(cfg *config.Config) map[string]string {
	out := map[string]string{}
	for name, in := range cfg.Paging.Integrations {
		if in.Type != "pagerduty" {
			continue
		}
		if s := cfg.Secrets.Paging[config.WebhookSecretKey(name)].Reveal(); s != "" {
			out[name] = s
		}
	}
	return out
}

// PDSignature is what PagerDuty puts in X-PagerDuty-Signature for body
// signed with secret.
func PDSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// verifyPD names the integration whose secret signed body, comparing in
// constant time against every v1 signature of the header.
func verifyPD(secrets map[string]string, header string, body []byte) (string, bool) {
	names := make([]string, 0, len(secrets))
	for n := range secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		want := []byte(PDSignature(secrets[name], body))
		for _, sig := range strings.Split(header, ",") {
			if hmac.Equal([]byte(strings.TrimSpace(sig)), want) {
				return name, true
			}
		}
	}
	return "", false
}

// PagerDutyWebhook serves /webhooks/pagerduty. It is closed (404) unless a
// PagerDuty integration has its webhook secret
// (OPSBOT_PAGING_<NAME>_WEBHOOK_SECRET). An unsigned call gets 401, a
// forged one 403, a stale one 403, a malformed one 400, each with one line
// and no change. incident.acknowledged acknowledges the alert the
// incident_key names (its escalation stops, its thread says who acked in
// PagerDuty); incident.resolved stops the escalation the same way (the
// alert itself stays firing until its check passes). Other event types,
// unknown keys and repeats are answered 200 and change nothing.
func (e *Engine) PagerDutyWebhook(ack Acker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg := e.cfg()
		secrets := pdWebhookSecrets(cfg)
		if len(secrets) == 0 {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		limit := cfg.HTTP.MaxBodyBytes
		if limit <= 0 {
			limit = 1 << 20
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		sig := r.Header.Get("X-PagerDuty-Signature")
		if sig == "" {
			http.Error(w, "unsigned: no X-PagerDuty-Signature header", http.StatusUnauthorized)
			return
		}
		name, ok := verifyPD(secrets, sig, body)
		if !ok {
			http.Error(w, "bad signature: X-PagerDuty-Signature does not match the body", http.StatusForbidden)
			return
		}
		var ev pdWebhook
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "bad body: not a PagerDuty webhook v3 event", http.StatusBadRequest)
			return
		}
		at, err := time.Parse(time.RFC3339Nano, ev.Event.OccurredAt)
		if err != nil {
			http.Error(w, fmt.Sprintf("bad body: occurred_at %q is not a time", ev.Event.OccurredAt), http.StatusBadRequest)
			return
		}
		if d := e.Now().Sub(at); d > PDWebhookTolerance || d < -PDWebhookTolerance {
			http.Error(w, fmt.Sprintf("stale event: occurred at %s, more than %s from now", at.UTC().Format(time.RFC3339), PDWebhookTolerance), http.StatusForbidden)
			return
		}
		var action string
		switch ev.Event.EventType {
		case "incident.acknowledged":
			action = "acknowledged"
		case "incident.resolved":
			action = "resolved"
		default:
			_, _ = fmt.Fprintf(w, "ignored: %s\n", ev.Event.EventType)
			return
		}
		by := "someone"
		if ev.Event.Agent != nil && ev.Event.Agent.Summary != "" {
			by = oneLine(ev.Event.Agent.Summary, 80)
		}
		res, err := e.fromIntegration(r.Context(), ack, store.IntegrationAck{Integration: name, Action: action, By: by,
			At: store.T(e.Now()), EventID: ev.Event.ID}, ev.Event.Data.IncidentKey)
		if err != nil {
			e.log.Error("pagerduty webhook not recorded", "event", ev.Event.ID, "err", err)
			// 5xx: PagerDuty delivers it again.
			http.Error(w, "not recorded", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, res+"\n")
	})
}

// fromIntegration applies what an integration said about the alert its
// dedup key names, and returns a one-line account of it.
func (e *Engine) fromIntegration(ctx context.Context, ack Acker, ia store.IntegrationAck, key string) (string, error) {
	if key == "" {
		return "ignored: no incident_key", nil
	}
	a, err := store.LatestAlert(ctx, e.st.DB, key)
	if errors.Is(err, store.ErrNotFound) {
		return "ignored: no alert with that dedup key", nil
	}
	if err != nil {
		return "", err
	}
	paged, err := store.PagedIntegrations(ctx, e.st.DB, a.ID)
	if err != nil {
		return "", err
	}
	if !contains(paged, ia.Integration) {
		return "ignored: the alert was not paged through " + ia.Integration, nil
	}
	if a.State != store.AlertFiring {
		return "ignored: the alert is resolved", nil
	}
	if a.AckedBy != "" {
		// Acknowledged in chat first: PagerDuty echoes the acknowledge
		// opsbot sent it, or someone acked in both places.
		return "ignored: already acknowledged by " + a.AckedBy, nil
	}
	ia.AlertID = a.ID
	if _, err := store.RecordIntegrationAck(ctx, e.st.DB, ia); err != nil {
		return "", err
	}
	if _, err := ack.Ack(ctx, a.ID, ia.By+" in PagerDuty"); err != nil {
		if cur, err2 := store.AlertByID(ctx, e.st.DB, a.ID); err2 == nil && (cur.AckedBy != "" || cur.State != store.AlertFiring) {
			return "ignored: acknowledged or resolved meanwhile", nil
		}
		return "", err
	}
	e.Poke()
	return fmt.Sprintf("alert #%d %s", a.ID, ia.Action), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// oneLine is s on one line, at most n characters (external text into chat).
func oneLine(s string, n int) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return string(r)
}
