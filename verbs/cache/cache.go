// Package cache holds the `cache flush` verb, guarded like restart.
package cache

import (
	"context"
	"strings"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/ops/cache"
)

// Deps are what the verb needs.
type Deps struct {
	Config func() *config.Config
}

// Verbs returns the cache verb.
func Verbs(d Deps) []*commands.Verb {
	target := func(c *commands.Call) string {
		if t := c.Arg(0); t != "" {
			return t
		}
		if names := d.Config().TargetNames(); len(names) == 1 {
			return names[0]
		}
		return ""
	}
	return []*commands.Verb{{
		Name: "cache", Summary: "flush the served service's Redis cache (FLUSHDB of its cache database)",
		Subs: []*commands.Verb{{
			Name: "flush", Summary: "flush the cache database of a target", Dangerous: true,
			Params:   []commands.Param{{Name: "target", Help: "target name (default: the only one)"}},
			Describe: func(c *commands.Call) string { return "flush the Redis cache of " + target(c) },
			Target:   target,
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				name := target(c)
				t, ok := d.Config().Target(name)
				if !ok {
					return commands.Response{}, commands.Errorf("unknown target %q; targets: %s", name, strings.Join(d.Config().TargetNames(), ", "))
				}
				res, err := cache.Flush(ctx, t.Redis)
				if err != nil {
					return commands.Response{}, commands.Errorf("%v", err)
				}
				return commands.Text("%s: %s", name, res), nil
			},
		}},
	}}
}
