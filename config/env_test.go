package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// targets[].env names variables passed to actions: a bad name, one of
// opsbot's own variables, or one holding a secret of opsbot's is refused
// with its key path; the rest load, from the file or OPSBOT_TARGETS_0_ENV.
func TestActionEnvNames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "opsbot.yaml")
	yaml := "targets:\n  - name: api\n    health_url: http://127.0.0.1:8000/health\n" +
		"    redis: {addr: 127.0.0.1:6379, password: redis-file-pass}\n" +
		"    env: [AWS_PROFILE, 9LIVES, SLACK_BOT_TOKEN, DISCORD_BOT_TOKEN_FILE, OPSBOT_HTTP_ADDR, TOKEN_COPY, DB_URL, LOG_LEVEL, REDIS_URL]\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"SLACK_BOT_TOKEN":  "xoxb-1111-secret",
		"OPSBOT_STORE_DSN": "host=db user=opsbot password=pg-secret-9 dbname=opsbot",
		"OPSBOT_LOG_LEVEL": "info",
		"TOKEN_COPY":       "xoxb-1111-secret",
		"DB_URL":           "postgres://app:pg-secret-9@db/app",
		"LOG_LEVEL":        "info",
		"AWS_PROFILE":      "backup",
		"REDIS_URL":        "redis://:redis-file-pass@cache:6379",
	}
	_, err := LoadEnv(path, env)
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("want problems, got %v", err)
	}
	want := []string{
		`targets[0].env[1]: "9LIVES" is not a variable name (line 5)`,
		"targets[0].env[2]: SLACK_BOT_TOKEN is one of opsbot's own variables and is never passed to actions (line 5)",
		"targets[0].env[3]: DISCORD_BOT_TOKEN_FILE is one of opsbot's own variables and is never passed to actions (line 5)",
		"targets[0].env[4]: OPSBOT_HTTP_ADDR is one of opsbot's own variables and is never passed to actions (line 5)",
		"targets[0].env[5]: TOKEN_COPY holds one of opsbot's secrets and is never passed to actions (line 5)",
		"targets[0].env[6]: DB_URL holds one of opsbot's secrets and is never passed to actions (line 5)",
		"targets[0].env[8]: REDIS_URL holds one of opsbot's secrets and is never passed to actions (line 5)",
	}
	slices.Sort(probs)
	if !slices.Equal([]string(probs), want) {
		t.Fatalf("problems:\n  %s\nwant:\n  %s", strings.Join(probs, "\n  "), strings.Join(want, "\n  "))
	}

	if err := os.WriteFile(path, []byte("targets:\n  - name: api\n    health_url: http://127.0.0.1:8000/health\n    env: [A]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadEnv(path, map[string]string{"OPSBOT_TARGETS_0_ENV": "[AWS_PROFILE, PGPASSFILE]"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Targets[0].Env; !slices.Equal(got, []string{"AWS_PROFILE", "PGPASSFILE"}) {
		t.Fatalf("env from OPSBOT_TARGETS_0_ENV: %q", got)
	}
}
