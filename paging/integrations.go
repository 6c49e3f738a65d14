package paging

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/config"
)

// Integrations is the chat.Poster of the "page" platform: an outbox row
// addressed "page:<integration>/<alert id>" carries a chat.Page, and Post
// makes one attempt through the named integration and classifies the
// failure (chat.ErrPermanent, chat.RetryAfterError, anything else retried
// with the shared backoff) for the notifier's delivery lanes.
type Integrations struct {
	cfg    func() *config.Config
	client *http.Client
	// Now stamps webhook signatures; tests may fix it.
	Now func() time.Time
	// tlsConfig, when set, is the base of the SMTP client's TLS settings
	// (tests trust their own server with it).
	tlsConfig *tls.Config
}

var _ chat.Poster = (*Integrations)(nil)

// NewIntegrations makes the poster of the "page" platform.
func NewIntegrations(cfg func() *config.Config) *Integrations {
	return &Integrations{cfg: cfg, client: &http.Client{}, Now: time.Now}
}

// Post sends the page m carries through the integration channel names.
func (p *Integrations) Post(ctx context.Context, channel string, m chat.Message) (chat.Ref, error) {
	name, _, _ := strings.Cut(channel, "/")
	ref := chat.Ref{Channel: channel}
	if m.Page == nil {
		return ref, chat.Permanent(errors.New("message to a paging integration carries no page"))
	}
	cfg := p.cfg()
	in, ok := cfg.Paging.Integrations[name]
	if !ok {
		return ref, chat.Permanent(fmt.Errorf("no paging integration %q configured", name))
	}
	secret := cfg.Secrets.Paging[name].Reveal()
	ctx, cancel := context.WithTimeout(ctx, in.Timeout)
	defer cancel()
	var err error
	switch in.Type {
	case "pagerduty":
		ref.ID, err = p.pagerDuty(ctx, in, secret, *m.Page)
	case "webhook":
		ref.ID, err = p.webhook(ctx, in, secret, m)
	case "email":
		ref.ID, err = p.email(ctx, in, secret, m)
	default:
		err = chat.Permanent(fmt.Errorf("unknown integration type %q", in.Type))
	}
	return ref, err
}

// Update is not a thing pages do.
func (p *Integrations) Update(context.Context, chat.Ref, chat.Message) error {
	return chat.Permanent(errors.New("a page cannot be edited"))
}

// Reply is not a thing pages do.
func (p *Integrations) Reply(context.Context, chat.Ref, chat.Message) (chat.Ref, error) {
	return chat.Ref{}, chat.Permanent(errors.New("a page has no thread"))
}

// classify turns an HTTP answer into the delivery worker's terms: 2xx
// fine; 429 and 408 wait (Retry-After when given); other 4xx permanent
// (retrying the same request cannot succeed); 5xx retried.
func classify(resp *http.Response, body []byte, what string) error {
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout:
		err := fmt.Errorf("%s: %s", what, resp.Status)
		if s, err2 := strconv.Atoi(resp.Header.Get("Retry-After")); err2 == nil && s >= 0 {
			return &chat.RetryAfterError{After: time.Duration(s) * time.Second, Err: err}
		}
		return err
	case code >= 400 && code < 500:
		return chat.Permanent(fmt.Errorf("%s: %s: %s", what, resp.Status, strings.TrimSpace(string(body))))
	default:
		return fmt.Errorf("%s: %s", what, resp.Status)
	}
}

func (p *Integrations) post(ctx context.Context, url string, body []byte, header http.Header, what string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, chat.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "opsbot")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		// A timeout or a refused connection: tried again later. The error
		// of net/http names the URL, never a header.
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return rb, classify(resp, rb, what)
}

// PagerDuty Events API v2 (https://developer.pagerduty.com/api-reference/368ae3d938c9e-send-an-event-to-pager-duty).
type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload,omitempty"`
	Client      string     `json:"client,omitempty"`
	Links       []pdLink   `json:"links,omitempty"`
}

