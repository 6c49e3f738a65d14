package remediate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"opsbot/config"
	"opsbot/human"
	"opsbot/ops"
	"opsbot/store"
)

// Budget is what is left of a target's budget for one action.
type Budget struct {
	Action string
	Used   int  // attempts counted in the current round and window
	Left   int  // budget minus used (0 when spent)
	Spent  bool // spent in the current round: no more attempts until it resets
}

// Budgets returns target's budget per action, as the next firing alert
// would find it (a round its alert has not fired in for reset_after is
// fresh).
func (r *Remediator) Budgets(ctx context.Context, target string) ([]Budget, error) {
	cfg := r.Config().Remediation
	now := r.Now()
	var out []Budget
	for _, action := range []string{ActRestart, ActCacheFlush, ActCleanup} {
		b := Budget{Action: action, Left: cfg.Budget}
		round, found, err := store.RemediationRoundOf(ctx, r.Store.DB, target, action)
		if err != nil {
			return nil, err
		}
		if found && now.Sub(round.LastFiringAt.Time) < cfg.ResetAfter {
			inRound, err := store.CountedRemediationAttempts(ctx, r.Store.DB, target, action, round.StartedAt.Time)
			if err != nil {
				return nil, err
			}
			for _, a := range inRound {
				if now.Sub(a.QueuedAt.Time) < cfg.Window {
					b.Used++
				}
			}
			b.Spent = !round.SpentAt.IsZero()
			b.Left = max(cfg.Budget-b.Used, 0)
			if b.Spent {
				b.Left = 0
			}
		}
		out = append(out, b)
	}
	return out, nil
}

// Lines are the /ops status lines of automatic actions: per target the
// budget left of each action it can run and its last action. A spent
// budget is failing (a human is needed), a used one a warning.
func (r *Remediator) Lines(ctx context.Context) []ops.Line {
	cfg := r.Config()
	rc := cfg.Remediation
	var out []ops.Line
	for _, t := range cfg.Targets {
		l := ops.Line{Target: t.Name, Check: "remediation", Level: ops.LevelOK,
			Threshold: fmt.Sprintf("%d of each in %s, fresh after %s without alert", rc.Budget, human.Duration(rc.Window), human.Duration(rc.ResetAfter))}
		budgets, err := r.Budgets(ctx, t.Name)
		if err != nil {
			l.Level, l.Value = ops.LevelWarning, "state unreadable: "+err.Error()
			out = append(out, l)
			continue
		}
		var parts []string
		for _, b := range budgets {
			if !enabled(rc, b.Action) || unable(t, b.Action) != "" {
				continue
			}
			p := fmt.Sprintf("%s %d of %d left", actionNoun(b.Action), b.Left, rc.Budget)
			switch {
			case b.Spent:
				p = actionNoun(b.Action) + " budget spent, waiting for a human"
				l.Level = ops.LevelFailing
			case b.Used > 0 && l.Level < ops.LevelWarning:
				l.Level = ops.LevelWarning
			}
			parts = append(parts, p)
		}
		if len(parts) == 0 {
			parts = append(parts, "no automatic action configured")
		}
		l.Value = strings.Join(parts, ", ")
		if last, err := store.LatestRemediationAttempts(ctx, r.Store.DB, t.Name, 1); err == nil && len(last) == 1 {
			l.Value += "; last: " + describe(last[0], r.Now())
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			l.Value += "; last action unreadable"
		}
		out = append(out, l)
	}
	return out
}

func enabled(c config.Remediation, action string) bool {
	switch action {
	case ActRestart:
		return c.RestartOnAPIDown
	case ActCacheFlush:
		return c.FlushCacheOnMemory
	case ActCleanup:
		return c.CleanupOnDisk
	}
	return false
}

// describe says what an attempt is doing or did, and when.
func describe(a store.RemediationAttempt, now time.Time) string {
	switch a.State {
	case store.AttemptQueued:
		return fmt.Sprintf("%s %d of %d queued %s ago", actionNoun(a.Action), a.Attempt, a.Budget, human.Duration(now.Sub(a.QueuedAt.Time)))
	case store.AttemptRunning:
		return fmt.Sprintf("%s %d of %d running for %s", actionNoun(a.Action), a.Attempt, a.Budget, human.Duration(now.Sub(a.StartedAt.Time)))
	}
	return fmt.Sprintf("%s ago, %s", human.Duration(now.Sub(a.FinishedAt.Time)), a.Text)
}
