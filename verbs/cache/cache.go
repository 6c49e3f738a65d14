// Package cache holds the `cache flush` verb, guarded like restart.
package cache

import (
	"context"
	"fmt"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/ops/cache"
	"opsbot/policy"
)

// Deps are what the verb needs.
type Deps struct {
	Config func() *config.Config
}

// Verbs returns the cache verb.
func Verbs(d Deps) []*commands.Verb {
	target := func(c *commands.Call) string { return commands.DefaultTarget(d.Config(), c.Arg(0)) }
	return []*commands.Verb{{
		Name: "cache", Summary: "flush the served service's Redis cache (FLUSHDB of its cache database)",
		Subs: []*commands.Verb{{
			Name: "flush", Summary: "flush the cache database of a target", Access: policy.Dangerous,
			Params: []commands.Param{{Name: "target", Help: "target name (default: the only one)"}},
			Describe: func(c *commands.Call) string {
				if t, err := commands.PickTarget(d.Config(), c.Arg(0)); err == nil && t.Redis.Addr != "" {
					return fmt.Sprintf("flush cache db %d of %s", t.Redis.DB, t.Name)
				}
				return "flush the Redis cache of " + target(c)
			},
			Target: target,
			// A flush that cannot run says so before anyone confirms it.
			Check: func(ctx context.Context, c *commands.Call) error {
				t, err := commands.PickTarget(d.Config(), c.Arg(0))
				if err != nil {
					return err
				}
				if t.Redis.Addr == "" {
					return commands.Errorf("%s has no Redis configured (targets[].redis.addr): there is no cache to flush", t.Name)
				}
				return nil
			},
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				t, err := commands.PickTarget(d.Config(), c.Arg(0))
				if err != nil {
					return commands.Response{}, err
				}
				name := t.Name
				res, err := cache.Flush(ctx, t.Redis)
				if err != nil {
					return commands.Response{}, commands.Errorf("%v", err)
				}
				return commands.Text("%s: %s", name, res), nil
			},
		}},
	}}
}
