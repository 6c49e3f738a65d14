package discord

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/bwmarrin/discordgo"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/policy"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

// wire is what a rendered message looks like on the wire (files by name).
func wire(r rendered) map[string]any {
	var files []string
	for _, f := range r.Files {
		files = append(files, f.Name)
	}
	return map[string]any{"content": r.Content, "embeds": r.Embeds, "components": r.Components, "allowed_mentions": r.Mentions, "files": files}
}

func TestRenderGolden(t *testing.T) {
	cases := map[string]chat.Message{
		"plain": {Text: "backup 12 verified"},
		"alert": {Title: "Response time high", Severity: chat.SevCritical, Text: "p95 2.4 s on api for 5 min",
			Fields:  []chat.Field{{Name: "target", Value: "api", Inline: true}, {Name: "threshold", Value: "2000 ms", Inline: true}},
			Context: "alert 17 · threshold", Mentions: []string{"800000000000000001", "&700000000000000001"},
			Buttons: []chat.Button{{ID: "ack", Label: "Acknowledge", Value: "17", Style: chat.StylePrimary}}},
		"confirm": {Title: "Confirm: restart api", Severity: chat.SevWarning, Text: "discord:1 asked to restart api. Confirm within 5m0s.",
			Buttons: []chat.Button{{ID: "confirm", Label: "Confirm restart", Value: "abc123", Style: chat.StyleDanger, Confirm: "Really?"}, {ID: "cancel", Label: "Cancel", Value: "abc123"}}},
		"code": {Title: "opsbot commands", Code: "help   list the commands\nstatus show health", Context: "`/ops help <command>` for usage"},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) { golden(t, "render_"+name, wire(render(m))) })
	}
}

func u16(s string) int { return len(utf16.Encode([]rune(s))) }

func TestRenderNeverCutsSilently(t *testing.T) {
	long := strings.Repeat("é😀 ", 3000) // multi-unit characters near the limits
	cases := []chat.Message{
		{Text: long},
		{Title: strings.Repeat("t", 300), Text: "x"},
		{Title: "many fields", Fields: func() []chat.Field {
			var fs []chat.Field
			for i := 0; i < 40; i++ {
				fs = append(fs, chat.Field{Name: "name", Value: strings.Repeat("v", 1500)})
			}
			return fs
		}()},
		{Title: "search", Text: long, Code: long},
	}
	for i, m := range cases {
		r := render(m)
		if u16(r.Content) > maxContent {
			t.Errorf("case %d: content %d units", i, u16(r.Content))
		}
		total := 0
		for _, e := range r.Embeds {
			total += u16(e.Title) + u16(e.Description)
			if u16(e.Description) > maxDesc || u16(e.Title) > maxTitle || len(e.Fields) > maxFields {
				t.Errorf("case %d: embed over limits", i)
			}
			for _, f := range e.Fields {
				total += u16(f.Name) + u16(f.Value)
				if u16(f.Value) > maxFieldValue {
					t.Errorf("case %d: field value %d units", i, u16(f.Value))
				}
			}
			if e.Footer != nil {
				total += u16(e.Footer.Text)
			}
		}
		if total > maxEmbedTotal {
			t.Errorf("case %d: embed total %d units", i, total)
		}
		// Whatever did not fit is in a file, and the message says so.
		var all strings.Builder
		for _, f := range r.Files {
			all.Write(f.Data)
		}
		for _, part := range []string{m.Text, m.Code, m.Title} {
			shown := r.Content
			for _, e := range r.Embeds {
				shown += e.Title + e.Description
			}
			if part != "" && !strings.Contains(shown, part) && !strings.Contains(all.String(), part) {
				t.Errorf("case %d: %d characters neither shown nor attached", i, len(part))
			}
		}
		if len(r.Files) > 0 && (len(r.Embeds) == 0 || r.Embeds[0].Footer == nil || !strings.Contains(r.Embeds[0].Footer.Text, "attached")) {
			t.Errorf("case %d: files attached without a note", i)
		}
	}
	// The title was too long for a title: it leads the text instead.
	if r := render(cases[1]); r.Embeds[0].Title != "" || !strings.Contains(r.Embeds[0].Description, cases[1].Title) {
		t.Errorf("long title: %+v", r.Embeds[0])
	}
}

func TestMentionsAreExplicit(t *testing.T) {
	r := render(chat.Message{Text: "@everyone look", Mentions: []string{"<@42>", "role:7"}})
	if r.Content != "<@42> <@&7>\n@everyone look" {
		t.Errorf("content %q", r.Content)
	}
	b, _ := json.Marshal(r.Mentions)
	if string(b) != `{"parse":[],"roles":["7"],"users":["42"],"replied_user":false}` {
		t.Errorf("allowed mentions %s", b)
	}
}

