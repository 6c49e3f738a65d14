package app

import (
	"context"
)

// wire builds the components beyond the core and registers their verbs,
// routes, health and run loops.
func (a *App) wire(ctx context.Context, shell bool) error {
	return nil
}

func standinCtl(args []string) int { return 2 }
