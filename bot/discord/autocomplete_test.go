package discord_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"opsbot/bot/discord"
	"opsbot/bot/discord/discordfake"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
)

// thousandIncidents is a source of 1,000 incident ids, newest first.
func thousandIncidents(context.Context) ([]discord.Choice, error) {
	out := make([]discord.Choice, 1000)
	for i := range out {
		id := strconv.Itoa(1000 - i)
		out[i] = discord.Choice{Value: id, Label: "#" + id + " API down"}
	}
	return out, nil
}

func choices(t *testing.T, in discordfake.Interaction) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, raw := range in.Choices {
		var c map[string]any
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func TestAutocompleteRanksFiltersAndCaps(t *testing.T) {
	e := newEnv(t, "http", discord.WithCompletion(discord.CompleteIncident, thousandIncidents))
	e.setCfg(func(c *config.Config) {
		c.Targets = []config.Target{{Name: "api", Logs: map[string]config.LogFile{"app": {}, "nginx": {}, "nginx-error": {}, "worker": {}, "errors": {}}}}
	})
	noop := func(context.Context, *commands.Call) (commands.Response, error) { return commands.Text("ok"), nil }
	e.reg.MustRegister(&commands.Verb{Name: "incident", Summary: "incidents", Subs: []*commands.Verb{{Name: "show", Access: policy.Read,
		Summary: "show one", Params: []commands.Param{{Name: "id", Required: true, Kind: "int"}}, Run: noop}}})

	ask := func(opts ...discordfake.Option) []map[string]any {
		t.Helper()
		in := e.fake.NewAutocomplete(alice, channel, opts...)
		code, body := e.deliver(in)
		if code != 200 || body["type"] != float64(8) {
			t.Fatalf("answer %d %v", code, body)
		}
		got := e.interaction(in.Token)
		for _, ev := range got.Events {
			if len(ev) > 7 && ev[:7] == "refused" {
				t.Fatalf("the fake refused the answer: %s", ev)
			}
		}
		return choices(t, got)
	}

	// 1,000 ids: "4" exact first, then ids starting with 4 newest first; 25 at most.
	got := ask(discordfake.Group("incident", discordfake.Sub("show", discordfake.TypingInt("id", "4"))))
	if len(got) != 25 || got[0]["value"] != float64(4) || got[1]["value"] != float64(499) || got[0]["name"] != "#4 API down" {
		t.Fatalf("incident choices %v", got)
	}
	for _, c := range got {
		if s := strconv.Itoa(int(c["value"].(float64))); s[0] != '4' {
			t.Errorf("choice %v does not match 4", c)
		}
	}

	// Log names: a comma list, the last item completed, the chosen left out.
	got = ask(discordfake.Group("logs", discordfake.Sub("search", discordfake.Str("pattern", "err"), discordfake.Typing("file", "app,ngi"))))
	if len(got) != 2 || got[0]["value"] != "app,nginx" || got[1]["value"] != "app,nginx-error" {
		t.Fatalf("log choices %v", got)
	}
	got = ask(discordfake.Group("logs", discordfake.Sub("search", discordfake.Str("pattern", "err"), discordfake.Typing("file", "app,"))))
	if len(got) != 4 || got[0]["value"] != "app,errors" {
		t.Fatalf("after a comma %v", got)
	}
	// Substring matches rank after prefix matches.
	got = ask(discordfake.Group("logs", discordfake.Sub("tail", discordfake.Typing("name", "er"))))
	if len(got) != 3 || got[0]["value"] != "errors" || got[1]["value"] != "nginx-error" || got[2]["value"] != "worker" {
		t.Fatalf("tail choices %v", got)
	}
}