func TestButtonsBecomeRowsOfFive(t *testing.T) {
	var bs []chat.Button
	for i := 0; i < 7; i++ {
		bs = append(bs, chat.Button{ID: "ack", Value: strings.Repeat("1", i+1)})
	}
	rows := buttons(bs)
	if len(rows) != 2 || len(rows[0].(discordgo.ActionsRow).Components) != 5 || len(rows[1].(discordgo.ActionsRow).Components) != 2 {
		t.Errorf("rows %+v", rows)
	}
}

func TestNonceFitsDiscord(t *testing.T) {
	if nonce("outbox-12") != "outbox-12" {
		t.Error("short key changed")
	}
	long := nonce(strings.Repeat("k", 60))
	if len(long) != maxNonce || long == nonce(strings.Repeat("k", 61)) {
		t.Errorf("long key nonce %q", long)
	}
}

func TestSpecFromVerbs(t *testing.T) {
	noop := func(context.Context, *commands.Call) (commands.Response, error) { return commands.Response{}, nil }
	verbs := []*commands.Verb{
		{Name: "backup", Summary: "backups", Default: "create", Subs: []*commands.Verb{
			{Name: "create", Summary: "make one", Slow: true, Run: noop},
			{Name: "restore", Summary: "restore one", Access: policy.Dangerous, Params: []commands.Param{{Name: "id", Required: true, Kind: "int"}}, Run: noop},
		}},
		{Name: "incident", Summary: "incidents", Subs: []*commands.Verb{
			{Name: "stage", Params: []commands.Param{{Name: "id", Required: true, Kind: "int"}, {Name: "stage", Required: true, Choices: []string{"detected", "investigating", "mitigated", "resolved"}}}, Run: noop},
			{Name: "deep", Subs: []*commands.Verb{{Name: "er", Run: noop}}},
		}},
		{Name: "capacity", Params: []commands.Param{{Name: "users", Required: true, Kind: "int"}, {Name: "growth", Required: true, Kind: "number"}, {Name: "months", Kind: "int"}}, Run: noop},
		{Name: "cleanup", Flags: []commands.Flag{{Name: "dry-run", Bool: true}}, Run: noop},
	}
	sp := buildSpec(verbs)
	golden(t, "spec", sp.cmd)

	opt := func(name string, typ discordgo.ApplicationCommandOptionType, v any, sub ...*discordgo.ApplicationCommandInteractionDataOption) *discordgo.ApplicationCommandInteractionDataOption {
		return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: typ, Value: v, Options: sub}
	}
	const (
		grp = discordgo.ApplicationCommandOptionSubCommandGroup
		sub = discordgo.ApplicationCommandOptionSubCommand
		str = discordgo.ApplicationCommandOptionString
		num = discordgo.ApplicationCommandOptionNumber
		itg = discordgo.ApplicationCommandOptionInteger
		bln = discordgo.ApplicationCommandOptionBoolean
	)
	cases := []struct {
		opts []*discordgo.ApplicationCommandInteractionDataOption
		want string
		err  string
	}{
		{opts: opts(opt("backup", grp, nil, opt("create", sub, nil))), want: "backup create"},
		{opts: opts(opt("backup", grp, nil, opt("restore", sub, nil, opt("id", itg, float64(12))))), want: "backup restore 12"},
		{opts: opts(opt("incident", grp, nil, opt("stage", sub, nil, opt("id", itg, float64(4)), opt("stage", str, "mitigated")))), want: "incident stage 4 mitigated"},
		{opts: opts(opt("incident", grp, nil, opt("deep-er", sub, nil))), want: "incident deep er"},
		{opts: opts(opt("capacity", sub, nil, opt("users", itg, float64(1000)), opt("growth", num, 0.1))), want: "capacity 1000 0.1"},
		{opts: opts(opt("capacity", sub, nil, opt("users", itg, float64(1000)), opt("months", itg, float64(6)))), err: "give growth too when giving months"},
		{opts: opts(opt("cleanup", sub, nil, opt("dry-run", bln, true))), want: "cleanup --dry-run"},
		{opts: opts(opt("cleanup", sub, nil, opt("dry-run", bln, false))), want: "cleanup"},
		{opts: opts(opt("nope", sub, nil)), err: "unknown command /ops nope"},
	}
	for _, c := range cases {
		words, err := sp.args(discordgo.ApplicationCommandInteractionData{Name: "ops", Options: c.opts})
		got := strings.Join(words, " ")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("want error %q, got %q %v", c.err, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("got %q %v, want %q", got, err, c.want)
		}
	}
}

