package notifier

import (
	"opsbot/alert"

	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"
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
// becomes "external" alerts routed like any other. With a token configured
// (OPSBOT_ALERTMANAGER_TOKEN) the request must carry it as a bearer token.
// A malformed payload gets 400 and nothing is stored.
func (n *Notifier) AlertmanagerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		cfg := n.cfg()
		if tok := cfg.Secrets.AlertmanagerToken.Reveal(); tok != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(tok)) != 1 {
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
		if err := n.Notify(r.Context(), alerts...); err != nil {
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
		al := alert.Alert{Fingerprint: "am:" + fp, Kind: "external", Rule: rule, Target: target, Severity: sev, Status: a.Status,
			Summary: summary, Labels: a.Labels, StartsAt: startsAt}
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
