// Package alerts holds the chat verbs of alert routing: subscribe,
// unsubscribe, subscriptions, silence, silences, unsilence and ack, plus the
// Acknowledge button. The work is the notifier's; these only translate.
package alerts

import (
	"opsbot/alert"

	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/human"
	"opsbot/notifier"
	"opsbot/policy"
	"opsbot/store"
)

// Deps are what the verbs need.
type Deps struct {
	Notifier *notifier.Notifier
}

func userErr(err error) error {
	if errors.Is(err, notifier.ErrInvalid) {
		return commands.Errorf("%s", err.Error())
	}
	return err
}

func kindsOf(c *commands.Call) []string {
	var out []string
	for _, f := range strings.FieldsFunc(c.Arg(0), func(r rune) bool { return r == ' ' || r == ',' }) {
		out = append(out, strings.ToLower(f))
	}
	return out
}

func parseID(s, what string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, commands.Errorf("%s id must be a number, got %q", what, s)
	}
	return id, nil
}

// Verbs returns the alert routing verbs.
func Verbs(d Deps) []*commands.Verb {
	n := d.Notifier
	kindList := strings.Join(alert.Kinds, ", ")
	return []*commands.Verb{
		historyVerb(n),
		{
			Name:     "subscribe",
			Access:   policy.Operate,
			Summary:  "send alerts of some kinds to this channel, optionally narrowed by label matchers",
			Usage:    "subscribe <kind>… [matcher…] [--min-severity warning|critical] [--oncall @user]",
			Params:   []commands.Param{{Name: "kinds", Help: "any of " + kindList + `, then matchers such as severity=critical target=~"api.*"`, Required: true, Rest: true}},
			Flags:    []commands.Flag{{Name: "min-severity", Help: "only alerts at least this severe", Choices: alert.Severities, Aliases: commands.SeverityAliases}, {Name: "oncall", Help: "user or group to mention on critical alerts until acknowledged"}},
			Examples: []string{"/ops subscribe threshold security", "/ops subscribe health --min-severity critical --oncall @sre", `/ops subscribe security severity=critical target=~"api.*"`},
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				kinds, matchers := kindsAndMatchers(c.Arg(0))
				sev := c.Flag("min-severity")
				if err := n.SubscribeMatching(ctx, c.Req.Address(), kinds, matchers, sev, c.Flag("oncall"), c.Actor()); err != nil {
					return commands.Response{}, userErr(err)
				}
				if sev == "" {
					sev = "warning"
				}
				msg := fmt.Sprintf("This channel now gets %s alerts (%s and above).", strings.Join(kinds, ", "), sev)
				if len(matchers) > 0 {
					ms, _ := notifier.ParseMatchers(matchers...)
					msg = fmt.Sprintf("This channel now gets %s alerts matching %s (%s and above).", strings.Join(kinds, ", "), ms, sev)
				}
				if o := c.Flag("oncall"); o != "" {
					msg += " " + o + " is mentioned on critical ones until someone acknowledges."
				}
				return commands.Text("%s", msg), nil
			},
		},
		{
			Name:    "unsubscribe",
			Access:  policy.Operate,
			Summary: "stop sending alerts of some kinds to this channel",
			Params:  []commands.Param{{Name: "kinds", Help: "any of " + kindList, Required: true, Rest: true}},
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				removed, err := n.Unsubscribe(ctx, c.Req.Address(), kindsOf(c))
				if err != nil {
					return commands.Response{}, userErr(err)
				}
				if len(removed) == 0 {
					return commands.Text("This channel was not subscribed to %s.", strings.Join(kindsOf(c), ", ")), nil
				}
				return commands.Text("This channel no longer gets %s alerts.", strings.Join(removed, ", ")), nil
			},
		},
		{
			Name:    "subscriptions",
			Summary: "list subscriptions, or test which channels would get an alert",
			Default: "list",
			Subs: []*commands.Verb{
				{
					Name:    "list",
					Access:  policy.Read,
					Summary: "this channel's subscriptions (--all: every channel's)",
					Flags:   []commands.Flag{{Name: "all", Bool: true, Help: "every channel"}},
					Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
						ch := c.Req.Address()
						if c.Has("all") {
							ch = ""
						}
						subs, err := n.Subscriptions(ctx, ch)
						if err != nil {
							return commands.Response{}, err
						}
						if len(subs) == 0 {
							return commands.Text("No subscriptions. Try `/ops subscribe %s`.", strings.Join(alert.Kinds[:2], " ")), nil
						}
						return commands.Response{Message: chat.Message{Title: "Subscriptions", Code: subTable(subs)}}, nil
					},
				},
				{
					Name:     "test",
					Access:   policy.Read,
					Summary:  "where an alert with these labels would go: its route path and receivers",
					Usage:    "subscriptions test <label=value>…  (or <kind> <severity>)",
					Params:   []commands.Param{{Name: "labels", Required: true, Rest: true, Help: "kind=, severity=, target=, rule= or any label"}},
					Examples: []string{"/ops subscriptions test kind=security severity=critical target=api-1", "/ops subscriptions test threshold critical"},
					Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
						words := strings.Fields(c.Arg(0))
						if len(words) == 2 && !strings.Contains(c.Arg(0), "=") {
							words = []string{"kind=" + words[0], "severity=" + words[1]}
						}
						paths, muted, err := n.RouteTest(ctx, words)
						if err != nil {
							return commands.Response{}, userErr(err)
						}
						return commands.Response{Message: chat.Message{Title: "Route of " + strings.Join(words, " "), Code: routeTable(paths, muted)}}, nil
					},
				},
			},
		},
		{
			Name:    "silence",
			Access:  policy.Operate,
			Summary: "mute alerts matching label matchers for a while (still recorded)",
			Usage:   "silence <matcher>… <duration>|--duration D|--until T [--start T] <reason> · silence expire <id>",
			Params: []commands.Param{{Name: "args", Required: true, Rest: true,
				Help: `matchers (=, !=, =~, !~ on rule, target, kind, severity or any label), then a duration (30m, 2h, 1d) unless --until, then the reason`}},
			Flags: []commands.Flag{
				{Name: "start", Help: "start later: a duration from now (2h) or a UTC time (2026-11-25T22:00)"},
				{Name: "duration", Help: "how long (30m, 2h, 1d), instead of giving it after the matchers"},
				{Name: "until", Help: "end at: a duration from the start or a UTC time, instead of a duration"},
				{Name: "reason", Help: "why (or give it after the duration)"},
			},
			Examples: []string{"/ops silence target=api 2h deploying v2", `/ops silence rule=~"disk_.*" target=db 1d migration`, "/ops silence target=db --start 2026-11-25T22:00 --until 2026-11-26T02:00 maintenance window", "/ops silence expire 3"},
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				// "silence expire <id>" is Alertmanager's amtool form of
				// unsilence. It stays under the silence verb's policy path
				// (Operate, like unsilence), which the Silence button uses.
				if words := strings.Fields(c.Arg(0)); len(words) > 0 && words[0] == "expire" {
					if len(words) != 2 || c.Flag("start")+c.Flag("duration")+c.Flag("until")+c.Flag("reason") != "" {
						return commands.Response{}, commands.Errorf("usage: silence expire <id>")
					}
					return endSilence(ctx, n, c, words[1])
				}
				req, err := silenceRequest(c)
				if err != nil {
					return commands.Response{}, err
				}
				s, err := n.AddSilence(ctx, req)
				if err != nil {
					if msg, ok := tooLong(err, c.Grant.Roles); ok {
						return commands.Response{}, commands.Errorf("%s; ask an admin for a longer one", msg)
					}
					return commands.Response{}, userErr(err)
				}
				starts := ""
				if s.StartsAt.After(c.Now) {
					starts = " from " + c.Time(s.StartsAt.Time)
				}
				return commands.Text("Silence #%d: %s%s until %s. `/ops unsilence %d` ends it early.", s.ID, s.Matcher, starts, c.Time(s.EndsAt.Time), s.ID), nil
			},
		},
		{
			Name:    "silences",
			Access:  policy.Read,
			Summary: "list the silences in force",
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				ss, err := n.Silences(ctx)
				if err != nil {
					return commands.Response{}, err
				}
				if len(ss) == 0 {
					return commands.Text("No silences in force."), nil
				}
				var b strings.Builder
				for _, s := range ss {
					when := fmt.Sprintf("until %s (%s left)", c.Time(s.EndsAt.Time), human.Duration(s.EndsAt.Sub(c.Now).Round(time.Minute)))
					if s.StartsAt.After(c.Now) {
						when = fmt.Sprintf("from %s until %s (starts in %s)", c.Time(s.StartsAt.Time), c.Time(s.EndsAt.Time), human.Duration(s.StartsAt.Sub(c.Now).Round(time.Minute)))
					}
					fmt.Fprintf(&b, "#%-4d %-30s %s  by %s", s.ID, s.Matcher, when, s.CreatedBy)
					if s.Reason != "" {
						b.WriteString("  — " + s.Reason)
					}
					if expiringSoon(s, c.Now) {
						b.WriteString("  ⚠ expires soon")
					}
					b.WriteString("\n")
				}
				return commands.Response{Message: chat.Message{Title: "Silences", Code: strings.TrimRight(b.String(), "\n")}}, nil
			},
		},
		{
			Name:    "unsilence",
			Access:  policy.Operate,
			Summary: "end a silence now",
			Params:  []commands.Param{{Name: "id", Required: true, Kind: "int", Help: "silence number: the #N in /ops silences"}},
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				return endSilence(ctx, n, c, c.Arg(0))
			},
		},
		{
			Name:    "ack",
			Access:  policy.Operate,
			Summary: "acknowledge an alert: stops its repeats and mentions",
			Params:  []commands.Param{{Name: "alert-id", Required: true, Kind: "int", Help: "the #N on an alert message, or from /ops alerts"}},
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				id, err := parseID(c.Arg(0), "alert")
				if err != nil {
					return commands.Response{}, err
				}
				a, err := n.Ack(ctx, id, c.Actor())
				if err != nil {
					return commands.Response{}, userErr(err)
				}
				return commands.Text("Alert #%d (%s) acknowledged by %s.", a.ID, a.Rule, a.AckedBy), nil
			},
		},
	}
}

