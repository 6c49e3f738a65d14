package rules_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/rules"
	"opsbot/store"
	"opsbot/store/storetest"
)

// The disk-fill forecast is an observation in the one pipeline: a disk
// filling at 12 % a day from 70 % (full in 1.5 days, within the 3-day
// horizon) raises disk_fill_forecast as a warning before the threshold is
// reached; once space is freed, the forecast resolves it.
func TestDiskFillForecastAlert(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t)
	cfg := config.Default()
	get := func() *config.Config { return cfg }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := notifier.New(st, chat.NewRouter(), get, log)
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	n.Now = func() time.Time { return t0 }
	eng := rules.NewEngine(nil, n.Source("rules"), st, log)
	eng.Add(rules.GroupRules, rules.ForecastSource{Samples: st, Horizon: cfg.Diagnose.ForecastHorizon})
	add := func(from time.Time, hours int, v func(h int) float64) time.Time {
		var ss []store.Sample
		var at time.Time
		for h := 0; h <= hours; h++ {
			at = from.Add(time.Duration(h) * time.Hour)
			ss = append(ss, store.Sample{Metric: rules.MetricDisk, At: store.T(at), Value: v(h)})
		}
		if err := st.AddSamples(ctx, ss); err != nil {
			t.Fatal(err)
		}
		return at
	}
	state := func(now time.Time) []string {
		t.Helper()
		n.Now = func() time.Time { return now }
		if err := eng.Eval(ctx, now); err != nil {
			t.Fatal(err)
		}
		if err := n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		rows, err := n.Firing(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, r.Rule+" "+r.Severity+": "+r.Summary)
		}
		return out
	}

	now := add(t0, 24, func(h int) float64 { return 70 + 12*float64(h)/24 })
	got := state(now)
	if len(got) != 1 || !strings.HasPrefix(got[0], "disk_fill_forecast warning: disk of the host forecast full in about 1.5 days (82.0 % now, +12.00 % a day") {
		t.Fatalf("firing = %q", got)
	}
	// Space freed: flat at 60 % for a day, no rise over either window.
	now = add(now.Add(time.Hour), 30, func(int) float64 { return 60 })
	if got := state(now); len(got) != 0 {
		t.Fatalf("after space was freed, still firing: %q", got)
	}
}

// A rise too short to be a trend (the first minutes after start) is not
// forecast.
func TestDiskFillForecastNeedsSpan(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t)
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	var ss []store.Sample
	for m := range 10 {
		ss = append(ss, store.Sample{Metric: rules.MetricDisk, At: store.T(t0.Add(time.Duration(m) * time.Minute)), Value: 50 + float64(m)})
	}
	if err := st.AddSamples(ctx, ss); err != nil {
		t.Fatal(err)
	}
	out, err := rules.ForecastSource{Samples: st, Horizon: 72 * time.Hour}.Collect(ctx, t0.Add(9*time.Minute))
	if err != nil || len(out.Findings) != 0 {
		t.Fatalf("forecast from 9 minutes of samples: %+v %v", out.Findings, err)
	}
}

// Which diagnosis explains an alert is part of its rule: built-in rules
// carry it, a rule defined with its own symptom keeps it, other alerts go
// by kind or by their "symptom" label.
func TestSymptomOf(t *testing.T) {
	cfg := config.Default()
	rs := rules.DefaultRules(cfg)
	for _, r := range rs {
		if r.Symptom == "" || !strings.HasPrefix(r.RunbookURL, "docs/runbooks.md#") {
			t.Errorf("built-in rule %s: symptom %q runbook %q", r.Name, r.Symptom, r.RunbookURL)
		}
	}
	rs = append(rs, rules.Rule{Name: "queue_deep", Metric: "queue", Symptom: "redis", RunbookURL: "https://wiki.example/queue"})
	eng := rules.NewEngine(rs, nil, nil, nil)
	for _, c := range []struct {
		rule, kind    string
		labels        map[string]string
		symptom, book string
	}{
		{"disk_high", "threshold", nil, "disk", "docs/runbooks.md#disk-full"},
		{"llm_success_low", "threshold", nil, "llm", "docs/runbooks.md#llm-api-fails"},
		{"queue_deep", "threshold", nil, "redis", "https://wiki.example/queue"},
		{"database_down", "health", nil, "db", "docs/runbooks.md#database-connection-fails"},
		{"login_failed_ip", "security", nil, "security", "docs/runbooks.md#security"},
		{"am:Foo", "external", map[string]string{"symptom": "memory", "runbook_url": "https://rb/x"}, "memory", "https://rb/x"},
	} {
		s, b := eng.SymptomOf(c.rule, c.kind, c.labels)
		if s != c.symptom || b != c.book {
			t.Errorf("%s: %q %q, want %q %q", c.rule, s, b, c.symptom, c.book)
		}
	}
}