// A parameter of kind "user" (incident lead) is Discord's member picker;
// the picked id reaches the verb as a mention.
func TestUserParamIsAMemberPicker(t *testing.T) {
	noop := func(context.Context, *commands.Call) (commands.Response, error) { return commands.Response{}, nil }
	sp := buildSpec([]*commands.Verb{{Name: "incident", Summary: "incidents", Subs: []*commands.Verb{
		{Name: "lead", Params: []commands.Param{{Name: "id", Required: true, Kind: "int"}, {Name: "user", Required: true, Kind: "user"}}, Run: noop},
	}}})
	lead := sp.cmd.Options[0].Options[0]
	if len(lead.Options) != 2 || lead.Options[1].Type != discordgo.ApplicationCommandOptionUser {
		t.Fatalf("lead options %+v", lead.Options)
	}
	words, err := sp.args(discordgo.ApplicationCommandInteractionData{Options: opts(&discordgo.ApplicationCommandInteractionDataOption{
		Name: "incident", Type: discordgo.ApplicationCommandOptionSubCommandGroup,
		Options: opts(&discordgo.ApplicationCommandInteractionDataOption{Name: "lead", Type: discordgo.ApplicationCommandOptionSubCommand,
			Options: opts(
				&discordgo.ApplicationCommandInteractionDataOption{Name: "id", Type: discordgo.ApplicationCommandOptionInteger, Value: float64(7)},
				&discordgo.ApplicationCommandInteractionDataOption{Name: "user", Type: discordgo.ApplicationCommandOptionUser, Value: "800000000000000001"},
			)}),
	})})
	if err != nil || strings.Join(words, " ") != "incident lead 7 <@800000000000000001>" {
		t.Fatalf("words %q, %v", words, err)
	}
}

func opts(o ...*discordgo.ApplicationCommandInteractionDataOption) []*discordgo.ApplicationCommandInteractionDataOption {
	return o
}

func TestSpecOverflowGetsRunSubcommand(t *testing.T) {
	noop := func(context.Context, *commands.Call) (commands.Response, error) { return commands.Response{}, nil }
	var verbs []*commands.Verb
	for i := 0; i < 30; i++ {
		verbs = append(verbs, &commands.Verb{Name: "v" + string(rune('a'+i/10)) + string(rune('a'+i%10)), Run: noop})
	}
	sp := buildSpec(verbs)
	if len(sp.cmd.Options) != maxOptions || sp.cmd.Options[maxOptions-1].Name != "run" {
		t.Fatalf("%d options, last %q", len(sp.cmd.Options), sp.cmd.Options[len(sp.cmd.Options)-1].Name)
	}
	words, err := sp.args(discordgo.ApplicationCommandInteractionData{Options: opts(&discordgo.ApplicationCommandInteractionDataOption{
		Name: "run", Type: discordgo.ApplicationCommandOptionSubCommand,
		Options: opts(&discordgo.ApplicationCommandInteractionDataOption{Name: "command", Type: discordgo.ApplicationCommandOptionString, Value: `vcd "two words"`}),
	})})
	if err != nil || strings.Join(words, "|") != "vcd|two words" {
		t.Errorf("run: %q %v", words, err)
	}
}

// Incident stages are offered as Discord choices; log names are free text
// completed as typed (a comma list), not one fixed pick.
func TestChoicesForLogNamesAndStages(t *testing.T) {
	noop := func(context.Context, *commands.Call) (commands.Response, error) { return commands.Response{}, nil }
	sp := buildSpec([]*commands.Verb{
		{Name: "logs", Summary: "logs", Subs: []*commands.Verb{{Name: "search", Params: []commands.Param{{Name: "pattern", Required: true, Rest: true}},
			Flags: []commands.Flag{{Name: "file", Suggest: []string{"access", "app", "error"}}}, Run: noop}}},
		{Name: "incident", Summary: "incidents", Subs: []*commands.Verb{{Name: "stage", Params: []commands.Param{{Name: "id", Required: true, Kind: "int"},
			{Name: "stage", Required: true, Choices: []string{"assessment", "handling"}}}, Run: noop}}},
	})
	var file, stage *discordgo.ApplicationCommandOption
	for _, g := range sp.cmd.Options {
		for _, sub := range g.Options {
			for _, o := range sub.Options {
				switch o.Name {
				case "file":
					file = o
				case "stage":
					stage = o
				}
			}
		}
	}
	if file == nil || len(file.Choices) != 0 || !file.Autocomplete || file.Type != discordgo.ApplicationCommandOptionString {
		t.Fatalf("file option %+v", file)
	}
	if stage == nil || len(stage.Choices) != 2 {
		t.Fatalf("stage option %+v", stage)
	}
}
