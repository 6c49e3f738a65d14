// Package restart holds the guarded verbs `restart [target]` and
// `update [target] [--rollback]`: the target's configured argv run under
// the target's action lock, then a health check until the deadline. An
// update that leaves the target unhealthy offers its rollback as a
// confirmation button, guarded like update itself.
package restart

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/ops"
	"opsbot/policy"
	"opsbot/textclip"
)

// Deps are what the verbs need.
type Deps struct {
	Config  func() *config.Config
	Actions *ops.Actions // its Store also keeps the rollback offer's confirmation
}

// shownOutput is how much of the output tail the reply shows inline; the
// whole tail is attached when longer.
const shownOutput = 1500

// Verbs returns restart and update.
func Verbs(d Deps) []*commands.Verb {
	name := func(c *commands.Call) string { return commands.DefaultTarget(d.Config(), c.Arg(0)) }
	action := func(c *commands.Call) ops.Action {
		if c.Verb.Name == "update" && c.Has("rollback") {
			return ops.ActRollback
		}
		return ops.Action(c.Verb.Name)
	}
	describe := func(c *commands.Call) string {
		if action(c) == ops.ActRollback {
			return "roll back " + name(c)
		}
		return c.Verb.Name + " " + name(c)
	}
	run := func(ctx context.Context, c *commands.Call) (commands.Response, error) {
		return runAction(ctx, d, c, action(c))
	}
	// The target must exist and have the command before anyone confirms.
	check := func(ctx context.Context, c *commands.Call) error {
		t, err := commands.PickTarget(d.Config(), c.Arg(0))
		if err != nil {
			return err
		}
		if len(action(c).Argv(t)) == 0 {
			return commands.Errorf("%s has no %s command in the configuration", t.Name, action(c))
		}
		return nil
	}
	target := commands.Param{Name: "target", Help: "the target (default: the only one)"}
	return []*commands.Verb{
		{
			Name:     "restart",
			Access:   policy.Dangerous,
			Summary:  "restart a target with its configured command, then check its health",
			Params:   []commands.Param{target},
			Examples: []string{"/ops restart", "/ops restart api-2"},
			Slow:     true,
			Describe: describe,
			Target:   name,
			Check:    check,
			Run:      run,
		},
		{
			Name:     "update",
			Access:   policy.Dangerous,
			Summary:  "update a target with its configured command, then check its health (--rollback undoes it)",
			Params:   []commands.Param{target},
			Flags:    []commands.Flag{{Name: "rollback", Bool: true, Help: "run the target's rollback command instead"}},
			Examples: []string{"/ops update", "/ops update --rollback"},
			Slow:     true,
			Describe: describe,
			Target:   name,
			Check:    check,
			Run:      run,
		},
	}
}

func runAction(ctx context.Context, d Deps, c *commands.Call, act ops.Action) (commands.Response, error) {
	cfg := d.Config()
	t, err := commands.PickTarget(cfg, c.Arg(0))
	if err != nil {
		return commands.Response{}, err
	}
	if len(act.Argv(t)) == 0 {
		return commands.Response{}, commands.Errorf("%s has no %s command in the configuration", t.Name, act)
	}
	c.Progress("%s %s: running the configured command (timeout %s)…", act, t.Name, t.CommandTimeout)
	res, err := d.Actions.Run(ctx, t, act, c.Actor())
	var busy *ops.BusyError
	switch {
	case errors.As(err, &busy):
		return commands.Response{}, commands.Errorf("%s", busy.Error())
	case errors.Is(err, ops.ErrNotConfigured):
		return commands.Response{}, commands.Errorf("%s has no %s command in the configuration", t.Name, act)
	case err != nil:
		return commands.Response{}, err
	}
	resp := render(res, t)
	if act == ops.ActUpdate && !res.OK() && len(t.Rollback) > 0 {
		if err := offerRollback(ctx, c, t, &resp); err != nil {
			return commands.Response{}, err
		}
	}
	return resp, nil
}

