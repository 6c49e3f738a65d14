// Package remediate is the bot's automatic action loop: notice, act, tell
// a human, escalate. A firing alert whose rule has a remediation (api_down
// → restart, memory_high → cache flush, disk_high → cleanup; each can be
// turned off) queues an action job on a River queue kept in the store.
// Actions are bounded per target, not per alert: one unfinished action of
// a kind per target (a unique job and a partial unique index), within a
// budget per target and action (restart_budget in restart_window) that
// starts again once the target's alert has not fired for reset_after.
// Every action is told in the thread of the alert that caused it and in
// the incident timeline of its target: the attempt ("restarting api
// (attempt 1 of 3)…"), the outcome with the time to healthy, and an
// action that did not clear its alert asks for a human; a spent restart
// budget raises a critical alert and opens an incident. Every action and
// every skipped one is audited.
//
// Silences: a silenced alert's remediation does not run (the silence says
// a human is on it); the audit says "skipped: silenced". Alerts of kind
// external (Alertmanager) never act through Firing: only the explicit
// alertmanager.actions mapping does, by calling Enqueue.
//
// The health job (Health) is a producer beside it: it observes the six
// status checks of every target as <check>_down alerts.
package remediate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"opsbot/alert"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/ops"
	"opsbot/store"
)

// Actor names the bot as the author of automatic actions.
const Actor = "opsbot (automatic)"

// IncidentOpener opens an incident for a target, or attaches to its open one.
type IncidentOpener interface {
	OpenOrAttach(ctx context.Context, target, title, severity, actor string) (id int64, opened bool, err error)
}

// Deps are what the remediator works with.
type Deps struct {
	Store  *store.Store
	Config func() *config.Config
	// Sink takes the critical restart_budget alert of a target whose
	// restarts did not help.
	Sink alert.Sink
	// Outbox posts in the thread of the alert that caused an action.
	Outbox chat.Outbox
	// Incidents, when set, opens an incident when a restart budget is spent.
	Incidents IncidentOpener
	// Timeline, when set, hears every action's news for the incident
	// timeline of its target.
	Timeline func(ctx context.Context, target, actor, text string)
	// Actions restarts under the target's action lock, without a hold.
	Actions *ops.Actions
	// Host measures memory and disk again after a flush or a cleanup (the
	// same sampler the rules read).
	Host ops.HostSampler
	Log  *slog.Logger
	// Now is the clock of budgets and rounds [time.Now].
	Now func() time.Time
	// OnHost, when set (a fleet), runs an action on target@host and waits
	// for its end: an alert an agent reported (label host) is remediated on
	// that host, never on the bot's own.
	OnHost HostRunner
}

// Remediator decides and runs automatic actions. Firing and Enqueue may be
// called on any replica (they only queue); Run works the queue and runs on
// the leader only.
type Remediator struct {
	Deps
	client *river.Client[*sql.Tx]

	runMu sync.Mutex // one Run at a time: the client starts once

	// seen coalesces a burst of observations (3,000 alerts in one
	// webhook): one decided for the same target, action and episode
	// within coalesce needs no second look at the store.
	seenMu sync.Mutex
	seen   map[seenKey]seenVal
}

// coalesce is how long a decision stands for identical observations.
const coalesce = time.Second

type seenKey struct{ target, action string }

type seenVal struct {
	at                 time.Time
	startsAt           time.Time
	silenced, eligible bool
}

// New migrates the action queue's tables and makes a remediator.
func New(ctx context.Context, d Deps) (*Remediator, error) {
	if d.Store == nil || d.Config == nil {
		return nil, errors.New("remediation: store and configuration are required")
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if err := MigrateQueue(ctx, d.Store, d.Log); err != nil {
		return nil, err
	}
	r := &Remediator{Deps: d}
	c, err := r.newClient()
	if err != nil {
		return nil, err
	}
	r.client = c
	return r, nil
}

// Run works the action queue until ctx ends, then stops: running actions
// are cancelled, so a demoted leader runs nothing after it lost the lease.
func (r *Remediator) Run(ctx context.Context) error {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if err := r.client.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: cancellation is no failure
		}
		return fmt.Errorf("action queue: %w", err)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.client.StopAndCancel(sctx); err != nil {
		r.Log.Warn("action queue did not stop in time", "err", err)
	}
	return nil
}

