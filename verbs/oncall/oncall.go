// Package oncall holds the `oncall` verb: who is on call now and next,
// overrides, and an admin's edit of a rotation's members. The work is
// package paging's; this only translates.
package oncall

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/human"
	"opsbot/notifier"
	"opsbot/paging"
	"opsbot/policy"
)

// Deps are what the verb needs.
type Deps struct {
	Paging *paging.Engine
}

// The verb's strings, in one place.
const (
	txtTitle     = "On call"
	txtNone      = "No rotations are configured (paging.rotations); docs/paging.md shows how."
	txtRow       = "%-12s now %-10s until %s · next %s from %s"
	txtOverride  = " (override)"
	txtOverrode  = "%s covers %s from %s until %s UTC (%s, override #%d)."
	txtSet       = "%s is now: %s."
	txtBadFrom   = "--from wants 2006-01-02T15:04 (UTC) or 15:04 (today, UTC), got %q"
	stampLayout  = "Mon 2006-01-02 15:04 MST"
	fromLayout   = "2006-01-02T15:04"
	clockLayout  = "15:04"
	overrideHelp = "who covers: a name from paging.people or a chat mention"
)

func userErr(err error) error {
	if errors.Is(err, paging.ErrInvalid) || errors.Is(err, notifier.ErrInvalid) {
		return commands.Errorf("%s", err.Error())
	}
	return err
}

// Verbs returns the oncall verb.
func Verbs(d Deps) []*commands.Verb {
	e := d.Paging
	show := &commands.Verb{Name: "show", Access: policy.Read, Summary: "who is on call now and next, per rotation",
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			shifts, err := e.OnCall(ctx)
			if err != nil {
				return commands.Response{}, err
			}
			if len(shifts) == 0 {
				return commands.Text(txtNone), nil
			}
			var b strings.Builder
			for _, s := range shifts {
				who := s.Now.Person
				if s.Now.Override {
					who += txtOverride
				}
				fmt.Fprintf(&b, txtRow+"\n", s.Now.Rotation, who, s.Now.End.UTC().Format(stampLayout), s.Next.Person, s.Next.Start.UTC().Format(stampLayout))
			}
			return commands.Response{Message: chat.Message{Title: txtTitle, Code: strings.TrimRight(b.String(), "\n")}}, nil
		}}
	override := &commands.Verb{Name: "override", Access: policy.Operate, Summary: "have someone cover a rotation for a while",
		Usage: "oncall override <rotation> <user> <duration> [--from 2006-01-02T15:04]",
		Params: []commands.Param{{Name: "rotation", Required: true, Help: "a rotation from /ops oncall (paging.rotations)"}, {Name: "user", Required: true, Help: overrideHelp},
			{Name: "duration", Required: true, Kind: "duration", Help: "e.g. 2h, 1d"}},
		Flags:    []commands.Flag{{Name: "from", Help: "start (UTC) instead of now"}},
		Examples: []string{"/ops oncall override primary @bob 3h"},
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			dur, err := notifier.ParseDuration(c.Arg(2))
			if err != nil {
				return commands.Response{}, userErr(err)
			}
			var from time.Time
			if f := c.Flag("from"); f != "" {
				if from, err = parseFrom(f, c.Now); err != nil {
					return commands.Response{}, err
				}
			}
			admin := c.Req.Local || slices.Contains(c.Grant.Roles, policy.RoleAdmin)
			o, err := e.Override(ctx, c.Arg(0), c.Arg(1), c.Req.Platform, from, dur, c.Req.Principal(), admin)
			if err != nil {
				return commands.Response{}, userErr(err)
			}
			return commands.Text(txtOverrode, o.Person, o.Rotation, o.StartsAt.UTC().Format("2006-01-02 15:04"), o.EndsAt.UTC().Format("2006-01-02 15:04"), human.Duration(o.EndsAt.Sub(o.StartsAt.Time)), o.ID), nil
		}}
	set := &commands.Verb{Name: "set", Access: policy.Admin, Summary: "replace a rotation's members, in shift order",
		Usage:  "oncall set <rotation> <person>…",
		Params: []commands.Param{{Name: "rotation", Required: true, Help: "a rotation from /ops oncall (paging.rotations)"}, {Name: "members", Required: true, Rest: true, Help: "user mentions, in shift order"}},
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			members := strings.FieldsFunc(c.Arg(1), func(r rune) bool { return r == ' ' || r == ',' })
			if err := e.SetMembers(ctx, c.Arg(0), members, c.Actor()); err != nil {
				return commands.Response{}, userErr(err)
			}
			return commands.Text(txtSet, c.Arg(0), strings.Join(members, ", ")), nil
		}}
	return []*commands.Verb{{Name: "oncall", Summary: "who is on call; overrides", Default: "show", Subs: []*commands.Verb{show, override, set}}}
}

// parseFrom reads --from: a UTC date and time, or a time today (UTC).
func parseFrom(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(fromLayout, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(clockLayout, s); err == nil {
		y, m, d := now.UTC().Date()
		return time.Date(y, m, d, t.Hour(), t.Minute(), 0, 0, time.UTC), nil
	}
	return time.Time{}, commands.Errorf(txtBadFrom, s)
}
