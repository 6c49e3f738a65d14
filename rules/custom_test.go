package rules

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/ops"
)

// A check and a rule written in the file fire through the engine as the
// built-ins do: pending, firing after `for`, the summary from its template,
// its labels on the alert; keep_firing_for holds it after the value comes
// back; and the built-ins, compiled from the same form, are as they were.
func TestConfiguredCheckAndRuleFire(t *testing.T) {
	var slow atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			time.Sleep(60 * time.Millisecond)
		}
		w.Write([]byte("lesson ok"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "opsbot.yaml")
	os.WriteFile(path, []byte(`
checks:
  - name: lesson
    kind: http
    url: `+srv.URL+`/api/lesson
    expect_body: lesson ok
    timeout: 2s
rules:
  rules:
    - name: lesson_slow
      expr: lesson_latency_ms > 50
      resolve: 40
      for: 2m
      keep_firing_for: 3m
      severity: critical
      labels: {team: web}
      annotations:
        summary: 'lesson API on {{ .Target }} takes {{ printf "%.0f" .Value }} ms (team {{ .Labels.team }})'
        description: 'runbook: {{ .Rule }}'
      runbook_url: https://wiki.example/lesson
      symptom: api-down
    - name: lesson_down
      expr: lesson_up == 0
      severity: critical
      for: 0s
      runbook_url: https://wiki.example/down
`), 0o600)
	cfg, err := config.LoadEnv(path, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	sink := &recSink{}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	e, err := FromConfig(cfg, Deps{Sink: sink, Host: &fakeHost{cur: &ops.HostSample{CPU: 1, Mem: 1, Disk: 1}}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	eval := func(d time.Duration) []string {
		t.Helper()
		now = now.Add(d)
		e.Eval(context.Background(), now)
		sink.mu.Lock()
		defer sink.mu.Unlock()
		var out []string
		for _, a := range sink.alerts {
			if strings.HasPrefix(a.Rule, "lesson") {
				out = append(out, a.Status+" "+a.Rule+" "+a.Severity+" "+a.Target+" "+a.Labels["team"]+" | "+a.Summary+" | "+a.Detail)
			}
		}
		sink.alerts = nil
		return out
	}
	if got := eval(0); len(got) != 0 {
		t.Fatalf("fast: %v", got)
	}
	slow.Store(true)
	if got := eval(time.Minute); len(got) != 0 {
		t.Fatalf("pending must not fire: %v", got)
	}
	if a := e.active[Fingerprint("lesson_slow", "lesson", nil)]; a == nil || a.State != StatePending {
		t.Fatalf("not pending: %+v", a)
	}
	got := eval(2 * time.Minute)
	if len(got) != 1 || !strings.HasPrefix(got[0], "firing lesson_slow critical lesson web | lesson API on lesson takes ") ||
		!strings.HasSuffix(got[0], "ms (team web) | runbook: lesson_slow") {
		t.Fatalf("firing: %v", got)
	}
	if s, rb := e.SymptomOf("lesson_slow", "threshold", nil); s != "api-down" || rb != "https://wiki.example/lesson" {
		t.Fatalf("symptom %q %q", s, rb)
	}
	// A rule naming only its runbook keeps the table's diagnosis.
	if s, rb := e.SymptomOf("lesson_down", "threshold", nil); s != "api-down" || rb != "https://wiki.example/down" {
		t.Fatalf("runbook only: %q %q", s, rb)
	}
	slow.Store(false)
	if got := eval(time.Minute); len(got) != 0 {
		t.Fatalf("keep_firing_for: resolved after 1m: %v", got)
	}
	// Normal since the last evaluation: three minutes from then.
	if got := eval(2 * time.Minute); len(got) != 0 {
		t.Fatalf("keep_firing_for: resolved after 2m: %v", got)
	}
	if got := eval(time.Minute); len(got) != 1 || !strings.HasPrefix(got[0], "resolved lesson_slow") {
		t.Fatalf("resolve after keep_firing_for: %v", got)
	}
	srv.Close()
	if got := eval(time.Minute); len(got) != 1 || !strings.HasPrefix(got[0], "firing lesson_down critical lesson") ||
		!strings.Contains(got[0], "lesson_up on lesson is 0 (alert equal to 0)") {
		t.Fatalf("down: %v", got)
	}
}

// The built-ins are DefaultConfig compiled; a rule of the file with a
// built-in's name replaces it, the others are kept in order.
func TestRulesFromReplacesByName(t *testing.T) {
	cfg := config.Default()
	f := 5 * time.Minute
	cfg.Rules.Rules = []config.AlertRule{{Name: "cpu_high", Expr: "cpu_pct >= 70", For: &f, Severity: "critical"}, {Name: "x", Expr: "health_up < 1", Severity: "warning"}}
	rs, err := RulesFrom(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defs := DefaultRules(cfg)
	if len(rs) != len(defs)+1 || rs[0].Name != "cpu_high" || rs[0].Op != ">=" || rs[0].Alert != 70 || rs[0].For != f || rs[len(rs)-1].Name != "x" || !rs[len(rs)-1].Below {
		t.Fatalf("rules: %+v", rs)
	}
	for i := 1; i < len(defs); i++ {
		if rs[i].Name != defs[i].Name {
			t.Fatalf("order: %s vs %s", rs[i].Name, defs[i].Name)
		}
	}
	// The seed's thresholds in the form the file writes them.
	def := config.Default()
	d := DefaultConfig(def)
	if d[0].Expr != "cpu_pct > 85" || d[0].Resolve == nil || *d[0].Resolve != def.Thresholds.CPUPct.Normal || d[3].Guard != "requests >= 20" || d[5].Expr != "llm_success_pct < 90" {
		t.Fatalf("defaults: %+v %+v %+v", d[0], d[3], d[5])
	}
}
