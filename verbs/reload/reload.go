// Package reload holds /ops reload: read the configuration file again and
// apply it everywhere at once, or keep the old one and say why.
package reload

import (
	"context"

	"opsbot/commands"
	"opsbot/policy"
)

// Deps are what the verb needs: the app's reload.
type Deps struct {
	Reload func() error
}

// Verbs returns the reload verb (admins only).
func Verbs(d Deps) []*commands.Verb {
	return []*commands.Verb{{
		Name:    "reload",
		Access:  policy.Admin,
		Summary: "read the configuration file again: all of it applies, or none and the problems are shown",
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			if err := d.Reload(); err != nil {
				return commands.Response{}, commands.Errorf("%s", err.Error())
			}
			return commands.Text("Configuration reloaded: checks, rules, routes, inhibitions and monitors now run from it."), nil
		},
	}}
}
