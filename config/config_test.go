package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDefaultsAreValid(t *testing.T) {
	c, err := LoadEnv("", map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:8080" || c.Store.Driver != "sqlite" || c.Store.DSN != "./data/opsbot.db" {
		t.Fatalf("defaults: %+v %+v", c.HTTP, c.Store)
	}
	if c.Thresholds.CPUPct.Alert != 85 || c.Thresholds.LLMSuccessPct.Alert != 90 || c.Thresholds.ResponseTimeMS.Alert != 2000 {
		t.Fatalf("seed thresholds: %+v", c.Thresholds)
	}
}

func TestEveryProblemWithItsKeyPath(t *testing.T) {
	_, err := LoadEnv("testdata/bad.yaml", map[string]string{})
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("want Problems, got %v", err)
	}
	want := []string{
		"http.adr: unknown key (line 2)",
		`targets[0].command_timeout: bad value "5 minutes" (line 8): want a duration such as 30s, 5m or 4h`,
		`store.driver: unknown driver "mysql" (want sqlite or postgres)`,
		"targets[1].name: missing",
		`targets[0].logs.app.format: unknown format "apache" (want nginx_combined, nginx_timed, app_iso or regexp:…)`,
		`targets[0].logs.app.timezone: unknown time zone "Mars/Olympus"`,
		`roles.ops.users[1]: want slack:<id>, discord:<id>, discord-role:<id> or shell:<name>, got "bob"`,
		`roles.ops.verbs[2]: unknown verb "Reboot!"`,
		`roles.ops.silence_max: must be positive`,
		`schedules.backup.spec: invalid cron spec "61 2 * * *": end of range (61) above maximum (59): 61`,
	}
	got := strings.Join(probs, "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing problem %q in:\n%s", w, got)
		}
	}
	if len(probs) != len(want) {
		t.Errorf("want %d problems, got %d:\n%s", len(want), len(probs), got)
	}
}

func TestEnvOverridesFileAndSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "opsbot.yaml")
	os.WriteFile(path, []byte("http:\n  addr: 127.0.0.1:9000\ntargets:\n  - name: api\n    health_url: http://127.0.0.1:8000/health\n"), 0o600)
	secret := filepath.Join(dir, "slack")
	os.WriteFile(secret, []byte("xoxb-from-file\n"), 0o600)
	c, err := LoadEnv(path, map[string]string{
		"OPSBOT_HTTP_ADDR":                "127.0.0.1:9100",
		"OPSBOT_STORE_DSN":                "postgres://u:pw@db/opsbot",
		"OPSBOT_STORE_DRIVER":             "postgres",
		"OPSBOT_TARGETS_0_HEALTH_TIMEOUT": "750ms",
		"OPSBOT_NOTIFIER_REPEAT":          "2h",
		"SLACK_BOT_TOKEN_FILE":            secret,
		"DISCORD_BOT_TOKEN":               "discord-secret-token",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:9100" || c.Store.Driver != "postgres" || c.Targets[0].HealthTimeout != 750*time.Millisecond || c.Notifier.Repeat != 2*time.Hour {
		t.Fatalf("env did not win: %+v %+v %+v", c.HTTP, c.Store.Driver, c.Targets[0].HealthTimeout)
	}
	if c.Secrets.SlackBotToken.Reveal() != "xoxb-from-file" {
		t.Fatalf("secret file: %q", c.Secrets.SlackBotToken.Reveal())
	}
	// Secrets never print.
	dump := fmt.Sprintf("%v %+v %#v %s", c.Secrets, c.Store, c.Secrets.DiscordBotToken, c.Store.DSN)
	for _, leak := range []string{"xoxb-from-file", "discord-secret-token", "pw@db"} {
		if strings.Contains(dump, leak) {
			t.Fatalf("secret %q printed: %s", leak, dump)
		}
	}
	all := strings.Join(c.All(), ",")
	if !strings.Contains(all, "pw") || !strings.Contains(all, "discord-secret-token") {
		t.Fatalf("All() misses secrets for redaction: %v", all)
	}
}

