package app

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/store"
)

// /ops reload applies a new route tree whole, or refuses a broken one,
// keeps the old running and answers with every problem.
func TestReloadVerbKeepsTheOldRoutesOnError(t *testing.T) {
	good := "routing:\n  receivers:\n    - name: api\n      channels: [slack:CAPI]\n  route:\n    routes:\n      - matchers: ['target=~\"api.*\"']\n        receiver: api\n"
	ctx := context.Background()
	a, _, write := reloadApp(t, good)
	reload := func() string {
		r := a.reg.Handle(ctx, commands.Request{Platform: "console", User: "me", Text: "reload", Local: true})
		return r.Text
	}
	route := func() string {
		r := a.reg.Handle(ctx, commands.Request{Platform: "console", User: "me", Text: "subscriptions test target=api-1 kind=threshold severity=critical", Local: true})
		return r.Code
	}
	if got := route(); !strings.Contains(got, "receiver api → slack:CAPI") {
		t.Fatalf("route before: %q", got)
	}
	write(strings.Replace(good, `target=~"api.*"`, `target=~"api(("`, 1) + "  inhibit_rules:\n    - source_matchers: ['severity=\"critical\"']\n      target_matchers: []\n")
	got := reload()
	for _, want := range []string{"reload refused, the old configuration runs on", "routing.route.routes[0].matchers[0]: bad matcher", "routing.inhibit_rules[0]: needs source_matchers and target_matchers"} {
		if !strings.Contains(got, want) {
			t.Errorf("reload answer lacks %q:\n%s", want, got)
		}
	}
	if got := route(); !strings.Contains(got, "receiver api → slack:CAPI") {
		t.Fatalf("the old routes stopped: %q", got)
	}
	write(strings.Replace(good, "slack:CAPI", "slack:CAPI2", 1))
	if got := reload(); !strings.HasPrefix(got, "Configuration reloaded") {
		t.Fatalf("reload: %q", got)
	}
	if got := route(); !strings.Contains(got, "receiver api → slack:CAPI2") {
		t.Fatalf("route after: %q", got)
	}
}

// A refused reload is an alert in the pipeline (its problems with their
// lines as detail), resolved by the next reload that applies; a good
// reload with nothing refused before it says nothing.
func TestRefusedReloadIsAnAlert(t *testing.T) {
	ctx := context.Background()
	a, st, write := reloadApp(t, "")
	inbox := func() []store.Observation {
		t.Helper()
		obs, err := store.ClaimObservations(ctx, st.DB, 100, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var out []store.Observation
		for _, o := range obs {
			if o.Fingerprint == reloadFingerprint {
				out = append(out, o)
			}
		}
		return out
	}
	inbox() // whatever start-up queued
	if !a.Reload() {
		t.Fatal("a good reload was refused")
	}
	if got := inbox(); len(got) != 0 {
		t.Fatalf("a good reload with nothing refused before it reported %+v", got)
	}
	write("rules:\n  interval: soon\n")
	if a.Reload() {
		t.Fatal("a broken file was applied")
	}
	got := inbox()
	if len(got) != 1 || got[0].Status != "firing" || !strings.Contains(got[0].Payload, "rules.interval") || !strings.Contains(got[0].Payload, "(line 4)") {
		t.Fatalf("refused reload reported as %+v", got)
	}
	write("")
	if !a.Reload() {
		t.Fatal("the fixed file was refused")
	}
	if got := inbox(); len(got) != 1 || got[0].Status != "resolved" {
		t.Fatalf("the good reload after it reported %+v", got)
	}
}

// reloadApp builds the app from a config file in a temporary directory
// holding body (after the store line) and returns it, its store, and a
// writer that replaces the file's body for the next reload.
func reloadApp(t *testing.T, body string) (*App, *store.Store, func(string)) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "opsbot.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte("store:\n  dsn: "+filepath.Join(dir, "opsbot.db")+"\n"+s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(body)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log, _ := newLogger(cfg, io.Discard)
	a, err := build(ctx, cfg, st, Options{Stdout: io.Discard}, log, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	return a, st, write
}
