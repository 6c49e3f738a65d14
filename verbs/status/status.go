// Package status holds the `status [target]` verb: the health checklist of
// ops.Checker for one target or all, plus lines other parts add (parked
// notifications, restart budget, jobs).
package status

import (
	"context"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/ops"
	"opsbot/policy"
)

// Extra adds lines to the status reply; it must honour ctx.
type Extra func(ctx context.Context) []ops.Line

// Deps are what the verb needs.
type Deps struct {
	Config func() *config.Config
	// Checker runs the checks; when nil one is made on Host.
	Checker *ops.Checker
	Host    ops.HostSampler
	Extras  []Extra
}

// Verbs returns the status verb.
func Verbs(d Deps) []*commands.Verb {
	checker := d.Checker
	if checker == nil {
		checker = ops.NewChecker(d.Host)
	}
	return []*commands.Verb{{
		Name:     "status",
		Access:   policy.Read,
		Summary:  "health checklist: API, database, Redis, LLM, uploads, logging, host CPU/memory/disk",
		Params:   []commands.Param{{Name: "target", Help: "one target (default: every target)"}},
		Examples: []string{"/ops status", "/ops status api-1"},
		Slow:     true,
		Target:   func(c *commands.Call) string { return c.Arg(0) },
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			cfg := d.Config()
			targets := cfg.Targets
			if name := c.Arg(0); name != "" {
				t, ok := cfg.Target(name)
				if !ok {
					return commands.Response{}, commands.UnknownTarget(cfg, name)
				}
				targets = []config.Target{t}
			}
			r := checker.Status(ctx, cfg.Thresholds, targets)
			for _, x := range d.Extras {
				r.Lines = append(r.Lines, x(ctx)...)
			}
			m := r.Message()
			if len(cfg.Targets) == 0 {
				m.Context = "no target is configured: only the host is checked"
			}
			return commands.Response{Message: m}, nil
		},
	}}
}