// Firing is called by the alert pipeline, outside any lock, after it
// committed an observation that keeps alert a firing. When a's rule has a
// remediation it queues the action for a's target (every target for a
// host-wide alert) if one is due: none of that kind unfinished on the
// target, the budget not spent, and the alert still firing after the
// previous attempt ended. Alerts of kind external never act here. With
// OnHost set, an alert an agent reported (label host) acts on its host:
// the budget is kept per target@host and the agent's allowlist decides.
func (r *Remediator) Firing(ctx context.Context, a alert.Alert, silenced bool) {
	if a.Kind == "external" || a.Status == alert.Resolved {
		return
	}
	cfg := r.Config()
	action, builtin := ActionFor(cfg.Remediation, a.Rule)
	ok := builtin
	if !ok && a.Remediation != "" && jobArgsFor(Args{Action: a.Remediation}) != nil {
		action, ok = a.Remediation, true // a configured rule's remediation, if allowlisted
	}
	if !ok || cfg.Remediation.Budget <= 0 {
		return // no action for this rule, or automatic actions off
	}
	host := ""
	if r.OnHost != nil {
		host = a.Labels["host"]
	}
	targets := cfg.Targets
	switch {
	case host != "" && a.Target != "":
		// The agent's own configuration and allowlist decide, not ours.
		targets = []config.Target{{Name: a.Target}}
	case a.Target != "":
		t, ok := cfg.Target(a.Target)
		if !ok {
			r.Log.Debug("remediation: alert on an unknown target", "rule", a.Rule, "target", a.Target)
			return
		}
		targets = []config.Target{t}
	}
	for _, t := range targets {
		if why := unable(t, action); why != "" && (host == "" || a.Target == "") {
			continue
		}
		eligible := true
		if builtin && action == ActRestart && a.Value < float64(cfg.Remediation.FailuresBeforeRestart) {
			eligible = false // failed checks so far: not yet
		}
		req := request{target: t.Name, host: host, action: action, fingerprint: a.Fingerprint, rule: a.Rule, startsAt: a.StartsAt,
			silenced: silenced, eligible: eligible}
		if err := r.decide(ctx, req); err != nil && ctx.Err() == nil {
			r.Log.Error("remediation: not queued", "target", t.Name, "action", action, "err", err)
		}
	}
}

// Enqueue queues action on target for the alert fingerprint, as Firing
// does for a rule's remediation (the same one-at-a-time rule and budget,
// without a failure count): the Alertmanager mapping calls it on each
// firing notification. A repeat while the previous job is unfinished does
// nothing; as the episode's start is unknown here, an attempt that cleared
// its alert (or a flush or cleanup, whatever its outcome) is not repeated
// within reset_after of its end. Bad input (an unknown target or action, an
// action the target cannot run) is an error and changes nothing.
func (r *Remediator) Enqueue(ctx context.Context, target, action, fingerprint string) error {
	if jobArgsFor(Args{Action: action}) == nil {
		return fmt.Errorf("remediation: unknown action %q (want %s, %s or %s)", action, ActRestart, ActCacheFlush, ActCleanup)
	}
	cfg := r.Config()
	if cfg.Remediation.Budget <= 0 {
		return errors.New("remediation: automatic actions are off (remediation.restart_budget is 0)")
	}
	t, ok := cfg.Target(target)
	if !ok {
		return fmt.Errorf("remediation: unknown target %q", target)
	}
	if why := unable(t, action); why != "" {
		return fmt.Errorf("remediation: %s on %s: %s", action, target, why)
	}
	return r.decide(ctx, request{target: target, action: action, fingerprint: fingerprint, eligible: true})
}

// ActionFor maps an alert rule to its configured action.
func ActionFor(c config.Remediation, rule string) (string, bool) {
	switch {
	case rule == "api_down" && c.RestartOnAPIDown:
		return ActRestart, true
	case c.FlushCacheOnMemory && rule == c.MemoryRule:
		return ActCacheFlush, true
	case c.CleanupOnDisk && rule == c.DiskRule:
		return ActCleanup, true
	}
	return "", false
}

// unable says why target cannot run action ("" when it can).
func unable(t config.Target, action string) string { return t.Unable(action) }

// repeats reports whether an action is tried again while its alert keeps
// firing. A restart may work the second time; a second flush or cleanup
// in one episode finds nothing new to free, so it asks a human instead.
func repeats(action string) bool { return action == ActRestart }

type request struct {
	target, action, fingerprint, rule string
	host                              string    // the agent's host, or "" for the bot's own
	startsAt                          time.Time // the alert episode's start (zero: unknown)
	silenced                          bool
	eligible                          bool // the alert is bad enough to act on
}

// decision is what decide found to do after its transaction.
type decision int

const (
	nothing decision = iota
	queued
	skippedSilenced
	budgetSpent
)