func TestBadEnvValueIsAProblem(t *testing.T) {
	_, err := LoadEnv("", map[string]string{"OPSBOT_NOTIFIER_REPEAT": "soon", "SLACK_BOT_TOKEN_FILE": "/nonexistent/opsbot-secret"})
	var probs Problems
	if !errors.As(err, &probs) || len(probs) != 2 {
		t.Fatalf("want 2 problems, got %v", err)
	}
	if !strings.Contains(probs[0], `notifier.repeat: bad value "soon" in OPSBOT_NOTIFIER_REPEAT`) {
		t.Fatalf("got %q", probs[0])
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	c, err := LoadEnv("../opsbot.example.yaml", map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Targets) < 3 {
		t.Fatalf("the example describes three backend instances, got %d", len(c.Targets))
	}
	for _, n := range []string{"app", "error", "access", "llm", "performance", "security"} {
		if _, ok := c.Targets[0].Logs[n]; !ok {
			t.Errorf("example target lacks log %q", n)
		}
	}
}

// The example is the configuration reference: every key of Config appears
// in it, set or (for secrets and optional argv) in a comment, so a section
// added to the structs without documenting it fails here.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../opsbot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := join(path, n.Content[i].Value)
				have[p] = true
				walk(n.Content[i+1], p)
				// A map keyed by names (roles, logs, schedules) stands for
				// its value type under "*".
				have[join(path, "*")] = true
				walk(n.Content[i+1], join(path, "*"))
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path+"[]")
			}
		}
	}
	walk(&root, "")
	// Keys documented in comments only: secrets come from the environment,
	// optional argv are shown commented out, demo is the --demo flag.
	commented := map[string]string{
		"demo":                           "--demo",
		"targets[].database.dsn":         "OPSBOT_TARGETS_0_DATABASE_DSN",
		"targets[].database.dump":        "# dump:",
		"targets[].redis.password":       "OPSBOT_TARGETS_0_REDIS_PASSWORD",
		"targets[].backup.offsite":       "# offsite:",
		"targets[].redis.allow_flushall": "allow_flushall",
		// Off by default: the example mapping is shown commented out.
		"alertmanager.actions[].alertname":    "#   - alertname:",
		"alertmanager.actions[].matchers":     "#     matchers:",
		"alertmanager.actions[].action":       "#     action:",
		"alertmanager.actions[].target":       "# target:",
		"alertmanager.actions[].target_label": "#     target_label:",
		// The route tree is recursive; its example is commented out.
		"routing.route.routes":  "#   - matchers:",
		"routing.receivers":     "#   - name: api-oncall",
		"routing.inhibit_rules": "#   - name: db_down_mutes_api_errors",
		// Off by default: on-call and paging are shown commented out (docs/paging.md).
		"paging": "# paging:",
		// Off by default: your own checks and rules are shown commented out (docs/rules.md).
		"checks":      "# checks:",
		"rules.rules": "#   rules:            # rules.rules",
	}
	var missing []string
	var want func(t reflect.Type, path string)
	want = func(ty reflect.Type, path string) {
		for ty.Kind() == reflect.Pointer {
			ty = ty.Elem()
		}
		switch {
		case ty.Kind() == reflect.Struct && ty != reflect.TypeOf(time.Time{}):
			for i := 0; i < ty.NumField(); i++ {
				f := ty.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				if name == "" || name == "-" || !f.IsExported() {
					continue
				}
				p := join(path, name)
				if doc, ok := commented[p]; ok {
					if !strings.Contains(string(data), doc) {
						missing = append(missing, p+" (in a comment)")
					}
					continue
				}
				if !have[p] {
					missing = append(missing, p)
					continue
				}
				want(f.Type, p)
			}
		case ty.Kind() == reflect.Slice && ty.Elem().Kind() == reflect.Struct:
			want(ty.Elem(), path+"[]")
		case ty.Kind() == reflect.Map && ty.Elem().Kind() == reflect.Struct:
			if !have[join(path, "*")] {
				missing = append(missing, path+" (no entry)")
				return
			}
			want(ty.Elem(), join(path, "*"))
		}
	}
	want(reflect.TypeOf(Config{}), "")
	if len(missing) > 0 {
		t.Fatalf("opsbot.example.yaml does not document:\n  %s", strings.Join(missing, "\n  "))
	}
}

