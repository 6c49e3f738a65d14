package commands

import (
	"strings"
	"testing"
)

func forgivingVerbs() map[string]*Verb {
	id := Param{Name: "id", Required: true, Kind: "int", Help: "backup number from /ops backup list"}
	return map[string]*Verb{
		"backup": {Name: "backup", Default: "create", Subs: []*Verb{
			{Name: "create", Params: []Param{{Name: "target"}}},
			{Name: "list"},
			{Name: "restore", Params: []Param{id}},
		}},
		"logs": {Name: "logs", Subs: []*Verb{
			{Name: "tail", Params: []Param{{Name: "name", Required: true}, {Name: "n", Kind: "int"}}},
		}},
		"incident": {Name: "incident", Subs: []*Verb{
			{Name: "stage", Params: []Param{{Name: "id", Required: true, Kind: "int"}, {Name: "stage", Required: true, Choices: []string{"handling", "recovery", "post-mortem"}, Aliases: map[string]string{"postmortem": "post-mortem"}}}},
			{Name: "postmortem", Aliases: []string{"post-mortem"}, Params: []Param{{Name: "id", Required: true, Kind: "int"}}},
			{Name: "open", Params: []Param{{Name: "title", Rest: true, Required: true}}, Flags: []Flag{{Name: "sev", Choices: []string{"critical", "warning"}, Aliases: SeverityAliases}}},
		}},
	}
}

func TestForgivingInput(t *testing.T) {
	verbs := forgivingVerbs()
	for _, c := range []struct {
		line, path string
		args       []string
		flags      map[string]string
		err        string
	}{
		{line: "backup RESTORE 12", path: "backup restore", args: []string{"12"}},
		{line: "backup restor 1", err: "unknown subcommand \"restor\" for /ops backup; did you mean restore?\nusage: /ops backup create|list|restore"},
		{line: "backup lsit", err: `unknown subcommand "lsit" for /ops backup; did you mean list?`},
		// A configured target that looks like a typo is still a target.
		{line: "backup lst", path: "backup create", args: []string{"lst"}},
		{line: "backup demo", path: "backup create", args: []string{"demo"}},
		{line: "logs tial error", err: `unknown subcommand "tial" for /ops logs; did you mean tail?`},
		{line: "logs frobnicate", err: `unknown subcommand "frobnicate" for /ops logs; subcommands: tail`},
		{line: "logs tail 5 error", err: "<name> and <n> are the other way round; did you mean `/ops logs tail error 5`?"},
		{line: "logs tail error 5", path: "logs tail", args: []string{"error", "5"}},
		{line: "incident stage handling 7", err: "<id> and <stage> are the other way round; did you mean `/ops incident stage 7 handling`?"},
		{line: "incident stage 7 PostMortem", path: "incident stage", args: []string{"7", "post-mortem"}},
		{line: "incident stage 7 Recovery", path: "incident stage", args: []string{"7", "recovery"}},
		{line: "incident stage 7 recovry", err: `stage must be one of handling, recovery, post-mortem, got "recovry"; did you mean recovery?`},
		{line: "incident post-mortem 7", path: "incident postmortem", args: []string{"7"}},
		{line: "incident Post-Mortem 7", path: "incident postmortem", args: []string{"7"}},
		{line: "incident open db down --sev sev1", path: "incident open", args: []string{"db down"}, flags: map[string]string{"sev": "critical"}},
		{line: "incident open db down --sev HIGH", path: "incident open", args: []string{"db down"}, flags: map[string]string{"sev": "critical"}},
		{line: "incident open db down --sev low", path: "incident open", args: []string{"db down"}, flags: map[string]string{"sev": "warning"}},
		{line: "incident open db down --sev sev2", path: "incident open", args: []string{"db down"}, flags: map[string]string{"sev": "warning"}},
		{line: "incident open db down --SEV Warning", path: "incident open", args: []string{"db down"}, flags: map[string]string{"sev": "warning"}},
		{line: "incident open db down --sev sev3", err: `--sev must be one of critical, warning, got "sev3"`},
	} {
		words, err := Split(c.line)
		if err != nil {
			t.Fatal(err)
		}
		_, path, args, flags, err := bind(verbs[words[0]], words[0], words[1:], []string{"demo", "lst"})
		if c.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.line, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if path != c.path || strings.Join(args, "|") != strings.Join(c.args, "|") {
			t.Errorf("%q: %s %q, want %s %q", c.line, path, args, c.path, c.args)
		}
		for k, v := range c.flags {
			if flags[k] != v {
				t.Errorf("%q: --%s %q, want %q", c.line, k, flags[k], v)
			}
		}
	}
}

func TestExamplesUseConfiguredTargets(t *testing.T) {
	for _, c := range []struct {
		ex      string
		targets []string
		want    string
	}{
		{"/ops status api-1", []string{"demo"}, "/ops status demo"},
		{"/ops restart api-2", []string{"demo", "web"}, "/ops restart web"},
		{"/ops monitor api", []string{"demo"}, "/ops monitor demo"},
		{"/ops backup create --target api", []string{"demo"}, "/ops backup create --target demo"},
		{`/ops subscribe security severity=critical target=~"api.*"`, []string{"demo"}, `/ops subscribe security severity=critical target=~"api.*"`},
		{"/ops silence target=db 1d migration", []string{"demo"}, "/ops silence target=demo 1d migration"},
		{"/ops diagnose db api-1", []string{"demo"}, "/ops diagnose db demo"},
		{"/ops status api-1", []string{"api-1", "db"}, "/ops status api-1"},
		{"/ops status api-1", nil, "/ops status api-1"},
	} {
		if got := Example(c.ex, c.targets); got != c.want {
			t.Errorf("Example(%q, %v) = %q, want %q", c.ex, c.targets, got, c.want)
		}
	}
}

func TestPlaceholderHelpListsClosedSets(t *testing.T) {
	got := PlaceholderHelp("severity", []string{"critical", "warning"}, SeverityAliases)
	want := "severity; one of: critical, warning (crit/high/sev1/严重/严重故障/紧急 = critical, low/sev2/warn/告警/警告 = warning)"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := PlaceholderHelp("critical (default) or warning", []string{"critical", "warning"}, nil); got != "critical (default) or warning" {
		t.Errorf("listed twice: %q", got)
	}
}

func TestUsageLineHasOneForm(t *testing.T) {
	v := &Verb{Usage: "silence <matcher>… <duration> · silence expire <id>"}
	if got := UsageLine(v, "silence"); got != "usage: /ops silence <matcher>… <duration> · /ops silence expire <id>" {
		t.Errorf("got %q", got)
	}
	v = &Verb{Params: []Param{{Name: "id", Required: true}}, Flags: []Flag{{Name: "sev", Choices: []string{"critical", "warning"}}}}
	if got := UsageLine(v, "/ops incident open"); got != "usage: /ops incident open <id> [--sev critical|warning]" {
		t.Errorf("got %q", got)
	}
}
