package ops

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"opsbot/config"
	"opsbot/store/storetest"
)

// An action runs with PATH, HOME, LANG, TZ and the variables its target
// names, and nothing else: none of opsbot's secrets, by name or by value,
// even when the configuration names them.
func TestActionEnvironmentHoldsNoSecrets(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "am-token")
	if err := os.WriteFile(secretFile, []byte("am-secret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"SLACK_BOT_TOKEN":                 "xoxb-1111-secret-slack",
		"SLACK_SIGNING_SECRET":            "8f742231b10e8888abcd99yyyzzz85a5",
		"SLACK_APP_TOKEN":                 "xapp-1-secret-app",
		"DISCORD_BOT_TOKEN":               "discord-bot-secret-token",
		"OPSBOT_STORE_DSN":                "postgres://opsbot:dsn-pass-42@db:5432/opsbot",
		"OPSBOT_ALERTMANAGER_TOKEN_FILE":  secretFile,
		"OPSBOT_TARGETS_0_REDIS_PASSWORD": "redis-pass-7",
		"OPSBOT_LOG_LEVEL":                "info",
		"HOME":                            "/home/ops",
		"LANG":                            "zh_CN.UTF-8",
		"TZ":                              "Asia/Shanghai",
		"DEPLOY_COLOUR":                   "blue",
		"LOG_LEVEL":                       "info", // equals a non-secret OPSBOT_ value: passed
		"AWS_PROFILE":                     "backup",
		"COPY_OF_TOKEN":                   "Bearer xoxb-1111-secret-slack",
		"APP_DB_URL":                      "postgres://app:dsn-pass-42@db:5432/app",
		"AM_TOKEN":                        "am-secret-from-file",
		"CACHE_URL":                       "redis://:redis-pass-7@cache:6379/0",
	} {
		t.Setenv(k, v)
	}
	t.Setenv("PATH", os.Getenv("PATH"))
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(health.Close)
	tg := config.Target{Name: "api", HealthURL: health.URL, Workdir: t.TempDir(),
		Restart: []string{"env"},
		Env:     []string{"DEPLOY_COLOUR", "LOG_LEVEL", "COPY_OF_TOKEN", "APP_DB_URL", "AM_TOKEN", "CACHE_URL", "SLACK_BOT_TOKEN", "OPSBOT_STORE_DSN", "UNSET_VAR"}}

	res, err := testActions(storetest.SQLite(t)).Run(context.Background(), tg, ActRestart, "console:op")
	if err != nil || !res.OK() {
		t.Fatalf("restart: %v, %+v", err, res)
	}
	got := strings.Split(strings.TrimSpace(res.Run.Output), "\n")
	slices.Sort(got)
	want := []string{"DEPLOY_COLOUR=blue", "HOME=/home/ops", "LANG=zh_CN.UTF-8", "LOG_LEVEL=info", "PATH=" + os.Getenv("PATH"), "TZ=Asia/Shanghai"}
	if !slices.Equal(got, want) {
		t.Fatalf("the action's environment:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The same environment for every child: a backup's dump and off-host copy.
	if env := ActionEnv(tg); !slices.Equal(sorted(env), want) {
		t.Fatalf("ActionEnv = %q", env)
	}
	// Without an environment of its own a child gets the base only, never
	// opsbot's whole environment.
	res2, err := RunArgv(context.Background(), []string{"env"}, "", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if out := res2.Output; strings.Contains(out, "secret") || strings.Contains(out, "DEPLOY_COLOUR") || !strings.Contains(out, "TZ=Asia/Shanghai") {
		t.Fatalf("nil environment gave:\n%s", out)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
