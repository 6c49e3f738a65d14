// Package locale holds /ops locale: show or choose the language of a
// channel's replies, alerts, reminders and post-mortems.
package locale

import (
	"context"
	"strings"
	"time"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/locale"
	"opsbot/policy"
)

// Store keeps each channel's choice.
type Store interface {
	ChannelLocale(ctx context.Context, channel string) (string, error)
	SetChannelLocale(ctx context.Context, channel, locale, by string, at time.Time) error
	ClearChannelLocale(ctx context.Context, channel string) (bool, error)
}

// Deps are what the verb needs.
type Deps struct {
	Config func() *config.Config
	Store  Store
}

// Verbs returns the locale verb. Choosing changes what the whole channel
// reads, so it is for operators.
func Verbs(d Deps) []*commands.Verb {
	return []*commands.Verb{{
		Name:     "locale",
		Access:   policy.Operate,
		Summary:  "show or set this channel's language (en, zh-CN; default follows the configuration)",
		Usage:    "locale [en|zh-CN|default]",
		Examples: []string{"/ops locale", "/ops locale zh-CN", "/ops locale default"},
		Params:   []commands.Param{{Name: "locale", Help: "en, zh-CN, or default"}},
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			return run(ctx, d, c)
		},
	}}
}

func run(ctx context.Context, d Deps, c *commands.Call) (commands.Response, error) {
	cfg := d.Config()
	channel := c.Req.Address()
	all := strings.Join(locale.Supported(), ", ")
	chosen, err := d.Store.ChannelLocale(ctx, channel)
	if err != nil {
		return commands.Response{}, err
	}
	now := locale.Resolve(cfg.Locale, chosen, cfg.Display.Timezone)
	if len(c.Args) == 0 {
		src := now.T("locale.source_config")
		if chosen != "" {
			src = now.T("locale.source_channel")
		}
		return commands.Text("%s", now.T("locale.now", locale.Args{"Locale": now.Lang, "Source": src, "All": all})), nil
	}
	word := c.Args[0]
	if strings.EqualFold(word, "default") || word == "默认" {
		if _, err := d.Store.ClearChannelLocale(ctx, channel); err != nil {
			return commands.Response{}, err
		}
		p := locale.Resolve(cfg.Locale, "", cfg.Display.Timezone)
		return commands.Text("%s", p.T("locale.cleared", locale.Args{"Locale": p.Lang})), nil
	}
	loc, ok := locale.Parse(word)
	if !ok {
		return commands.Response{}, commands.Errorf("%s", now.T("locale.unknown", locale.Args{"Given": word, "All": all}))
	}
	if err := d.Store.SetChannelLocale(ctx, channel, loc, c.Req.Principal(), c.Now); err != nil {
		return commands.Response{}, err
	}
	p := locale.Resolve(cfg.Locale, loc, cfg.Display.Timezone)
	return commands.Text("%s", p.T("locale.set", locale.Args{"Locale": loc})), nil
}
