package alerts

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"opsbot/commands"
	"opsbot/human"
	"opsbot/notifier"
	"opsbot/ops/logs"
	"opsbot/store"
)

// kindsAndMatchers splits subscribe's words: kinds (commas allowed) first,
// then matchers (words holding =, != , =~ or !~).
func kindsAndMatchers(arg string) (kinds, matchers []string) {
	for _, w := range strings.Fields(arg) {
		if strings.ContainsAny(w, "=~") {
			matchers = append(matchers, w)
			continue
		}
		for _, k := range strings.Split(w, ",") {
			if k != "" {
				kinds = append(kinds, strings.ToLower(k))
			}
		}
	}
	return kinds, matchers
}

// silenceRequest reads silence's words: matchers, then a duration (unless
// --until), then the reason (or --reason).
func silenceRequest(c *commands.Call) (notifier.SilenceRequest, error) {
	req := notifier.SilenceRequest{By: c.Actor(), Max: c.Grant.SilenceMax}
	words := strings.Fields(c.Arg(0))
	i := 0
	for ; i < len(words) && strings.ContainsAny(words[i], "=~"); i++ {
		req.Matchers = append(req.Matchers, words[i])
	}
	if i == 0 {
		// "silence 2h target=demo …": the duration before the matchers.
		if len(words) > 1 && strings.ContainsAny(words[1], "=~") {
			if _, err := notifier.ParseDuration(words[0]); err == nil {
				j := 1
				for j < len(words) && strings.ContainsAny(words[j], "=~") {
					j++
				}
				fixed := append(append(append([]string{}, words[1:j]...), words[0]), words[j:]...)
				return req, commands.Errorf("the matchers come first, then the duration; did you mean `/ops silence %s`?", strings.Join(fixed, " "))
			}
		}
		if len(words) > 0 {
			// Not a matcher: let the parser say why.
			if _, err := notifier.ParseMatchers(words[0]); err != nil {
				return req, userErr(err)
			}
		}
		return req, commands.Errorf("name the alerts to silence first: target=api, severity!=warning, rule=~\"disk_.*\"")
	}
	var err error
	if v := c.Flag("start"); v != "" {
		if req.Start, err = when(v, c.Now, c.Now); err != nil {
			return req, commands.Errorf("bad --start %v", err)
		}
	}
	if v := c.Flag("duration"); v != "" {
		if c.Flag("until") != "" {
			return req, commands.Errorf("give --duration or --until, not both")
		}
		if req.Duration, err = notifier.ParseDuration(v); err != nil {
			return req, userErr(err)
		}
	} else if v := c.Flag("until"); v != "" {
		from := c.Now
		if !req.Start.IsZero() {
			from = req.Start
		}
		if req.Until, err = when(v, from, c.Now); err != nil {
			return req, commands.Errorf("bad --until %v", err)
		}
	} else {
		if i >= len(words) {
			return req, commands.Errorf("give a duration (30m, 2h, 1d) or --until after the matchers")
		}
		if req.Duration, err = notifier.ParseDuration(words[i]); err != nil {
			return req, userErr(err)
		}
		i++
	}
	req.Reason = strings.TrimSpace(strings.Join(words[i:], " ") + " " + c.Flag("reason"))
	if req.Reason == "" {
		return req, commands.Errorf("a silence needs a reason: add it after the duration or with --reason")
	}
	return req, nil
}

// when reads a time ahead: a duration from base (2h, +90m, 1d) or a UTC
// time (2026-11-25T22:00, 2026-11-25 22:00).
func when(s string, base, now time.Time) (time.Time, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "+")
	if d, err := notifier.ParseDuration(s); err == nil {
		return base.Add(d), nil
	}
	if strings.ContainsAny(s, "-:") {
		t, err := logs.ParseWhen(s, now, time.UTC)
		if err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want a duration like 2h or a UTC time like 2026-11-25T22:00", s)
}

// tooLong words a silence longer than the asker's roles allow.
func tooLong(err error, roles []string) (string, bool) {
	var e interface {
		Asked() time.Duration
		Max() time.Duration
	}
	if !errors.As(err, &e) {
		return "", false
	}
	return fmt.Sprintf("a silence of %s is longer than your roles allow: at most %s for %s (roles.<name>.silence_max)",
		human.Duration(e.Asked()), human.Duration(e.Max()), strings.Join(roles, ", ")), true
}

// expiringSoon flags a long silence (a day or more) in its last tenth, at
// most its last 6 hours: whoever set it may want to extend it.
func expiringSoon(s store.SilenceRow, now time.Time) bool {
	total := s.EndsAt.Sub(s.StartsAt.Time)
	if total < 24*time.Hour || s.StartsAt.After(now) {
		return false
	}
	return s.EndsAt.Sub(now) <= min(total/10, 6*time.Hour)
}

// routeTable prints route paths as amtool's `config routes test`: one line
// per matched route, its path from the root, and the channels it sends to.
func routeTable(paths [][]notifier.RouteStep, muted string) string {
	var b strings.Builder
	if len(paths) == 0 {
		b.WriteString("matches no route\n")
	}
	for _, p := range paths {
		var hops []string
		for _, st := range p {
			h := st.Path
			if st.Matchers != "" {
				h += " " + st.Matchers
			}
			hops = append(hops, h)
		}
		last := p[len(p)-1]
		dest := "no receiver: not posted"
		if last.Receiver != "" {
			dest = "receiver " + last.Receiver
			if len(last.Channels) > 0 {
				dest += " → " + strings.Join(last.Channels, ", ")
			}
		}
		fmt.Fprintf(&b, "%s\n  %s", strings.Join(hops, " → "), dest)
		if len(last.GroupBy) > 0 {
			fmt.Fprintf(&b, "  (grouped by %s)", strings.Join(last.GroupBy, ", "))
		}
		b.WriteString("\n")
	}
	if muted != "" {
		b.WriteString(muted + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
