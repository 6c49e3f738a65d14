package app

import (
	"context"

	"opsbot/alert"
	"opsbot/commands"
	"opsbot/fleet"
	"opsbot/remediate"
	fleetverbs "opsbot/verbs/fleet"
)

// wireFleet makes the dispatcher when fleet.enabled: the bot then
// addresses actions to agents (name@host) and the leader watches them.
func (a *App) wireFleet(ctx context.Context) error {
	if !a.Config().Fleet.Enabled {
		return nil
	}
	// The queue's tables are the action queue's (River); they may not be
	// there yet when the remediator has not migrated them.
	if err := remediate.MigrateQueue(ctx, a.store, a.log); err != nil {
		return err
	}
	d, err := fleet.NewDispatcher(a.store, a.Config, a.log)
	if err != nil {
		return err
	}
	a.fleet = d
	return nil
}

// fleetVerbs wraps the single-host restart, update and status in their
// fleet versions when a fleet is on; otherwise it returns them as they are.
func (a *App) fleetVerbs(local []*commands.Verb) []*commands.Verb {
	if a.fleet == nil {
		return local
	}
	return fleetverbs.Verbs(fleetverbs.Deps{Config: a.Config, Fleet: a.fleet, Local: local})
}

// runFleet is the leader's fleet watch: host_down, lost jobs.
func (a *App) runFleet(ctx context.Context, sink alert.Sink) error {
	if a.fleet == nil {
		<-ctx.Done()
		return nil
	}
	m := &fleet.Monitor{Store: a.store, Config: a.Config, Sink: sink, Log: a.log}
	return m.Run(ctx)
}