type pdPayload struct {
	Summary       string            `json:"summary"`
	Source        string            `json:"source"`
	Severity      string            `json:"severity"`
	Timestamp     string            `json:"timestamp,omitempty"`
	Component     string            `json:"component,omitempty"`
	Class         string            `json:"class,omitempty"`
	CustomDetails map[string]string `json:"custom_details,omitempty"`
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

type pdResponse struct {
	Status   string `json:"status"`
	Message  string `json:"message"`
	DedupKey string `json:"dedup_key"`
}

// pdSeverity maps opsbot's severities onto PagerDuty's (critical, error, warning, info).
func pdSeverity(s string) string {
	switch s {
	case "critical":
		return "critical"
	case "warning":
		return "warning"
	}
	return "error"
}

func (p *Integrations) pagerDuty(ctx context.Context, in config.Integration, key string, pg chat.Page) (string, error) {
	ev := pdEvent{RoutingKey: key, EventAction: pg.Action, DedupKey: pg.DedupKey}
	if pg.Action == chat.PageTrigger {
		source := pg.Target
		if source == "" {
			source = "opsbot"
		}
		summary := pg.Summary
		if len(summary) > 1024 { // PagerDuty's limit
			summary = summary[:1021] + "..."
		}
		ev.Payload = &pdPayload{Summary: summary, Source: source, Severity: pdSeverity(pg.Severity), Component: pg.Rule, Class: pg.Kind,
			Timestamp: pg.StartedAt.UTC().Format(time.RFC3339), CustomDetails: pg.Labels}
		ev.Client = "opsbot"
		for _, l := range pg.Links {
			ev.Links = append(ev.Links, pdLink{Href: l, Text: "alert in chat"})
		}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return "", chat.Permanent(err)
	}
	rb, err := p.post(ctx, strings.TrimRight(in.URL, "/")+"/v2/enqueue", body, nil, "pagerduty "+pg.Action)
	if err != nil {
		return "", err
	}
	var r pdResponse
	_ = json.Unmarshal(rb, &r)
	if r.DedupKey == "" {
		r.DedupKey = pg.DedupKey
	}
	return r.DedupKey, nil
}

// WebhookBody is the JSON a signed webhook receives (docs/paging.md).
type WebhookBody struct {
	Version  string    `json:"version"`
	ID       string    `json:"id"` // the same on a resend: receivers may drop repeats
	Action   string    `json:"action"`
	Alert    chat.Page `json:"alert"`
	Title    string    `json:"title"`
	Severity string    `json:"severity"`
}

// Signature is the X-Opsbot-Signature of body sent at ts with key:
// "v1=" and the hex HMAC-SHA256 of "<ts>.<body>".
func Signature(key string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a webhook's signature and that its timestamp is
// within tolerance of now (a receiver's side, used by the tests and
// documented for receivers).
func VerifySignature(key, tsHeader, sigHeader string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errors.New("stale timestamp")
	}
	if !hmac.Equal([]byte(Signature(key, ts, body)), []byte(sigHeader)) {
		return errors.New("bad signature")
	}
	return nil
}

func (p *Integrations) webhook(ctx context.Context, in config.Integration, key string, m chat.Message) (string, error) {
	body, err := json.Marshal(WebhookBody{Version: "1", ID: m.Key, Action: m.Page.Action, Alert: *m.Page, Title: m.Title, Severity: m.Page.Severity})
	if err != nil {
		return "", chat.Permanent(err)
	}
	ts := p.Now().Unix()
	h := http.Header{}
	h.Set("X-Opsbot-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Opsbot-Signature", Signature(key, ts, body))
	h.Set("X-Opsbot-Delivery", m.Key)
	if _, err := p.post(ctx, in.URL, body, h, "webhook "+m.Page.Action); err != nil {
		return "", err
	}
	return m.Key, nil
}
