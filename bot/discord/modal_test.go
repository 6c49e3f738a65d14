package discord_test

import (
	"context"
	"net/http"
	"testing"

	"opsbot/bot/discord/discordfake"
	"opsbot/bot/forms"
	"opsbot/commands"
	"opsbot/policy"
)

// formVerbs are stand-ins of incident open/note and silence that record
// their calls.
func formVerbs(e *env) []*commands.Verb {
	rec := func(ctx context.Context, c *commands.Call) (commands.Response, error) {
		e.record(c)
		return commands.Text("done"), nil
	}
	return []*commands.Verb{
		{Name: "incident", Summary: "incidents", Subs: []*commands.Verb{
			{Name: "open", Access: policy.Read, Summary: "open", Params: []commands.Param{{Name: "title", Required: true, Rest: true}},
				Flags: []commands.Flag{{Name: "sev", Choices: []string{"critical", "warning"}}, {Name: "target"}}, Run: rec},
			{Name: "note", Access: policy.Read, Summary: "note", Params: []commands.Param{{Name: "id", Required: true, Kind: "int"}, {Name: "text", Required: true, Rest: true}}, Run: rec},
		}},
		{Name: "silence", Access: policy.Read, Summary: "silence", Params: []commands.Param{{Name: "matcher", Required: true}, {Name: "duration", Required: true}, {Name: "reason", Rest: true}}, Run: rec},
	}
}

func TestFormsOpenAsModalsAndRunTheirCommand(t *testing.T) {
	e := newEnv(t, "http")
	e.reg.MustRegister(formVerbs(e)...)

	// The Silence… button on an alert opens the modal with its matchers.
	click := e.fake.NewClick(alice, channel, e.fake.AddMessage(channel, discordfake.Message{Content: "disk full"}), forms.Button+":silence:rule=disk,target=api")
	if code, body := e.deliver(click); code != http.StatusOK || body["type"] != float64(9) {
		t.Fatalf("click answered %d %v, want a modal", code, body)
	}
	m := e.interaction(click.Token).Modal
	if m == nil || m.Title != "Silence alerts" || len(m.Components) != 3 || m.Components[0].Components[0].Value != "rule=disk,target=api" {
		t.Fatalf("modal %+v", m)
	}

	// Add note on an incident's message opens the note form for it.
	click = e.fake.NewClick(alice, channel, e.fake.AddMessage(channel, discordfake.Message{Content: "Incident #7"}), forms.Button+":incident-note:7")
	if _, body := e.deliver(click); body["type"] != float64(9) {
		t.Fatalf("Add note answered %v, want a modal", body)
	}
	if n := e.interaction(click.Token).Modal; n == nil || n.CustomID != "form:incident-note:7" || n.Components[0].Components[0].Label != "Note for incident #7" {
		t.Fatalf("note modal %+v", n)
	}

	cases := []struct {
		custom string
		values map[string]string
		check  func(c *commands.Call) bool
	}{
		{m.CustomID, map[string]string{"matcher": "rule=disk,target=api", "duration": "2h", "reason": "--planned"},
			func(c *commands.Call) bool {
				return c.Arg(0) == "rule=disk,target=api" && c.Arg(1) == "2h" && c.Arg(2) == "--planned"
			}},
		{"form:incident-open", map[string]string{"title": "API answers 502", "sev": "warning", "target": ""},
			func(c *commands.Call) bool { return c.Arg(0) == "API answers 502" && c.Flag("sev") == "warning" }},
		{"form:incident-note:7", map[string]string{"text": "rolled back the deploy"},
			func(c *commands.Call) bool { return c.Arg(0) == "7" && c.Arg(1) == "rolled back the deploy" }},
	}
	for _, c := range cases {
		in := e.fake.NewModalSubmit(alice, channel, c.custom, c.values)
		code, body := e.deliver(in)
		if code != http.StatusOK || body["type"] != float64(4) {
			t.Fatalf("%s: answered %d %v", c.custom, code, body)
		}
		if got := e.lastCall(); got == nil || !c.check(got) {
			t.Errorf("%s: call %+v", c.custom, got)
		}
	}

	// A required answer left empty is refused; nothing runs.
	before := e.lastCall()
	in := e.fake.NewModalSubmit(alice, channel, "form:incident-note:7", map[string]string{"text": "  "})
	if _, body := e.deliver(in); body["type"] != float64(4) || dig(body, "data", "flags") != float64(64) {
		t.Fatalf("empty note answered %v", body)
	}
	if e.lastCall() != before {
		t.Error("an empty form ran its command")
	}
}