// decide records the firing observation in the target's budget round and
// queues an attempt when one is due, in one transaction with the job.
func (r *Remediator) decide(ctx context.Context, req request) error {
	now := r.Now()
	cfg := r.Config().Remediation
	target := req.target // the budget's key: the instance on a host
	if req.host != "" {
		req.target += "@" + req.host
	}
	key := seenKey{req.target, req.action}
	val := seenVal{at: now, startsAt: req.startsAt, silenced: req.silenced, eligible: req.eligible}
	r.seenMu.Lock()
	last, ok := r.seen[key]
	r.seenMu.Unlock()
	if ok && now.Sub(last.at) < coalesce && now.Sub(last.at) >= 0 && last.startsAt.Equal(val.startsAt) &&
		last.silenced == val.silenced && last.eligible == val.eligible {
		return nil
	}
	var (
		what    = nothing
		counted []store.RemediationAttempt
	)
	err := r.Store.Tx(ctx, func(tx *sqlx.Tx) error {
		what, counted = nothing, nil
		round, found, err := store.LockRemediationRound(ctx, tx, req.target, req.action)
		if err != nil {
			return err
		}
		if !found || now.Sub(round.LastFiringAt.Time) >= cfg.ResetAfter {
			// Not firing for reset_after: a new outage, a fresh budget.
			round = store.RemediationRound{Target: req.target, Action: req.action, StartedAt: store.T(now)}
		}
		round.LastFiringAt = store.T(now)
		put := func() error { return store.PutRemediationRound(ctx, tx, round) }
		if req.silenced {
			if round.SkippedAt.IsZero() {
				round.SkippedAt = store.T(now)
				what = skippedSilenced
			}
			return put()
		}
		if !req.eligible {
			return put()
		}
		open, err := store.OpenRemediationAttempt(ctx, tx, req.target, req.action)
		switch {
		case err == nil:
			if !r.lost(ctx, tx, open, now) {
				return put() // one at a time: this observation joins it
			}
			if err := store.FinishRemediationAttempt(ctx, tx, open.ID, "lost", "the bot stopped while it ran", now); err != nil {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		inRound, err := store.CountedRemediationAttempts(ctx, tx, req.target, req.action, round.StartedAt.Time)
		if err != nil {
			return err
		}
		if n := len(inRound); n > 0 {
			last := inRound[n-1]
			// Is this the episode the last attempt answered? Without the
			// episode's start (Enqueue), an attempt is trusted for
			// reset_after after it ended.
			endedIt := now.Sub(last.FinishedAt.Time) < cfg.ResetAfter
			sameEpisode := endedIt
			if !req.startsAt.IsZero() {
				endedIt = !req.startsAt.After(last.FinishedAt.Time)
				sameEpisode = !req.startsAt.After(last.QueuedAt.Time)
			}
			if last.Outcome == outcomeCleared && endedIt {
				return put() // a late observation of the episode the action ended
			}
			if !repeats(req.action) && sameEpisode {
				return put() // once per episode; its outcome asked a human
			}
		}
		for _, a := range inRound {
			if now.Sub(a.QueuedAt.Time) < cfg.Window {
				counted = append(counted, a)
			}
		}
		if !round.SpentAt.IsZero() {
			return put() // spent stays spent until the round resets
		}
		if len(counted) >= cfg.Budget {
			round.SpentAt = store.T(now)
			what = budgetSpent
			return put()
		}
		att := store.RemediationAttempt{Target: req.target, Action: req.action, Fingerprint: req.fingerprint,
			Attempt: len(counted) + 1, Budget: cfg.Budget, QueuedAt: store.T(now)}
		if err := store.InsertRemediationAttempt(ctx, tx, &att); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errDuplicate // another unfinished attempt after all
			}
			return err
		}
		res, err := r.client.InsertTx(ctx, tx.Tx, jobArgsFor(Args{AttemptID: att.ID, Target: target, Host: req.host, Action: att.Action,
			Fingerprint: att.Fingerprint, Attempt: att.Attempt, Budget: att.Budget}), insertOpts())
		if err != nil {
			return fmt.Errorf("queue %s of %s: %w", req.action, req.target, err)
		}
		if res.UniqueSkippedAsDuplicate {
			// An unfinished job this store did not know of: leave it be.
			return errDuplicate
		}
		if err := store.SetRemediationJob(ctx, tx, att.ID, res.Job.ID); err != nil {
			return err
		}
		what = queued
		return put()
	})
	if errors.Is(err, errDuplicate) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("remediation %s of %s: %w", req.action, req.target, err)
	}
	r.seenMu.Lock()
	if r.seen == nil || len(r.seen) > 10_000 {
		r.seen = map[seenKey]seenVal{}
	}
	r.seen[key] = val
	r.seenMu.Unlock()
	switch what {
	case skippedSilenced:
		text := fmt.Sprintf("%s of %s for %s skipped: silenced", actionNoun(req.action), req.target, orDefault(req.rule, req.fingerprint))
		r.audit(ctx, req.target, req.action, text, "skipped")
	case budgetSpent:
		r.spent(ctx, req.target, req.action, req.fingerprint, counted, "")
	}
	return nil
}

var errDuplicate = errors.New("duplicate job")

// lost reports whether an unfinished attempt will never finish: its job
// ended without finishing it, or it has been unfinished for longer than
// its action may take (the process running it died).
func (r *Remediator) lost(ctx context.Context, tx *sqlx.Tx, a store.RemediationAttempt, now time.Time) bool {
	since := a.QueuedAt.Time
	if !a.StartedAt.IsZero() {
		since = a.StartedAt.Time
	}
	if now.Sub(since) > r.timeout(Args{Target: a.Target, Action: a.Action})+time.Minute && a.State == store.AttemptRunning {
		return true
	}
	if a.JobID == nil {
		return false
	}
	job, err := r.client.JobGetTx(ctx, tx.Tx, *a.JobID)
	if err != nil {
		return errors.Is(err, river.ErrNotFound)
	}
	return job.FinalizedAt != nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
