package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
)

// defaults is the policy entry of every verb path the bot offers: the safe
// defaults. A verb added without an entry is refused to everyone and fails
// here; one added with an entry fails here too until it is listed, so its
// class is a decision someone made, not a default nobody saw.
var defaults = map[string]policy.Class{
	"help": policy.Read, "whoami": policy.Read, "status": policy.Read, "monitor": policy.Read,
	"logs search": policy.Read, "logs tail": policy.Read, "capacity": policy.Read,
	"silences": policy.Read, "subscriptions list": policy.Read, "subscriptions test": policy.Read,
	"alerts list": policy.Read, "alerts show": policy.Read, "reload": policy.Admin,
	"incident list": policy.Read, "incident show": policy.Read, "incident stats": policy.Read,
	"backup list": policy.Read, "schedule list": policy.Read,

	"silence": policy.Operate, "unsilence": policy.Operate, "ack": policy.Operate,
	"subscribe": policy.Operate, "unsubscribe": policy.Operate,
	"incident open": policy.Operate, "incident close": policy.Operate, "incident stage": policy.Operate,
	"incident note": policy.Operate, "incident lead": policy.Operate, "incident reopen": policy.Operate,
	"incident postmortem": policy.Operate,
	"backup create":       policy.Operate, "backup verify": policy.Operate,
	"schedule run": policy.Operate, "schedule pause": policy.Operate, "schedule resume": policy.Operate,
	"cleanup": policy.Operate, "audit": policy.Operate,

	"demo health": policy.Admin, "demo burst": policy.Admin, "demo restart-mode": policy.Admin, "demo state": policy.Admin,
	"demo fault": policy.Admin, "diagnose": policy.Read,

	"restart": policy.Dangerous, "update": policy.Dangerous, "backup restore": policy.Dangerous, "cache flush": policy.Dangerous,

	"oncall show": policy.Read, "oncall override": policy.Operate, "oncall set": policy.Admin, "locale": policy.Operate,
}

var builtRegistry *commands.Registry

