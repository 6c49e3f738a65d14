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

// hostRemediation lets remediation address hosts: an alert an agent
// reported is remediated by a job on that agent's queue (its allowlist
// decides). remediate keeps the budget and the thread; fleet the queue;
// neither knows the other.
func (a *App) hostRemediation(rem *remediate.Remediator) {
	if a.fleet == nil {
		return
	}
	rem.OnHost = HostRunner(a.fleet)
}

// HostRunner adapts a dispatcher to remediation's host seam.
func HostRunner(d *fleet.Dispatcher) remediate.HostRunner {
	return func(ctx context.Context, host, target, action, by string) (remediate.HostResult, error) {
		r, err := d.Run(ctx, host, target, action, by)
		if err != nil {
			return remediate.HostResult{}, err
		}
		text := r.Text
		if text == "" {
			text = r.Outcome
		}
		return remediate.HostResult{
			Ran:     r.Outcome == fleet.OutcomeOK || r.Outcome == fleet.OutcomeUnhealthy,
			Healthy: r.OK(),
			Busy:    r.Outcome == fleet.OutcomeBusy,
			Lost:    r.Outcome == fleet.OutcomeLost || r.Outcome == fleet.OutcomeNotRun,
			Text:    text,
		}, nil
	}
}
