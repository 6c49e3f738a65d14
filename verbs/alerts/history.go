package alerts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/human"
	"opsbot/notifier"
	"opsbot/ops/logs"
	"opsbot/policy"
	"opsbot/routing"
)

// historyVerb is /ops alerts: what fired, with state, age, value and where
// its message is, and one alert's state changes.
func historyVerb(n *notifier.Notifier) *commands.Verb {
	return &commands.Verb{
		Name:    "alerts",
		Summary: "alerts of the last day (or --since), by state and matchers; alerts show <id> for one's history",
		Default: "list",
		Subs: []*commands.Verb{
			{
				Name:    "list",
				Access:  policy.Read,
				Summary: "alerts with state, age, value and message",
				Usage:   "alerts [--firing|--silenced|--inhibited] [--since 24h] [matcher…]",
				Params:  []commands.Param{{Name: "matchers", Rest: true, Help: `e.g. target=api severity="critical" rule=~"disk_.*"`}},
				Flags: []commands.Flag{
					{Name: "firing", Bool: true, Help: "firing or acknowledged"},
					{Name: "silenced", Bool: true, Help: "held by a silence"},
					{Name: "inhibited", Bool: true, Help: "muted by an inhibition rule"},
					{Name: "since", Help: "how far back: 24h (default), 7d, or a UTC time"},
					{Name: "limit", Help: "at most this many (default 20)"},
				},
				Examples: []string{"/ops alerts --firing", "/ops alerts --since 12h target=api", "/ops alerts --inhibited"},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					f := notifier.AlertFilter{Since: c.Now.Add(-24 * time.Hour)}
					for _, st := range []string{notifier.ShowFiring, notifier.ShowSilenced, notifier.ShowInhibited} {
						if c.Has(st) {
							if f.State != "" {
								return commands.Response{}, commands.Errorf("give one of --firing, --silenced, --inhibited")
							}
							f.State = st
						}
					}
					if v := c.Flag("since"); v != "" {
						t, err := logs.ParseWhen(v, c.Now, time.UTC)
						if err != nil {
							return commands.Response{}, commands.Errorf("bad --since %v", err)
						}
						f.Since = t
					}
					var err error
					if f.Limit, err = c.Int("limit", 20); err != nil {
						return commands.Response{}, err
					}
					if words := strings.Fields(c.Arg(0)); len(words) > 0 {
						if f.Matchers, err = notifier.ParseMatchers(words...); err != nil {
							return commands.Response{}, userErr(err)
						}
					}
					views, err := n.Alerts(ctx, f)
					if err != nil {
						return commands.Response{}, err
					}
					if len(views) == 0 {
						return commands.Text("No alerts since %s%s.", c.Time(f.Since), filterText(f)), nil
					}
					return commands.Response{Message: chat.Message{Title: fmt.Sprintf("Alerts since %s%s", c.Time(f.Since), filterText(f)),
						Code: alertTable(views, c.Now), Context: "/ops alerts show <id> for one alert's history"}}, nil
				},
			},
			{
				Name:    "show",
				Access:  policy.Read,
				Summary: "one alert's state changes with times and who acted",
				Params:  []commands.Param{{Name: "id", Required: true, Kind: "int", Help: "the #N on an alert message, or from /ops alerts"}},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					id, err := parseID(c.Arg(0), "alert")
					if err != nil {
						return commands.Response{}, err
					}
					v, hist, err := n.History(ctx, id)
					if err != nil {
						return commands.Response{}, userErr(err)
					}
					var b strings.Builder
					for _, h := range hist {
						fmt.Fprintf(&b, "%s  %-9s", human.Stamp(h.At, c.Zone()), h.State)
						if h.Actor != "" {
							b.WriteString("  by " + h.Actor)
						}
						if h.Note != "" {
							b.WriteString("  " + h.Note)
						}
						b.WriteString("\n")
					}
					m := chat.Message{Title: fmt.Sprintf("Alert #%d: %s on %s (%s, %s)", v.ID, v.Rule, orHost(v.Target), v.Severity, v.Shown),
						Code: strings.TrimRight(b.String(), "\n"), Context: "fingerprint " + v.Fingerprint}
					return commands.Response{Message: m}, nil
				},
			},
		},
	}
}

func filterText(f notifier.AlertFilter) string {
	s := ""
	if f.State != "" {
		s += ", " + f.State
	}
	if len(f.Matchers) > 0 {
		s += ", matching " + routing.Matchers(f.Matchers).String()
	}
	return s
}

func orHost(t string) string {
	if t == "" {
		return "host"
	}
	return t
}

func alertTable(views []notifier.AlertView, now time.Time) string {
	var b strings.Builder
	for _, v := range views {
		fmt.Fprintf(&b, "#%-5d %-9s %-8s %-22s %-12s %8s ago  value %g", v.ID, v.Shown, v.Severity, v.Rule, orHost(v.Target), human.Duration(now.Sub(v.StartedAt.Time)), v.Value)
		if v.Message != "" {
			b.WriteString("  " + v.Message)
		}
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
