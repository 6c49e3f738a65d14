package rules

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/ops"
)

func loadYAML(t *testing.T, text string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "opsbot.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadEnv(path, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func checkNames(e *Engine) map[string]*CheckSource {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]*CheckSource{}
	for _, r := range e.sources {
		if cs, ok := r.src.(CheckSource); ok {
			out[cs.Check.Name()] = &cs
		}
	}
	return out
}

// A reload adding an http check and a rule over it makes the rule get
// samples and fire; the unchanged check is the same check (its state kept)
// and the unchanged rule's pending timer runs on; a reload with a check
// that cannot be built changes nothing; a removed check stops.
func TestReloadAppliesChecks(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer bad.Close()
	base := `
checks:
  - name: old
    kind: http
    url: ` + ok.URL + `
rules:
  rules:
    - name: old_watch
      expr: old_up == 1
      for: 10m
      severity: warning
`
	added := `
checks:
  - name: old
    kind: http
    url: ` + ok.URL + `
  - name: fresh
    kind: http
    url: ` + bad.URL + `
rules:
  rules:
    - name: old_watch
      expr: old_up == 1
      for: 10m
      severity: warning
    - name: fresh_down
      expr: fresh_up == 0
      for: 0s
      severity: critical
`
	sink := &recSink{}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	e, err := FromConfig(loadYAML(t, base), Deps{Sink: sink, Host: &fakeHost{cur: &ops.HostSample{CPU: 1, Mem: 1, Disk: 1}}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	fired := func() []string {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		var out []string
		for _, a := range sink.alerts {
			if a.Rule == "fresh_down" || a.Rule == "old_watch" {
				out = append(out, a.Status+" "+a.Rule+" "+a.Target)
			}
		}
		sink.alerts = nil
		return out
	}
	e.Eval(context.Background(), now)
	if got := fired(); len(got) != 0 {
		t.Fatalf("before reload: %v", got)
	}
	pend := e.active[Fingerprint("old_watch", "old", nil)]
	if pend == nil || pend.State != StatePending {
		t.Fatalf("old_watch not pending: %+v", pend)
	}
	since := pend.ActiveAt
	oldCheck := checkNames(e)["old"].Check

	commit, err := e.Prepare(loadYAML(t, added))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := checkNames(e)["fresh"]; ok {
		t.Fatal("prepare alone started the new check")
	}
	commit()
	now = now.Add(time.Minute)
	e.Eval(context.Background(), now)
	if got := fired(); len(got) != 1 || got[0] != "firing fresh_down fresh" {
		t.Fatalf("after reload: %v", got)
	}
	cs := checkNames(e)
	if cs["old"] == nil || cs["old"].Check != oldCheck || cs["fresh"] == nil {
		t.Fatalf("checks after reload: %v (old kept: %v)", cs, cs["old"] != nil && cs["old"].Check == oldCheck)
	}
	if a := e.active[Fingerprint("old_watch", "old", nil)]; a == nil || a.State != StatePending || !a.ActiveAt.Equal(since) {
		t.Fatalf("old_watch timer lost: %+v (was since %v)", a, since)
	}
	// The timer runs on: 10 minutes after it started, it fires.
	now = since.Add(10 * time.Minute)
	e.Eval(context.Background(), now)
	if got := fired(); len(got) != 1 || got[0] != "firing old_watch old" {
		t.Fatalf("old_watch after its for: %v", got)
	}

	// A check that cannot be built: refused, nothing changes.
	broken := loadYAML(t, base)
	broken.Checks = append(broken.Checks, config.Check{Name: "nope", Kind: "carrier-pigeon"})
	rulesBefore := len(e.Rules)
	if _, err := e.Prepare(broken); err == nil {
		t.Fatal("a broken check was accepted")
	}
	cs = checkNames(e)
	if len(cs) != 2 || cs["old"].Check != oldCheck || cs["fresh"] == nil || len(e.Rules) != rulesBefore {
		t.Fatalf("a refused reload changed the checks or rules: %v, %d rules (was %d)", cs, len(e.Rules), rulesBefore)
	}

	// Back to the first file: fresh stops, old is still the same check.
	commit, err = e.Prepare(loadYAML(t, base))
	if err != nil {
		t.Fatal(err)
	}
	commit()
	cs = checkNames(e)
	if len(cs) != 1 || cs["old"] == nil || cs["old"].Check != oldCheck {
		t.Fatalf("after removing fresh: %v", cs)
	}
	for _, r := range e.Rules {
		if r.Name == "fresh_down" {
			t.Fatal("fresh_down still in force")
		}
	}
}