// The loader checks the shape of verb names everywhere they appear (a name
// of two words is a path); whether the verb exists is the policy's to say,
// over the registered verbs (commands.Registry.CheckConfig).
func TestVerbNamesByShape(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "opsbot.yaml")
	os.WriteFile(path, []byte(`confirm:
  two_person: [restore, "backup restore", "Backup"]
rate_limits:
  verbs:
    "cache flush": {count: 1, per: 1h}
    "bak up!": {count: 1, per: 1h}
channels:
  verbs:
    "slack:C0GEN": [status, "incident list", "*"]
    "irc:#ops": ["stat us "]
roles:
  operator: {users: ["slack:U1"], silence_max: 12h}
`), 0o600)
	c, err := LoadEnv(path, map[string]string{})
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("want Problems, got %v", err)
	}
	want := []string{
		`channels.verbs.irc:#ops: want slack:<id>, discord:<id> or console, got "irc:#ops" (line 10)`,
		`channels.verbs.irc:#ops[0]: unknown verb "stat us " (line 10)`,
		`confirm.two_person[2]: unknown verb "Backup" (line 2)`,
		`rate_limits.verbs.bak up!: unknown verb "bak up!" (line 6)`,
	}
	sort.Strings(probs)
	if got := strings.Join(probs, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if c.Roles["operator"].SilenceMax != 12*time.Hour || len(c.Channels.Verbs["slack:C0GEN"]) != 3 {
		t.Fatalf("decoded %+v %+v", c.Roles, c.Channels.Verbs)
	}
}

// Every routing problem is reported at once, each with its YAML line.
func TestRoutingProblemsWithLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "opsbot.yaml")
	yml := `routing:
  receivers:
    - name: api
      channels: [slack:CAPI]
    - name: api
      channels: [irc:x]
  route:
    receiver: nobody
    routes:
      - matchers: ['target=~"api(("', 'severity="critical"']
        receiver: api
        group_by: [target, "bad-label"]
        routes:
          - matchers: ['rule!~disk']
            receiver: ghost
            group_wait: -1s
  inhibit_rules:
    - source_matchers: ['severity="critical"']
      target_matchers: ['severity=~"warn"']
      equal: [target, "1x"]
  bogus: 1
`
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadEnv(path, map[string]string{})
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("err %v", err)
	}
	want := []string{
		"routing.bogus: unknown key (line 21)",
		`routing.receivers[1].name: duplicate receiver "api" (line 5)`,
		`routing.receivers[1].channels[0]: bad channel "irc:x" (want slack:<id>, discord:<id> or console) (line 6)`,
		`routing.route.receiver: unknown receiver "nobody" (line 8)`,
		`routing.route.routes[0].matchers[0]: bad matcher "target=~\"api((\"": error parsing regexp: missing closing ): ` + "`^(?:api(()$`" + ` (line 10)`,
		`routing.route.routes[0].group_by[1]: bad label name "bad-label" (line 12)`,
		`routing.route.routes[0].routes[0].receiver: unknown receiver "ghost" (line 15)`,
		"routing.route.routes[0].routes[0].group_wait: must not be negative (line 16)",
		`routing.inhibit_rules[0].equal[1]: bad label name "1x" (line 20)`,
	}
	got := strings.Join(probs, "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q", w)
		}
	}
	if len(probs) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(probs), len(want), got)
	}
}
