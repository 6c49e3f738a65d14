package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadYAML(t *testing.T, text string, env map[string]string) (*Config, Problems) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "opsbot.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadEnv(path, env)
	var probs Problems
	if err != nil && !errors.As(err, &probs) {
		t.Fatal(err)
	}
	return c, probs
}

// allow_unauthenticated is accepted on a loopback listener only: config
// check names the conflict with both keys.
func TestAllowUnauthenticatedNeedsLoopback(t *testing.T) {
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{"localhost:9000", true},
		{"[::1]:8080", true},
		{"127.0.0.2:8080", true},
		{"0.0.0.0:8080", false},
		{":8080", false},
		{"10.0.0.5:8080", false},
		{"[::]:8080", false},
		{"opsbot.example.com:8080", false},
	} {
		_, probs := loadYAML(t, "http:\n  addr: \""+c.addr+"\"\nalertmanager:\n  allow_unauthenticated: true\n", map[string]string{})
		want := `alertmanager.allow_unauthenticated: only with a loopback http.addr (127.0.0.1, ::1 or localhost), not "` + c.addr + `"; set OPSBOT_ALERTMANAGER_TOKEN instead (line 4)`
		switch {
		case c.ok && len(probs) != 0:
			t.Errorf("%s: %v", c.addr, probs)
		case !c.ok && (len(probs) != 1 || probs[0] != want):
			t.Errorf("%s: got %q, want %q", c.addr, probs, want)
		}
	}
	// The Docker image listens on 0.0.0.0: closed unless a token is set,
	// and the environment cannot open it anonymously either.
	_, probs := loadYAML(t, "http:\n  addr: 0.0.0.0:8080\n", map[string]string{"OPSBOT_ALERTMANAGER_ALLOW_UNAUTHENTICATED": "true"})
	if len(probs) != 1 || !strings.HasPrefix(probs[0], "alertmanager.allow_unauthenticated: only with a loopback") {
		t.Fatalf("from the environment: %v", probs)
	}
}

func TestAlertmanagerActionsChecked(t *testing.T) {
	c, probs := loadYAML(t, `
targets:
  - {name: api-1, health_url: "http://127.0.0.1:8000/health"}
alertmanager:
  actions:
    - alertname: ServiceAutoRestart
      matchers: ['action="restart"', 'job=~"ai-tutor.*"']
      action: restart
      target_label: instance
    - alertname: RedisMemoryHigh
      action: cache_flush
      target: api-1
`, map[string]string{})
	if len(probs) != 0 {
		t.Fatalf("good mappings refused: %v", probs)
	}
	if ms, err := c.Alertmanager.Actions[0].ParseMatchers(); err != nil || len(ms) != 2 || ms[1].String() != `job=~"ai-tutor.*"` {
		t.Fatalf("matchers %v %v", ms, err)
	}
	_, probs = loadYAML(t, `
targets:
  - {name: api-1, health_url: "http://127.0.0.1:8000/health"}
alertmanager:
  actions:
    - matchers: ['action="restart"', 'job=~"(ai"', 'no operator']
      action: reboot
      target: api-9
    - alertname: X
      action: restart
    - alertname: Y
      action: cleanup
      target: api-1
      target_label: instance
`, map[string]string{})
	want := []string{
		`alertmanager.actions[0].alertname: missing (line 6)`,
		"alertmanager.actions[0].matchers[1]: error parsing regexp: missing closing ): `^(?:(ai)$` (line 6)",
		`alertmanager.actions[0].matchers[2]: bad matcher format: no operator (line 6)`,
		`alertmanager.actions[0].action: unknown action "reboot" (want restart, cache_flush, cleanup) (line 7)`,
		`alertmanager.actions[0].target: unknown target "api-9" (line 8)`,
		`alertmanager.actions[1]: set target (a target's name) or target_label (the alert label naming it) (line 9)`,
		`alertmanager.actions[2]: set target or target_label, not both (line 11)`,
	}
	if strings.Join(probs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(probs, "\n"), strings.Join(want, "\n"))
	}
}

func TestDeliveryWorkersChecked(t *testing.T) {
	if c, _ := loadYAML(t, "", map[string]string{}); c.Notifier.DeliveryWorkers != 4 {
		t.Fatalf("default delivery_workers %d", c.Notifier.DeliveryWorkers)
	}
	_, probs := loadYAML(t, "notifier:\n  delivery_workers: 0\n", map[string]string{})
	if len(probs) != 1 || probs[0] != "notifier.delivery_workers: must be between 1 and 64 (line 2)" {
		t.Fatalf("got %v", probs)
	}
}
