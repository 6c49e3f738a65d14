package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestAgentAndFleetDefaults(t *testing.T) {
	c, err := LoadEnv("", map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Agent.HeartbeatInterval != 10*time.Second || c.Agent.SampleInterval != 15*time.Second || c.Fleet.MaxUnavailable != 1 || c.Fleet.DownAfter != 3 || c.Fleet.Enabled {
		t.Fatalf("defaults %+v %+v", c.Agent, c.Fleet)
	}
}

// Every problem of the agent and fleet sections, with its key path.
func TestAgentAndFleetProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "opsbot.yaml")
	y := `targets:
  - name: api
    health_url: http://127.0.0.1:8000/health
agent:
  host: Web_2
  heartbeat_interval: 10ms
  allow:
    api: [restart, reboot]
    db: [restart]
fleet:
  enabled: true
  max_unavailable: 0
  down_after: 1
`
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadEnv(path, map[string]string{})
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("got %v", err)
	}
	want := []string{
		`agent.host: want lower-case letters, digits and single dashes, at most 58 characters, got "Web_2" (line 5)`,
		"agent.heartbeat_interval: must be at least 100ms, not 10ms (line 6)",
		`agent.allow.api[1]: unknown action "reboot" (want one of [restart update rollback stop start cleanup cache_flush]) (line 8)`,
		`agent.allow.db: unknown target "db" (line 9)`,
		"fleet.max_unavailable: must be at least 1 (line 12)",
		"fleet.down_after: must be at least 2 heartbeat intervals (line 13)",
		"fleet.enabled: a fleet needs the PostgreSQL store its agents share (store.driver: postgres) (line 11)",
	}
	if len(probs) != len(want) {
		t.Fatalf("problems:\n%s", probs.Error())
	}
	for i := range want {
		if probs[i] != want[i] {
			t.Errorf("problem %d:\n got %s\nwant %s", i, probs[i], want[i])
		}
	}
	c := Default()
	c.Agent.Allow = map[string][]string{"api": {"restart"}}
	if !c.Agent.Allows("api", "restart") || c.Agent.Allows("api", "update") || c.Agent.Allows("web", "restart") {
		t.Fatal("Allows")
	}
}
