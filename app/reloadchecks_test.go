package app

import (
	"context"
	"strings"
	"testing"

	"opsbot/commands"
)

// /ops reload starts a check added to the file, refuses a broken one
// (the old checks keep running) and stops a removed one.
func TestReloadVerbAppliesChecks(t *testing.T) {
	old := "checks:\n  - {name: oldcheck, kind: tcp, address: \"127.0.0.1:9\"}\n"
	ctx := context.Background()
	a, _, write := reloadApp(t, old)
	run := func(text string) string {
		r := a.reg.Handle(ctx, commands.Request{Platform: "console", User: "me", Text: text, Local: true})
		return r.Text + r.Code
	}
	if got := run("monitor --json"); !strings.Contains(got, "check:oldcheck") || strings.Contains(got, "check:fresh") {
		t.Fatalf("monitor before: %q", got)
	}
	added := old + "  - {name: fresh, kind: http, url: \"http://127.0.0.1:9/\"}\nrules:\n  rules:\n    - {name: fresh_down, expr: fresh_up == 0, severity: critical}\n"
	write(added + "  - {name: bad, kind: ping}\n")
	if got := run("reload"); !strings.Contains(got, "reload refused, the old configuration runs on") {
		t.Fatalf("broken reload: %q", got)
	}
	if got := run("monitor --json"); !strings.Contains(got, "check:oldcheck") || strings.Contains(got, "check:fresh") {
		t.Fatalf("monitor after a refused reload: %q", got)
	}
	write(added)
	if got := run("reload"); !strings.HasPrefix(got, "Configuration reloaded") {
		t.Fatalf("reload: %q", got)
	}
	if got := run("monitor --json"); !strings.Contains(got, "check:oldcheck") || !strings.Contains(got, "check:fresh") {
		t.Fatalf("monitor after reload: %q", got)
	}
	write("checks:\n  - {name: fresh, kind: http, url: \"http://127.0.0.1:9/\"}\n")
	if got := run("reload"); !strings.HasPrefix(got, "Configuration reloaded") {
		t.Fatalf("reload: %q", got)
	}
	if got := run("monitor --json"); strings.Contains(got, "check:oldcheck") || !strings.Contains(got, "check:fresh") {
		t.Fatalf("monitor after removing oldcheck: %q", got)
	}
}