// registry is the registry as the app wires it (every verbs package, the
// demo verb declared), built once for this package's tests.
func registry(t *testing.T) *commands.Registry {
	t.Helper()
	if builtRegistry == nil {
		reg, err := Registry(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		builtRegistry = reg
	}
	return builtRegistry
}

func TestEveryVerbHasAPolicyEntry(t *testing.T) {
	reg := registry(t)
	cat := reg.Catalogue()
	seen := map[string]bool{}
	for _, path := range cat.Paths() {
		seen[path] = true
		c := cat.Class(path)
		if c == policy.Unlisted {
			t.Errorf("%s has no policy entry: nobody may run it (set Access on its commands.Verb)", path)
			continue
		}
		want, ok := defaults[path]
		if !ok {
			t.Errorf("%s (%s) is not in this test's table of defaults: add it with its class", path, c)
		} else if c != want {
			t.Errorf("%s is %s, the table says %s", path, c, want)
		}
	}
	for path := range defaults {
		if !seen[path] {
			t.Errorf("%s is in the table but not registered", path)
		}
	}
	// Registered (not only declared) verbs are in the catalogue too.
	if es := reg.Entries(); len(es) < len(defaults)-5 { // the five demo verbs are declared, not registered
		t.Errorf("only %d registered entries", len(es))
	}
	// And the policy follows the entries for a chat user with no role:
	// read-only verbs run, nothing else does.
	req := commands.Request{Platform: "slack", User: "UNOBODY", Channel: "C1"}
	for path, c := range defaults {
		if d := reg.Decide(&req, path); d.Allowed != (c == policy.Read) {
			t.Errorf("%s for a user without a role: allowed %v (%s)", path, d.Allowed, d.Reason)
		}
	}
}

// One set of verb names everywhere: every YAML configuration example in
// the README and the Slack and Discord guides, and opsbot.example.yaml,
// passes the loader and the policy's check of names (`config check`).
func TestDocsConfigExamplesPassConfigCheck(t *testing.T) {
	reg := registry(t)
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```")
	dir := t.TempDir()
	n := 0
	for _, doc := range []string{"../README.md", "../docs/slack.md", "../docs/discord.md", "../opsbot.example.yaml"} {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		examples := []string{string(data)}
		if strings.HasSuffix(doc, ".md") {
			examples = nil
			for _, m := range block.FindAllStringSubmatch(string(data), -1) {
				examples = append(examples, m[1])
			}
			if len(examples) == 0 {
				t.Errorf("%s has no yaml example", doc)
			}
		}
		for i, ex := range examples {
			n++
			path := filepath.Join(dir, filepath.Base(doc)+".yaml")
			if err := os.WriteFile(path, []byte(ex), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.LoadEnv(path, map[string]string{})
			var probs config.Problems
			if err != nil && !errors.As(err, &probs) {
				t.Fatalf("%s example %d: %v", doc, i, err)
			}
			names, _ := reg.CheckConfig(cfg)
			if probs = append(probs, names...); len(probs) > 0 {
				t.Errorf("%s example %d:\n%s\n%s", doc, i, ex, probs.Error())
			}
			if !strings.Contains(ex, "roles:") && !strings.Contains(ex, "admin") {
				continue
			}
			// An example that configures roles shows an admin for chat.
			if _, notes := reg.CheckConfig(cfg); len(notes) > 0 {
				t.Errorf("%s example %d configures roles but no admin for chat: %v", doc, i, notes)
			}
		}
	}
	if n < 4 {
		t.Fatalf("only %d examples checked", n)
	}
}

// The names the docs use resolve as they say: two_person: [restore] is
// backup restore; "backup" is all of backup; "list" is ambiguous.
func TestVerbNamesOfTheDocs(t *testing.T) {
	cat := registry(t).Catalogue()
	for name, want := range map[string]string{"restore": "backup restore", "flush": "cache flush", "backup restore": "backup restore", "backup": "backup", "close": "incident close",
		"show": "incident show", "alerts show": "alerts show", "alerts.show": "alerts show"} {
		if canon, _, err := cat.Resolve(name); err != nil || canon != want {
			t.Errorf("%q: %q %v, want %q", name, canon, err, want)
		}
	}
	_, _, err := cat.Resolve("list")
	if err == nil || !strings.HasPrefix(err.Error(), `"list" is ambiguous: name one of alerts list, backup list, incident list, schedule list, subscriptions list`) {
		t.Errorf("list: %v", err)
	}
	_, _, err = cat.Resolve("restor")
	if err == nil || err.Error() != `unknown verb "restor"; did you mean "backup restore"?` {
		t.Errorf("restor: %v", err)
	}
	var ps []string
	_, ps, _ = cat.Resolve("backup")
	sort.Strings(ps)
	if strings.Join(ps, ",") != "backup create,backup list,backup restore,backup verify" {
		t.Errorf("backup: %v", ps)
	}
}

// With no admin for chat the start-up log says so, once; a reload that
// names an unknown verb is refused and keeps the old configuration.
func TestStartupSaysNoAdminForChatAndReloadChecksNames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "opsbot.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte("store:\n  dsn: "+filepath.Join(dir, "opsbot.db")+"\n"+s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("roles:\n  operator: {users: [slack:U1]}\n")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs strings.Builder
	a, err := build(ctx, cfg, st, Options{Stdout: io.Discard}, slog.New(slog.NewTextHandler(&logs, nil)), false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if n := strings.Count(logs.String(), "no admin is configured for chat"); n != 1 {
		t.Fatalf("the note appears %d times:\n%s", n, logs.String())
	}
	write("roles:\n  operator: {users: [slack:U1], verbs: [silence, restor]}\n")
	if a.Reload() {
		t.Fatal("a reload naming an unknown verb was accepted")
	}
	if !strings.Contains(logs.String(), `roles.operator.verbs[1]: unknown verb \"restor\"; did you mean \"backup restore\"?`) {
		t.Fatalf("reload refusal not logged:\n%s", logs.String())
	}
	write("roles:\n  admin: {users: [slack:U1]}\n")
	if !a.Reload() {
		t.Fatalf("valid reload refused:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), "no admin is configured for chat"); n != 1 {
		t.Fatalf("the note appears %d times:\n%s", n, logs.String())
	}
	req := commands.Request{Platform: "slack", User: "U1", Channel: "C1"}
	if d := a.reg.Decide(&req, "restart"); !d.Allowed {
		t.Fatalf("reloaded admin refused: %s", d.Reason)
	}
}

// The policy is compiled for every decision (never stale after a reload);
// this is its cost over the real catalogue with three roles, as
// Registry.Decide pays it.
func BenchmarkDecide(b *testing.B) {
	reg, err := Registry(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	cfg := config.Default()
	cfg.Roles = map[string]config.Role{
		"admin":    {Users: []string{"slack:UADM"}},
		"operator": {Users: []string{"slack:UOP", "discord-role:7"}},
		"releaser": {Users: []string{"slack:UREL"}, Verbs: []string{"update", "restore"}},
	}
	cfg.Confirm.TwoPerson = []string{"restore"}
	s := policy.Subject{Platform: "slack", User: "UOP", Channel: "slack:C1"}
	for b.Loop() {
		p, _ := policy.Compile(commands.Rules(cfg), reg.Catalogue())
		if d := p.Decide(s, "silence"); !d.Allowed {
			b.Fatal(d.Reason)
		}
	}
}
