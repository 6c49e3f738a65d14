package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPagingProblems(t *testing.T) {
	_, err := LoadEnv("testdata/paging_bad.yaml", map[string]string{})
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("want Problems, got %v", err)
	}
	want := []string{
		`paging.channel: want slack:<id>, discord:<id> or console, got "irc:ops"`,
		`paging.people.bob.email: not an e-mail address: "not an address"`,
		`paging.people.bob.phone: want E.164 (+4930123456), got "12345"`,
		`paging.people.ghost: no way to reach them (slack, discord, email or phone)`,
		`paging.rotations.empty.members: nobody is in this rotation`,
		`paging.rotations.empty: handoff "9": want HH:MM`,
		`paging.integrations.fax.type: unknown type "fax" (want pagerduty, email, webhook)`,
		`paging.integrations.hook.url: not an http(s) URL: "ftp://example.com/x"`,
		`paging.integrations.hook: signing key missing: set OPSBOT_PAGING_HOOK_SECRET (or OPSBOT_PAGING_HOOK_SECRET_FILE)`,
		`paging.integrations.mail.smtp: not host:port: "mail.example.com"`,
		`paging.integrations.mail.from: not an e-mail address: "ops"`,
		`paging.integrations.mail.to[0]: not an e-mail address: "x@"`,
		`paging.integrations.mail: password missing: set OPSBOT_PAGING_MAIL_SECRET (or OPSBOT_PAGING_MAIL_SECRET_FILE)`,
		`paging.integrations.open.tls: none is only allowed to a loopback server`,
		`paging.integrations.pd: routing key missing: set OPSBOT_PAGING_PD_SECRET (or OPSBOT_PAGING_PD_SECRET_FILE)`,
		`paging.policies[0].steps[1].after: steps must be in order of after`,
		`paging.policies[0].steps[1].rotation: unknown rotation "tertiary"`,
		`paging.policies[0].steps[1].via[0]: unknown way "sms" (want channel, dm or one of paging.integrations)`,
		`paging.policies[0].steps[2].people[0]: unknown person "carol"`,
		`paging.policies[0].steps[3]: names nobody: set rotation or people`,
		`paging.policies[0].steps[3].via: empty: want channel, dm or an integration`,
		`paging.policies[1].name: missing`,
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

func TestPagingSecretsFromEnvAndFile(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "opsbot.yaml")
	if err := os.WriteFile(cfgPath, []byte(`paging:
  people:
    alice: {slack: U1, email: alice@example.com}
  rotations:
    primary: {members: [alice], length: daily, handoff: "09:00", start: "2026-03-02"}
  integrations:
    pd: {type: pagerduty}
    sms: {type: webhook, url: "https://sms.example.com/hook"}
  policies:
    - {name: critical, severity: critical, steps: [{after: 0s, rotation: primary, via: [pd, sms]}]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "sms-key")
	if err := os.WriteFile(keyFile, []byte("hook-signing-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadEnv(cfgPath, map[string]string{"OPSBOT_PAGING_PD_SECRET": "R0UTINGKEY0123456789012345678901", "OPSBOT_PAGING_SMS_SECRET_FILE": keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if c.Secrets.Paging["pd"].Reveal() != "R0UTINGKEY0123456789012345678901" || c.Secrets.Paging["sms"].Reveal() != "hook-signing-key" {
		t.Fatalf("secrets not loaded")
	}
	if c.Paging.Integrations["pd"].URL != "https://events.pagerduty.com" || c.Paging.Integrations["sms"].Timeout != 10*time.Second {
		t.Fatalf("defaults not applied: %+v", c.Paging.Integrations)
	}
	all := strings.Join(c.All(), " ")
	if !strings.Contains(all, "hook-signing-key") || !strings.Contains(all, "R0UTINGKEY") {
		t.Fatalf("paging secrets are not redacted")
	}
	if pol, ok := c.Paging.PolicyFor("critical", "health"); !ok || len(pol.Steps) != 1 {
		t.Fatalf("policy for critical: %+v %v", pol, ok)
	}
	if _, ok := c.Paging.PolicyFor("warning", "health"); ok {
		t.Fatalf("a warning matched the critical policy")
	}
	if who, ok := c.Paging.PersonOf("slack:U1"); !ok || who != "alice" {
		t.Fatalf("PersonOf(slack:U1) = %q %v", who, ok)
	}
}

func TestParseRotation(t *testing.T) {
	for _, c := range []struct {
		spec RotationSpec
		err  string
	}{
		{RotationSpec{Length: "daily", Handoff: "09:00", Start: "2026-03-02"}, ""},
		{RotationSpec{Length: "12h", Handoff: "23:59", Timezone: "Asia/Shanghai", Start: "2026-03-02"}, ""},
		{RotationSpec{Length: "30m", Handoff: "09:00", Start: "2026-03-02"}, `length "30m": want daily, weekly or a duration of at least 1h`},
		{RotationSpec{Length: "fortnightly", Handoff: "09:00", Start: "2026-03-02"}, `length "fortnightly": want daily, weekly or a duration of at least 1h`},
		{RotationSpec{Length: "daily", Handoff: "24:00", Start: "2026-03-02"}, `handoff "24:00": want HH:MM`},
		{RotationSpec{Length: "daily", Handoff: "09:5", Start: "2026-03-02"}, `handoff "09:5": want HH:MM`},
		{RotationSpec{Length: "daily", Handoff: "09:00", Start: "2 March"}, `start "2 March": want YYYY-MM-DD`},
	} {
		_, err := ParseRotation("r", c.spec)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("%+v: err %q, want %q", c.spec, got, c.err)
		}
	}
}
