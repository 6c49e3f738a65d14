package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// userMessageProblem says what is wrong with msg as an error shown to a
// user ("" when nothing): one line of plain words in the house style, no
// trace of Go's formatting or internals. What the user wrote (quoted, or
// given as user) is left out of the search for internals: it may hold
// anything.
func userMessageProblem(msg string, user ...string) string {
	r, _ := utf8.DecodeRuneInString(msg)
	switch {
	case strings.TrimSpace(msg) == "":
		return "empty"
	case strings.ContainsAny(msg, "\r\n"):
		return "more than one line"
	case !utf8.ValidString(msg):
		return "invalid UTF-8"
	case unicode.IsUpper(r):
		return "starts with a capital"
	}
	ours := quoted.ReplaceAllString(msg, `""`)
	for _, u := range user {
		if u != "" {
			ours = strings.ReplaceAll(ours, u, "")
		}
	}
	for _, noise := range []string{"%!", "Go struct", "Go value", "runtime error", "goroutine", "reflect.", "<nil>", "!!"} {
		if strings.Contains(ours, noise) {
			return "Go internals: " + noise
		}
	}
	return ""
}

// quoted matches a Go-quoted string (%q) in a message.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// FuzzLoad: a configuration file (and one OPSBOT_ variable) loads or is
// refused with problems, each one line naming its key; a loaded
// configuration is valid, and printed as YAML it loads again to a
// configuration that prints the same.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile("../opsbot.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	bad, err := os.ReadFile("testdata/bad.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][3]string{
		{string(example), "", ""},
		{string(bad), "", ""},
		{"", "OPSBOT_HTTP_ADDR", "0.0.0.0:9090"},
		{"http:\n  read_timeout: 5 minutes\n", "", ""},
		{"targets:\n  - name: api\n    health_url: http://127.0.0.1:8000/health\n", "OPSBOT_TARGETS_0_HEALTH_TIMEOUT", "3s"},
		{"roles:\n  ops: {users: [slack:U1], verbs: ['*']}\n", "OPSBOT_ROLES_OPS_USERS", "[slack:U2, discord:3]"},
		{"redact:\n  patterns: [\"(\\n\"]\n", "", ""},
		{"\"weird\\nkey\": 1\n", "", ""},
		{"targets: {a: 1}\n", "", ""},
		{"http: [1, 2]\n", "", ""},
		{"a: &x [*x]\n", "", ""},
		{"{", "", ""},
		{"rate_limits:\n  default: {count: 0, per: 1m}\n", "OPSBOT_RATE_LIMITS_DEFAULT_PER", "soon"},
		{"targets:\n  - name: api\n    health_url: http://x\n    logs:\n      app: {path: a.log, format: 'regexp:(?P<time>\\S+)'}\n", "", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "opsbot.yaml")
	load := func(t *testing.T, data []byte, env map[string]string) (*Config, error) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadEnv(path, env)
	}
	f.Fuzz(func(t *testing.T, data, key, val string) {
		env := map[string]string{}
		// Only settings: a secret's _FILE twin would make the loader read
		// whatever file the input names.
		if strings.HasPrefix(key, "OPSBOT_") && !strings.HasSuffix(key, "_FILE") && !strings.HasPrefix(key, "OPSBOT_ALERTMANAGER_TOKEN") {
			env[key] = val
		}
		cfg, err := load(t, []byte(data), env)
		if err != nil {
			var probs Problems
			if !errors.As(err, &probs) {
				if p := userMessageProblem(err.Error()); p != "" {
					t.Fatalf("%q: error %q: %s", data, err, p)
				}
				return
			}
			if len(probs) == 0 {
				t.Fatalf("%q: an empty list of problems", data)
			}
			for _, pr := range probs {
				// "key.path: what is wrong"; the key is the user's own words.
				_, what, _ := strings.Cut(pr, ": ")
				if strings.ContainsAny(pr, "\r\n") {
					t.Fatalf("%q: problem %q: more than one line", data, pr)
				}
				if p := userMessageProblem(what); what != "" && p != "" {
					t.Fatalf("%q: problem %q: %s", data, pr, p)
				}
			}
			return
		}
		if probs := cfg.Validate(); len(probs) > 0 {
			t.Fatalf("%q loaded, yet Validate says %v", data, probs)
		}
		printed, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("%q: loaded configuration does not print: %v", data, err)
		}
		again, err := load(t, printed, map[string]string{})
		if err != nil {
			t.Fatalf("%q loaded; printed as\n%s\nit is refused: %v", data, printed, err)
		}
		reprinted, err := yaml.Marshal(again)
		if err != nil || string(reprinted) != string(printed) {
			t.Fatalf("%q: printed\n%s\nloads and prints as\n%s(%v)", data, printed, reprinted, err)
		}
	})
}
