package notifier

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"opsbot/alert"
	"opsbot/config"
)

// amPayload is Prometheus Alertmanager's webhook body, version 4.
type amPayload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []amAlert         `json:"alerts"`
}

type amAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	// Times are read by ParseAlertmanager, which can name the alert whose
	// time is bad; encoding/json's own error names Go's layout instead.
	StartsAt     string `json:"startsAt"`
	EndsAt       string `json:"endsAt"`
	GeneratorURL string `json:"generatorURL"`
	Fingerprint  string `json:"fingerprint"`
}

// AlertmanagerHandler serves /webhooks/alertmanager: a version 4 payload
// becomes "external" alerts routed like any other. The webhook is closed by
// default: with no OPSBOT_ALERTMANAGER_TOKEN it answers 404 (unless
// alertmanager.allow_unauthenticated is set, which configuration accepts
// only on a loopback listener); with a token, a request must carry it as a
// bearer token (401 otherwise). A malformed payload gets 400. A refused
// request stores nothing.
func (n *Notifier) AlertmanagerHandler() http.Handler {
	switch cfg := n.cfg(); {
	case webhookClosed(cfg) != "":
		n.log.Warn("alertmanager webhook closed: it answers 404", "path", "/webhooks/alertmanager", "reason", webhookClosed(cfg))
	case cfg.Secrets.AlertmanagerToken == "":
		n.log.Warn("alertmanager webhook open without a token on a loopback listener (alertmanager.allow_unauthenticated)", "addr", cfg.HTTP.Addr)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg := n.cfg()
		if webhookClosed(cfg) != "" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if tok := cfg.Secrets.AlertmanagerToken.Reveal(); tok != "" {
			got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !sameToken(got, tok) {
				http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
				return
			}
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
		alerts, err := ParseAlertmanager(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := n.amSource.Notify(r.Context(), alerts...); err != nil {
			if errors.Is(err, ErrInvalid) {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			n.log.Error("alertmanager alerts not recorded", "err", err)
			// 5xx makes Alertmanager retry.
			http.Error(w, "alerts not recorded", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "ok\n")
	})
}

// webhookClosed says why the webhook refuses every request ("" when open).
// An unauthenticated webhook off loopback is refused here too, whatever
// configuration check let through.
func webhookClosed(cfg *config.Config) string {
	switch {
	case cfg.Secrets.AlertmanagerToken != "":
		return ""
	case !cfg.Alertmanager.AllowUnauthenticated:
		return "no OPSBOT_ALERTMANAGER_TOKEN set"
	case !config.IsLoopback(cfg.HTTP.Addr):
		return "alertmanager.allow_unauthenticated is set but http.addr " + cfg.HTTP.Addr + " is not a loopback address"
	}
	return ""
}

// sameToken compares in constant time, whatever the lengths: both sides
// are hashed first, so neither the content nor the length leaks.
func sameToken(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// ExternalRulePrefix starts the rule name of every Alertmanager alert, so
// an external alert can never carry the name of one of opsbot's own rules
// (memory_high, disk_high …) and trigger what that rule's remediation does.
const ExternalRulePrefix = "am:"

// MatchAction finds the action configured for an external alert in
// alertmanager.actions: the first mapping whose alertname and every label
// matcher hold, with its target (fixed, or read from a label and resolved
// to a configured target). Only firing external alerts match; no mapping,
// no action. It is pure: the pipeline decides when to run what it returns.
func MatchAction(cfg *config.Config, a alert.Alert) (action, target string, ok bool) {
	if a.Kind != "external" || a.Status != alert.Firing || a.Labels == nil {
		return "", "", false
	}
	name := a.Labels["alertname"]
	if name == "" {
		return "", "", false
	}
	for _, m := range cfg.Alertmanager.Actions {
		if m.Alertname != name || !matchAll(m.Matchers, a.Labels) {
			continue
		}
		target := m.Target
		if m.TargetLabel != "" {
			var found bool
			if target, found = resolveTarget(cfg, a.Labels[m.TargetLabel]); !found {
				// The mapping meant this alert, but it names no target we
				// run: no action rather than the next mapping's.
				return "", "", false
			}
		} else if _, found := cfg.Target(target); !found {
			return "", "", false
		}
		return m.Action, target, true
	}
	return "", "", false
}

// matchAll reports whether labels meet every matcher; a matcher that does
// not parse (configuration check refuses it) matches nothing.
func matchAll(matchers []string, lbls map[string]string) bool {
	for _, s := range matchers {
		m, err := parseMatcher(s)
		if err != nil || !m.Matches(lbls[m.Name]) {
			return false
		}
	}
	return true
}

var matcherCache sync.Map // matcher text → *labels.Matcher

func parseMatcher(s string) (*labels.Matcher, error) {
	if m, ok := matcherCache.Load(s); ok {
		return m.(*labels.Matcher), nil
	}
	m, err := labels.ParseMatcher(s)
	if err != nil {
		return nil, err
	}
	matcherCache.Store(s, m)
	return m, nil
}

// resolveTarget maps a label value to a configured target: its name, the
// host:port of its health_url, or its name followed by :port (Prometheus'
// instance label). Anything else, or more than one target, is no target.
func resolveTarget(cfg *config.Config, v string) (string, bool) {
	if v == "" {
		return "", false
	}
	if _, ok := cfg.Target(v); ok {
		return v, true
	}
	var found []string
	for _, t := range cfg.Targets {
		if u, err := url.Parse(t.HealthURL); err == nil && u.Host != "" && strings.EqualFold(u.Host, v) {
			found = append(found, t.Name)
		}
	}
	if len(found) == 0 {
		if host, _, err := net.SplitHostPort(v); err == nil {
			if _, ok := cfg.Target(host); ok {
				found = append(found, host)
			}
		}
	}
	if len(found) != 1 {
		return "", false
	}
	return found[0], true
}

// ParseAlertmanager checks a version 4 webhook body and turns its alerts
// into external alerts. Any problem refuses the whole body.
func ParseAlertmanager(body []byte) ([]alert.Alert, error) {
	var p amPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("malformed alertmanager payload: %s", jsonProblem(err))
	}
	if p.Version != "4" {
		return nil, fmt.Errorf("malformed alertmanager payload: version %q, want \"4\"", p.Version)
	}
	if len(p.Alerts) == 0 {
		return nil, errors.New("malformed alertmanager payload: no alerts")
	}
	out := make([]alert.Alert, 0, len(p.Alerts))
	for i, a := range p.Alerts {
		if a.Status != alert.Firing && a.Status != alert.Resolved {
			return nil, fmt.Errorf("malformed alertmanager payload: alerts[%d].status %q, want firing or resolved", i, a.Status)
		}
		if len(a.Labels) == 0 {
			return nil, fmt.Errorf("malformed alertmanager payload: alerts[%d] has no labels", i)
		}
		startsAt, err := amTime(a.StartsAt)
		if err != nil {
			return nil, fmt.Errorf("malformed alertmanager payload: alerts[%d].startsAt %v", i, err)
		}
		if startsAt.IsZero() {
			return nil, fmt.Errorf("malformed alertmanager payload: alerts[%d] has no startsAt", i)
		}
		endsAt, err := amTime(a.EndsAt)
		if err != nil {
			return nil, fmt.Errorf("malformed alertmanager payload: alerts[%d].endsAt %v", i, err)
		}
		fp := a.Fingerprint
		if fp == "" {
			fp = labelsFingerprint(a.Labels)
		}
		rule := a.Labels["alertname"]
		if rule == "" {
			rule = "alertmanager"
		}
		target := a.Labels["target"]
		for _, k := range []string{"instance", "job", "service"} {
			if target == "" {
				target = a.Labels[k]
			}
		}
		sev := "warning"
		switch strings.ToLower(a.Labels["severity"]) {
		case "critical", "page", "error", "high":
			sev = "critical"
		}
		summary := a.Annotations["summary"]
		if summary == "" {
			summary = a.Annotations["description"]
		}
		if summary == "" {
			summary = rule
		}
		al := alert.Alert{Fingerprint: "am:" + fp, Kind: "external", Rule: ExternalRulePrefix + rule, Target: target, Severity: sev, Status: a.Status,
			Summary: summary, Labels: a.Labels, StartsAt: startsAt}
		al.Detail = amLinks(a.Annotations["runbook_url"], a.GeneratorURL)
		if a.Status == alert.Resolved {
			al.EndsAt = endsAt
		}
		out = append(out, al)
	}
	return out, nil
}

// amTime reads an RFC 3339 time; empty is the zero time.
func amTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
	}
	return t, nil
}

// jsonProblem words a decoding error for the sender: where and what was
// wrong, without Go's type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		where := te.Field
		if where == "" {
			where = "the body"
		}
		want := "a " + te.Type.Kind().String()
		switch te.Type.Kind() {
		case reflect.String:
			want = "a string"
		case reflect.Map, reflect.Struct:
			want = "an object"
		case reflect.Slice:
			want = "a list"
		case reflect.Int:
			want = "a whole number"
		}
		return fmt.Sprintf("%s: want %s, got %s", where, want, te.Value)
	case errors.As(err, &se):
		return "not JSON: " + se.Error()
	}
	return "not JSON"
}

func labelsFingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\xff%s\xff", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
