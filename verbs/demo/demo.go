// Package demo holds the `demo` verb, registered only with --demo: it makes
// the built-in stand-in misbehave so a newcomer can watch status, alerts,
// remediation and incidents react.
package demo

import (
	"context"

	"strconv"
	"time"

	"opsbot/commands"
	"opsbot/policy"
	"opsbot/standin"
)

// Verbs returns the demo verb for the stand-in b.
func Verbs(b *standin.Backend) []*commands.Verb {
	kinds := make([]string, len(standin.BurstKinds))
	for i, k := range standin.BurstKinds {
		kinds[i] = string(k)
	}
	return []*commands.Verb{{
		Name: "demo", Summary: "make the stand-in backend misbehave (demo mode only)",
		Examples: []string{"/ops demo health fail", "/ops demo health slow 3s", "/ops demo burst errors 50", "/ops demo restart-mode unhealthy", "/ops demo health ok", "/ops demo fault port-taken", "/ops demo fault clear"},
		Subs: []*commands.Verb{
			{Name: "health", Access: policy.Admin, Summary: "how /health answers", Params: []commands.Param{{Name: "mode", Required: true, Choices: []string{"ok", "fail", "slow"}}, {Name: "delay", Kind: "duration", Help: "for slow: how long /health takes, e.g. 3s"}},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					var d time.Duration
					if c.Arg(1) != "" {
						var err error
						if d, err = time.ParseDuration(c.Arg(1)); err != nil || d < 0 {
							return commands.Response{}, commands.Errorf("delay must be a duration such as 3s, got %q", c.Arg(1))
						}
					} else if c.Arg(0) == "slow" {
						d = 3 * time.Second
					}
					if err := b.SetHealth(standin.Health(c.Arg(0)), d); err != nil {
						return commands.Response{}, commands.Errorf("%v", err)
					}
					return commands.Text("stand-in /health now answers %s", c.Arg(0)), nil
				}},
			{Name: "burst", Access: policy.Admin, Summary: "write a burst of bad lines into the logs", Params: []commands.Param{{Name: "kind", Required: true, Choices: kinds}, {Name: "n", Kind: "int", Help: "how many lines (default 100)"}},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					n := 100
					if c.Arg(1) != "" {
						var err error
						if n, err = strconv.Atoi(c.Arg(1)); err != nil || n <= 0 || n > 100000 {
							return commands.Response{}, commands.Errorf("n must be a whole number from 1 to 100000, got %q", c.Arg(1))
						}
					}
					if err := b.Burst(standin.BurstKind(c.Arg(0)), n, ""); err != nil {
						return commands.Response{}, commands.Errorf("%v", err)
					}
					return commands.Text("wrote %d %s line(s) into the stand-in's logs", n, c.Arg(0)), nil
				}},
			{Name: "restart-mode", Access: policy.Admin, Summary: "how a restart behaves", Params: []commands.Param{{Name: "mode", Required: true, Choices: []string{"ok", "hang", "unhealthy"}}},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					if err := b.SetRestart(standin.RestartMode(c.Arg(0))); err != nil {
						return commands.Response{}, commands.Errorf("%v", err)
					}
					return commands.Text("stand-in restarts now behave: %s", c.Arg(0)), nil
				}},
			faultVerb(b),
			{Name: "state", Access: policy.Admin, Summary: "what the stand-in is doing",
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					s := b.State()
					return commands.Text("running %v, health %s, %d rows written, %d restart(s), %d update(s)", s.Running, s.Health, s.Rows, s.Restarts, s.Updates), nil
				}},
		},
	}}
}
