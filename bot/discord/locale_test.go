package discord

import (
	"context"
	"testing"

	"github.com/bwmarrin/discordgo"

	"opsbot/commands"
	"opsbot/policy"
)

// The user's client language is the request's locale, the server's the
// fallback; an unsupported pair leaves it to the channel.
func TestInteractionLocale(t *testing.T) {
	guild := discordgo.Locale("zh-CN")
	cases := []struct {
		user  discordgo.Locale
		guild *discordgo.Locale
		want  string
	}{
		{"zh-CN", nil, "zh-CN"},
		{"en-US", &guild, "en"},
		{"de", &guild, "zh-CN"},
		{"de", nil, ""},
	}
	for _, c := range cases {
		in := &discordgo.Interaction{ChannelID: "C1", Locale: c.user, GuildLocale: c.guild, User: &discordgo.User{ID: "1", Username: "u"}}
		req, ok := baseRequest(in)
		if !ok || req.Locale != c.want {
			t.Errorf("locale %q guild %v: request locale %q, want %q", c.user, c.guild, req.Locale, c.want)
		}
	}
}

// Command names stay ASCII; descriptions carry zh-CN localizations where
// the catalog has them, within Discord's 100-character limit.
func TestSpecDescriptionLocalizations(t *testing.T) {
	run := func(context.Context, *commands.Call) (commands.Response, error) { return commands.Response{}, nil }
	verbs := []*commands.Verb{
		{Name: "status", Summary: "health checklist", Access: policy.Read, Run: run},
		{Name: "incident", Summary: "open and run incidents", Subs: []*commands.Verb{{Name: "list", Summary: "list incidents", Access: policy.Read, Run: run}}},
		{Name: "nocatalog", Summary: "a verb the catalog does not know", Access: policy.Read, Run: run},
	}
	sp := buildSpec(verbs)
	if sp.cmd.DescriptionLocalizations == nil || (*sp.cmd.DescriptionLocalizations)[discordgo.ChineseCN] != "执行 opsbot 命令" {
		t.Errorf("command localizations = %v", sp.cmd.DescriptionLocalizations)
	}
	byName := map[string]*discordgo.ApplicationCommandOption{}
	for _, o := range sp.cmd.Options {
		byName[o.Name] = o
		for _, r := range o.Name {
			if r > 127 {
				t.Errorf("option name %q is not ASCII", o.Name)
			}
		}
	}
	if got := byName["status"].DescriptionLocalizations[discordgo.ChineseCN]; got == "" || len([]rune(got)) > 100 {
		t.Errorf("status zh-CN description = %q", got)
	}
	if got := byName["incident"].DescriptionLocalizations[discordgo.ChineseCN]; got != "创建和推进故障：阶段、负责人、备注、事后分析" {
		t.Errorf("incident group zh-CN description = %q", got)
	}
	if byName["nocatalog"].DescriptionLocalizations != nil {
		t.Errorf("a verb without a catalog entry got %v", byName["nocatalog"].DescriptionLocalizations)
	}
}
