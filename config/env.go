package config

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// actionBaseEnv are the variables every action gets from opsbot's own
// environment; targets[].env names more.
var actionBaseEnv = [...]string{"PATH", "HOME", "LANG", "TZ"}

// secretEnv are the variables of opsbot's own secrets; each may also be
// given as a file named by NAME_FILE.
var secretEnv = [...]string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
	"DISCORD_BOT_TOKEN", "DISCORD_PUBLIC_KEY", "DISCORD_APP_ID", "OPSBOT_STORE_DSN", "OPSBOT_ALERTMANAGER_TOKEN"}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// dsnPassword finds the password of a key/value PostgreSQL DSN.
var dsnPassword = regexp.MustCompile(`(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// ActionBaseEnv returns the variables every action gets from opsbot's own
// environment when they are set: PATH, HOME, LANG and TZ.
func ActionBaseEnv() []string { return append([]string(nil), actionBaseEnv[:]...) }

// IsSecretEnv reports whether a variable is never passed to an action by
// its name: one of opsbot's secrets, its NAME_FILE twin, or any OPSBOT_
// variable (they configure opsbot, store DSNs and passwords among them).
func IsSecretEnv(name string) bool {
	if strings.HasPrefix(name, "OPSBOT_") {
		return true
	}
	base := strings.TrimSuffix(name, "_FILE")
	for _, s := range secretEnv {
		if base == s {
			return true
		}
	}
	return false
}

// holdsSecretValue reports whether a variable's value is a secret of
// opsbot's: its secrets, and the OPSBOT_ variables of secret keys (a DSN,
// a password, a token).
func holdsSecretValue(name string) bool {
	base := strings.TrimSuffix(name, "_FILE")
	for _, s := range secretEnv {
		if base == s {
			return true
		}
	}
	if !strings.HasPrefix(base, "OPSBOT_") {
		return false
	}
	for _, suffix := range []string{"_DSN", "_PASSWORD", "_TOKEN", "_SECRET", "_KEY"} {
		if strings.HasSuffix(base, suffix) {
			return true
		}
	}
	return false
}

// SecretValues returns the secret values the environment env gives opsbot
// (a _FILE variable's file is read), with the password of each DSN also
// on its own.
func SecretValues(env map[string]string) []string {
	var out []string
	for name, v := range env {
		if v == "" || !holdsSecretValue(name) {
			continue
		}
		if strings.HasSuffix(name, "_FILE") {
			b, err := os.ReadFile(v)
			if err != nil {
				continue
			}
			v = strings.TrimSpace(string(b))
		}
		if v == "" {
			continue
		}
		out = append(out, v)
		if u, err := url.Parse(v); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && p != "" {
				out = append(out, p)
			}
		}
		if m := dsnPassword.FindStringSubmatch(v); m != nil {
			out = append(out, strings.Trim(m[1], "'"))
		}
	}
	return out
}

// HoldsSecret reports whether the value v is or contains one of secrets
// (a secret shorter than four bytes only when v is exactly it).
func HoldsSecret(v string, secrets []string) bool {
	for _, s := range secrets {
		if s != "" && (v == s || (len(s) >= 4 && strings.Contains(v, s))) {
			return true
		}
	}
	return false
}

// validateEnv checks the names of targets[].env.
func validateEnv(path string, names []string, p *Problems) {
	for i, name := range names {
		key := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case !envNameRE.MatchString(name):
			p.add(key, "%q is not a variable name", name)
		case IsSecretEnv(name):
			p.add(key, "%s is one of opsbot's own variables and is never passed to actions", name)
		}
	}
}

// checkEnvValues refuses a targets[].env variable whose value in env holds
// one of opsbot's secrets (from the environment or the file): it would
// not be passed, and the action would fail for a reason nobody sees.
func checkEnvValues(c *Config, env map[string]string, p *Problems) {
	secrets := append(SecretValues(env), c.All()...)
	for i, t := range c.Targets {
		for j, name := range t.Env {
			if v, ok := env[name]; ok && !IsSecretEnv(name) && HoldsSecret(v, secrets) {
				p.add(fmt.Sprintf("targets[%d].env[%d]", i, j), "%s holds one of opsbot's secrets and is never passed to actions", name)
			}
		}
	}
}