// Buttons returns the button handlers by action id ("ack").
func Buttons(d Deps) map[string]commands.ButtonHandler {
	return map[string]commands.ButtonHandler{
		notifier.SilenceAction: func(ctx context.Context, req commands.Request, value string) (commands.Response, error) {
			by := req.Principal()
			if req.UserName != "" && req.UserName != req.User {
				by += " (" + req.UserName + ")"
			}
			g, _ := commands.GrantOf(ctx)
			m, _, err := d.Notifier.SilenceButton(ctx, req.Address(), value, by, g.SilenceMax)
			if err != nil {
				if msg, ok := tooLong(err, g.Roles); ok {
					return commands.Response{}, commands.Errorf("%s", msg)
				}
				return commands.Response{}, userErr(err)
			}
			return commands.Response{Message: m}, nil
		},
		notifier.AckAction: func(ctx context.Context, req commands.Request, value string) (commands.Response, error) {
			by := req.Principal()
			if req.UserName != "" && req.UserName != req.User {
				by += " (" + req.UserName + ")"
			}
			m, err := d.Notifier.AckButton(ctx, req.Address(), value, by)
			if err != nil {
				return commands.Response{}, userErr(err)
			}
			return commands.Response{Message: m}, nil
		},
	}
}

func subTable(subs []store.Subscription) string {
	var b strings.Builder
	for _, s := range subs {
		fmt.Fprintf(&b, "%-20s %-10s %-9s", s.Channel, s.Kind, s.MinSeverity+"+")
		if s.Matchers != "" {
			b.WriteString("  " + s.Matchers)
		}
		if s.Oncall != "" {
			b.WriteString("  on-call " + s.Oncall)
		}
		b.WriteString("\n")
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// endSilence ends (or cancels, when yet to start) silence arg: unsilence
// <id> and silence expire <id>.
func endSilence(ctx context.Context, n *notifier.Notifier, c *commands.Call, arg string) (commands.Response, error) {
	id, err := parseID(arg, "silence")
	if err != nil {
		return commands.Response{}, err
	}
	if err := n.Unsilence(ctx, id, c.Actor()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return commands.Response{}, commands.Errorf("no silence #%d in force", id)
		}
		return commands.Response{}, err
	}
	return commands.Text("Silence #%d ended.", id), nil
}