// render words the result: took N s, healthy or not, the output's tail.
func render(res ops.ActionResult, t config.Target) commands.Response {
	what := string(res.Action) + " " + t.Name
	if res.Action == ops.ActRollback {
		what = "rollback " + t.Name
	}
	var title string
	sev := chat.SevCritical
	switch {
	case res.OK():
		title, sev = what+": healthy", chat.SevOK
	case res.RunErr != nil:
		title = what + ": command failed"
	default:
		title = what + ": NOT healthy"
	}
	var text []string
	text = append(text, fmt.Sprintf("took %s", secs(res.Took)))
	switch {
	case res.Run.TimedOut:
		text = append(text, fmt.Sprintf("the command was killed after timeout (%s)", t.CommandTimeout))
	case res.RunErr != nil:
		text = append(text, "the command failed: "+strings.TrimPrefix(res.RunErr.Error(), "run "))
	default:
		text = append(text, fmt.Sprintf("the command took %s", secs(res.Run.Duration)))
	}
	switch {
	case res.Healthy && res.RunErr == nil:
		text = append(text, fmt.Sprintf("healthy after %s", secs(res.HealthTook)))
	case res.Healthy:
		text = append(text, "the target still answers healthy")
	case res.RunErr == nil:
		text = append(text, fmt.Sprintf("not healthy after %s: %s", secs(res.HealthTook), healthReason(res.HealthErr)))
	default:
		text = append(text, "not healthy: "+healthReason(res.HealthErr))
	}
	exit := "-"
	if res.Run.ExitCode >= 0 {
		exit = fmt.Sprint(res.Run.ExitCode)
	}
	health := "healthy"
	if !res.Healthy {
		health = "not healthy"
	}
	m := chat.Message{
		Title:    title,
		Severity: sev,
		Text:     strings.Join(text, "; ") + ".",
		Fields: []chat.Field{
			{Name: "Target", Value: t.Name, Inline: true},
			{Name: "Action", Value: string(res.Action), Inline: true},
			{Name: "Exit code", Value: exit, Inline: true},
			{Name: "Command", Value: secs(res.Run.Duration), Inline: true},
			{Name: "Health", Value: health, Inline: true},
			{Name: "Took", Value: secs(res.Took), Inline: true},
		},
		Context: "by " + res.By,
	}
	out := strings.TrimRight(res.Run.Output, "\n")
	if len(out) > shownOutput {
		m.Files = []chat.File{{Name: fmt.Sprintf("%s-%s-output.txt", res.Action, t.Name), Mime: "text/plain", Data: []byte(res.Run.Output)}}
		out = textclip.TailBytes(out, shownOutput, textclip.Ellipsis)
		if i := strings.IndexByte(out, '\n'); i > 0 {
			out = textclip.Ellipsis + out[i+1:]
		}
	}
	if out != "" {
		m.Code = out
	}
	return commands.Response{Message: m}
}

func healthReason(err error) string {
	if err == nil {
		return "unknown"
	}
	s := err.Error()
	if i := strings.LastIndex(s, "health: "); i >= 0 {
		s = s[i+len("health: "):]
	}
	return s
}

func secs(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

// offerRollback asks the registry for a confirmation of `update --rollback
// <target>` and puts its buttons on the reply. A click goes through the
// registry's confirm path: bound to this channel, decided by the policy,
// two-person rule, expiry, audit, like update.
func offerRollback(ctx context.Context, c *commands.Call, t config.Target, resp *commands.Response) error {
	token, ttl, err := c.OfferConfirmation(ctx, []string{"update", "--rollback", t.Name})
	if err != nil {
		return fmt.Errorf("offer rollback: %w", err)
	}
	resp.Text += fmt.Sprintf(" A rollback is configured: press Roll back within %s, or run `/ops update --rollback %s`.", ttl, t.Name)
	resp.Buttons = []chat.Button{
		{ID: "confirm", Label: "Roll back " + t.Name, Value: token, Style: chat.StyleDanger, Confirm: "Really roll back " + t.Name + "?"},
		{ID: "cancel", Label: "Dismiss", Value: token},
	}
	return nil
}
