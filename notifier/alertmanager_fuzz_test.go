package notifier_test

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"opsbot/alert"
	"opsbot/notifier"
)

// userMessageProblem says what is wrong with msg as an error shown to a
// user ("" when nothing): one line of plain words in the house style, no
// trace of Go's formatting or internals. What the user wrote (quoted, or
// given as user) is left out of the search for internals: it may hold
// anything.
func userMessageProblem(msg string, user ...string) string {
	r, _ := utf8.DecodeRuneInString(msg)
	switch {
	case strings.TrimSpace(msg) == "":
		return "empty"
	case strings.ContainsAny(msg, "\r\n"):
		return "more than one line"
	case !utf8.ValidString(msg):
		return "invalid UTF-8"
	case unicode.IsUpper(r):
		return "starts with a capital"
	}
	ours := quoted.ReplaceAllString(msg, `""`)
	for _, u := range user {
		if u != "" {
			ours = strings.ReplaceAll(ours, u, "")
		}
	}
	for _, noise := range []string{"%!", "Go struct", "Go value", "runtime error", "goroutine", "reflect.", "<nil>", "2006-01-02", "UnmarshalJSON"} {
		if strings.Contains(ours, noise) {
			return "Go internals: " + noise
		}
	}
	return ""
}

// quoted matches a Go-quoted string (%q) in a message.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// printAlertmanager is the printer of ParseAlertmanager: a version 4 body
// carrying the alerts as Alertmanager would send them.
func printAlertmanager(alerts []alert.Alert) ([]byte, error) {
	type amAlert struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		EndsAt      time.Time         `json:"endsAt"`
		Fingerprint string            `json:"fingerprint"`
		Generator   string            `json:"generatorURL,omitempty"`
	}
	body := struct {
		Version string    `json:"version"`
		Status  string    `json:"status"`
		Alerts  []amAlert `json:"alerts"`
	}{Version: "4", Status: alert.Firing}
	for _, a := range alerts {
		x := amAlert{Status: a.Status, Labels: a.Labels, Annotations: map[string]string{"summary": a.Summary},
			StartsAt: a.StartsAt, EndsAt: a.EndsAt, Fingerprint: strings.TrimPrefix(a.Fingerprint, "am:")}
		// The links kept as the alert's detail.
		for _, l := range strings.Split(a.Detail, " · ") {
			if u, ok := strings.CutPrefix(l, "runbook "); ok {
				x.Annotations["runbook_url"] = u
			} else if u, ok := strings.CutPrefix(l, "source "); ok {
				x.Generator = u
			}
		}
		body.Alerts = append(body.Alerts, x)
	}
	return json.Marshal(body)
}

func sameAlert(a, b alert.Alert) bool {
	return a.Fingerprint == b.Fingerprint && a.Kind == b.Kind && a.Rule == b.Rule && a.Target == b.Target &&
		a.Severity == b.Severity && a.Status == b.Status && a.Summary == b.Summary && a.Detail == b.Detail &&
		a.Value == b.Value && maps.Equal(a.Labels, b.Labels) && a.StartsAt.Equal(b.StartsAt) && a.EndsAt.Equal(b.EndsAt)
}

// FuzzParseAlertmanager: a webhook body is refused whole with a one-line
// reason in plain words, or every alert in it is a well-formed external
// alert; the alerts printed back as a body parse to the same alerts.
func FuzzParseAlertmanager(f *testing.F) {
	for _, s := range []string{
		amFiring,
		`{"version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"Disk","job":"node","severity":"page"},"annotations":{"description":"disk 91%"},"startsAt":"2026-11-25T09:58:00.123456789+08:00","endsAt":"2026-11-25T10:08:00Z"}]}`,
		`{"version":"4","alerts":[{"status":"firing","labels":{"x":"y"},"startsAt":"2026-11-25T09:58:00Z","endsAt":""}]}`,
		`{"version":"4","alerts":[{"status":"firing","labels":{"a":1},"startsAt":"2026-11-25T09:58:00Z"}]}`,
		`{"version":4}`,
		`{"version":"4","alerts":{}}`,
		`{"version":"4","truncatedAlerts":1e999,"alerts":[]}`,
		`{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"yesterday"}]}`,
		`{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":5}]}`,
		`{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"2026-11-25T09:58:00Z","endsAt":"soon"}]}`,
		`{"version":"4","alerts":[{"status":"burning","labels":{"a":"b"},"startsAt":"2026-11-25T09:58:00Z"}]}`,
		`{"version":"4","alerts":[{"status":"firing","labels":{},"startsAt":"2026-11-25T09:58:00Z"}]}`,
		`{"version":"4","alerts":[{"status":"firing","labels":{"a":"\xff"},"startsAt":"0001-01-01T00:00:00Z"}]}`,
		"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\n\"}]}",
		`not json`,
		`[`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		alerts, err := notifier.ParseAlertmanager(body)
		if err != nil {
			if alerts != nil {
				t.Fatalf("%q: alerts %v with the error %v", body, alerts, err)
			}
			if p := userMessageProblem(err.Error()); p != "" {
				t.Fatalf("%q: error %q: %s", body, err, p)
			}
			return
		}
		if len(alerts) == 0 {
			t.Fatalf("%q: no alerts and no error", body)
		}
		for i, a := range alerts {
			switch {
			case len(a.Fingerprint) <= len("am:") || !strings.HasPrefix(a.Fingerprint, "am:"):
				t.Fatalf("%q: alert %d fingerprint %q", body, i, a.Fingerprint)
			case a.Kind != "external" || a.Rule == "" || a.Summary == "" || len(a.Labels) == 0:
				t.Fatalf("%q: alert %d %+v", body, i, a)
			case !slices.Contains(alert.Severities, a.Severity):
				t.Fatalf("%q: alert %d severity %q", body, i, a.Severity)
			case a.Status != alert.Firing && a.Status != alert.Resolved:
				t.Fatalf("%q: alert %d status %q", body, i, a.Status)
			case a.StartsAt.IsZero() || (a.Status == alert.Firing && !a.EndsAt.IsZero()):
				t.Fatalf("%q: alert %d starts %s ends %s", body, i, a.StartsAt, a.EndsAt)
			}
		}
		printed, err := printAlertmanager(alerts)
		if err != nil {
			return // a year json cannot write (before 0 or after 9999)
		}
		back, err := notifier.ParseAlertmanager(printed)
		if err != nil || len(back) != len(alerts) {
			t.Fatalf("%q → %d alerts → %s → %d alerts (%v)", body, len(alerts), printed, len(back), err)
		}
		for i := range alerts {
			if !sameAlert(alerts[i], back[i]) {
				t.Fatalf("%q: alert %d %+v printed as %s reads back as %+v", body, i, alerts[i], printed, back[i])
			}
		}
	})
}
