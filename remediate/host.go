package remediate

import (
	"context"
	"fmt"
	"time"
)

// HostResult is how an action addressed to an agent's host ended.
type HostResult struct {
	Ran     bool // the command ran through
	Healthy bool // and left the instance healthy
	Busy    bool // another action on the instance held its lock
	Lost    bool // the agent died while it ran, or it was never taken
	Text    string
}

// HostRunner runs action on target@host on behalf of by and waits for its
// end (a fleet job the host's agent works; its own allowlist decides).
type HostRunner func(ctx context.Context, host, target, action, by string) (HostResult, error)

// hostSlack is the time a job waits in a host's queue and travels back,
// on top of the action's own bound.
func hostSlack(a Args) time.Duration {
	if a.Host == "" {
		return 0
	}
	return 30 * time.Second
}

// onHost runs one attempt on the agent's host instead of the bot's own
// target, and judges it by what the agent reported.
func (r *Remediator) onHost(ctx context.Context, a Args) result {
	inst := a.instance()
	hr, err := r.OnHost(ctx, a.Host, a.Target, a.Action, Actor)
	if err != nil {
		return result{outcome: outcomeFailed, text: fmt.Sprintf("%s of %s (attempt %d of %d) not run: %s", actionNoun(a.Action), inst, a.Attempt, a.Budget, innermost(err))}
	}
	text := fmt.Sprintf("%s (attempt %d of %d)", hr.Text, a.Attempt, a.Budget)
	switch {
	case hr.Lost:
		return result{outcome: outcomeLost, text: text}
	case hr.Busy:
		return result{outcome: outcomeBusy, text: text}
	case hr.Healthy:
		return result{outcome: outcomeCleared, text: text}
	case hr.Ran:
		return result{outcome: outcomeNotCleared, text: text}
	}
	return result{outcome: outcomeFailed, text: text}
}

// instance is what the attempt's budget is kept for: the target, or
// target@host on an agent's host.
func (a Args) instance() string {
	if a.Host == "" {
		return a.Target
	}
	return a.Target + "@" + a.Host
}
