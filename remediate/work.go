package remediate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"opsbot/alert"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/human"
	"opsbot/ops"
	"opsbot/ops/cache"
	"opsbot/ops/cleanup"
	"opsbot/store"
)

// Outcomes of an attempt.
const (
	outcomeCleared    = "cleared"     // the action fixed what its alert measures
	outcomeNotCleared = "not_cleared" // it ran; the alert's condition is still there
	outcomeFailed     = "failed"      // it did not run through
	outcomeBusy       = "busy"        // another action on the target held the lock: not counted
	outcomeLost       = "lost"        // interrupted: not counted
)

func actionNoun(action string) string {
	switch action {
	case ActRestart:
		return "restart"
	case ActCacheFlush:
		return "cache flush"
	case ActCleanup:
		return "cleanup"
	}
	return action
}

// timeout bounds one action: a restart gets its command timeout and
// health deadline, a flush a minute, a cleanup ten.
func (r *Remediator) timeout(a Args) time.Duration {
	switch a.Action {
	case ActRestart:
		t, _ := r.Config().Target(a.Target)
		return orDur(t.CommandTimeout, 2*time.Minute) + orDur(t.HealthDeadline, time.Minute) + 30*time.Second + hostSlack(a)
	case ActCacheFlush:
		return time.Minute + hostSlack(a)
	}
	return 10*time.Minute + hostSlack(a)
}

func orDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// result is how one attempt ended.
type result struct {
	outcome string
	text    string // told in the thread, the timeline and the audit
	// resolve, when set, is the observation that the alert the action
	// answered is over, made once the outcome is told.
	resolve *alert.Alert
}

// work runs one queued attempt and tells what it did.
func (r *Remediator) work(ctx context.Context, a Args, complete func(ctx context.Context, tx *sql.Tx) error) {
	bg := context.WithoutCancel(ctx)
	ok, err := store.StartRemediationAttempt(ctx, r.Store.DB, a.AttemptID, r.Now())
	if err != nil {
		r.Log.Error("remediation: start attempt", "target", a.Target, "action", a.Action, "err", err)
		return
	}
	if !ok {
		// Finished already (found lost, then worked after all): nothing to do.
		if err := r.Store.Tx(bg, func(tx *sqlx.Tx) error { return complete(bg, tx.Tx) }); err != nil {
			r.Log.Error("remediation: complete job", "target", a.Target, "action", a.Action, "err", err)
		}
		return
	}
	var res result
	t, known := r.Config().Target(a.Target)
	switch {
	case !known && a.Host == "":
		res = result{outcome: outcomeFailed, text: fmt.Sprintf("%s of %s not started: the target is no longer configured", actionNoun(a.Action), a.Target)}
	default:
		r.tell(bg, a.Target, a.Fingerprint, chat.SevWarning, starting(a))
		switch {
		case a.Host != "":
			res = r.onHost(ctx, a)
		case a.Action == ActRestart:
			res = r.restart(ctx, t, a)
		case a.Action == ActCacheFlush:
			res = r.flush(ctx, t, a)
		case a.Action == ActCleanup:
			res = r.cleanup(ctx, t, a)
		}
	}
	if ctx.Err() != nil && res.outcome != outcomeCleared {
		res = result{outcome: outcomeLost, text: fmt.Sprintf("%s %d of %d on %s interrupted: the bot is stopping or lost the lead", actionNoun(a.Action), a.Attempt, a.Budget, a.Target)}
	}
	sev := chat.SevOK
	switch res.outcome {
	case outcomeNotCleared, outcomeFailed:
		sev = chat.SevCritical
	case outcomeBusy, outcomeLost:
		sev = chat.SevWarning
	}
	r.tell(bg, a.Target, a.Fingerprint, sev, res.text)
	if res.resolve != nil && r.Sink != nil {
		if err := r.Sink.Notify(bg, *res.resolve); err != nil {
			r.Log.Error("remediation: resolve", "alert", res.resolve.Fingerprint, "err", err)
		}
	}
	result := "ok"
	if res.outcome != outcomeCleared {
		result = "error"
	}
	r.audit(bg, a.instance(), a.Action, res.text, result)
	// The last restart of the budget did not help: escalate now rather
	// than at the next check.
	if a.Action == ActRestart && a.Attempt >= a.Budget && (res.outcome == outcomeNotCleared || res.outcome == outcomeFailed) {
		if err := r.spendNow(bg, a.instance(), a.Action, a.Fingerprint, res.text); err != nil {
			r.Log.Error("remediation: budget", "target", a.Target, "err", err)
		}
	}
	// Finished last, once everything is told: the next attempt cannot
	// start before this one's news.
	err = r.Store.Tx(bg, func(tx *sqlx.Tx) error {
		if err := store.FinishRemediationAttempt(bg, tx, a.AttemptID, res.outcome, res.text, r.Now()); err != nil {
			return err
		}
		return complete(bg, tx.Tx)
	})
	if err != nil {
		r.Log.Error("remediation: finish attempt", "target", a.Target, "action", a.Action, "err", err)
	}
}

func starting(a Args) string {
	if a.Host != "" {
		a.Target += "@" + a.Host
	}
	var what string
	switch a.Action {
	case ActRestart:
		what = "restarting " + a.Target
	case ActCacheFlush:
		what = "flushing the cache of " + a.Target
	case ActCleanup:
		what = "cleaning up " + a.Target
	default:
		what = a.Action + " on " + a.Target
	}
	return fmt.Sprintf("%s (attempt %d of %d)…", what, a.Attempt, a.Budget)
}

func (r *Remediator) restart(ctx context.Context, t config.Target, a Args) result {
	if r.Actions == nil {
		return result{outcome: outcomeFailed, text: fmt.Sprintf("restart %d of %d of %s not started: this bot runs no actions", a.Attempt, a.Budget, t.Name)}
	}
	// Timed on the clock of the attempt rows, so the thread and the
	// resolve ("recovered after restart 1 of 3 (14 s)") tell one duration.
	start := r.Now()
	res, err := r.Actions.RunAutomatic(ctx, t, ops.ActRestart, Actor)
	took := r.Now().Sub(start)
	var busy *ops.BusyError
	switch {
	case errors.As(err, &busy):
		return result{outcome: outcomeBusy, text: fmt.Sprintf("restart of %s not started: %v; not counted against the budget", t.Name, err)}
	case err != nil:
		return result{outcome: outcomeFailed, text: fmt.Sprintf("restart %d of %d of %s could not start: %v", a.Attempt, a.Budget, t.Name, err)}
	case res.RunErr != nil:
		return result{outcome: outcomeFailed, text: fmt.Sprintf("restart %d of %d of %s failed after %s: %v", a.Attempt, a.Budget, t.Name, human.Duration(took), res.RunErr)}
	case !res.Healthy:
		return result{outcome: outcomeNotCleared, text: fmt.Sprintf("%s still unhealthy %s after restart %d of %d (%s)", t.Name, human.Duration(took), a.Attempt, a.Budget, innermost(res.HealthErr))}
	}
	out := result{outcome: outcomeCleared, text: fmt.Sprintf("%s healthy again %s after restart %d of %d", t.Name, human.Duration(took), a.Attempt, a.Budget)}
	if a.Fingerprint == DownFingerprint("api", t.Name) {
		// The restart's health check is the api check passing: the alert
		// resolves now, not at the next health check an interval later.
		out.resolve = &alert.Alert{Fingerprint: a.Fingerprint, Kind: "health", Rule: DownRule("api"), Target: t.Name,
			Status: alert.Resolved, Summary: fmt.Sprintf("%s recovered after restart %d of %d (%s)", checkNoun("api"), a.Attempt, a.Budget, human.Duration(took)),
			EndsAt: r.Now()}
	}
	return out
}

func (r *Remediator) flush(ctx context.Context, t config.Target, a Args) result {
	var (
		res cache.Result
		err error
	)
	lerr := r.exclusive(ctx, t.Name, ActCacheFlush, func(ctx context.Context) error {
		res, err = cache.Flush(ctx, t.Redis)
		return nil
	})
	if busy := asBusy(lerr); busy != "" {
		return result{outcome: outcomeBusy, text: fmt.Sprintf("cache flush of %s not started: %s; not counted against the budget", t.Name, busy)}
	}
	if err = errors.Join(lerr, err); err != nil {
		return result{outcome: outcomeFailed, text: fmt.Sprintf("cache flush %d of %d on %s failed: %v", a.Attempt, a.Budget, t.Name, err)}
	}
	did := fmt.Sprintf("cache flush %d of %d on %s removed %s in %s", a.Attempt, a.Budget, t.Name, keys(res.KeysBefore), human.Duration(res.Took))
	var mem float64
	var merr error
	if r.Host == nil {
		merr = errors.New("no host sampler")
	} else {
		var s ops.HostSample
		s, merr = r.Host.Sample(ctx)
		mem = s.Mem
	}
	return judge(did, "memory", r.Config().Thresholds.MemoryPct.Normal, mem, merr)
}

func (r *Remediator) cleanup(ctx context.Context, t config.Target, a Args) result {
	var (
		rep cleanup.Report
		err error
	)
	lerr := r.exclusive(ctx, t.Name, ActCleanup, func(ctx context.Context) error {
		rep, err = cleanup.Run(ctx, t, cleanup.Options{Now: time.Now()})
		return nil
	})
	if busy := asBusy(lerr); busy != "" {
		return result{outcome: outcomeBusy, text: fmt.Sprintf("cleanup of %s not started: %s; not counted against the budget", t.Name, busy)}
	}
	if err = errors.Join(lerr, err); err != nil {
		return result{outcome: outcomeFailed, text: fmt.Sprintf("cleanup %d of %d on %s failed: %v", a.Attempt, a.Budget, t.Name, err)}
	}
	did := fmt.Sprintf("cleanup %d of %d on %s freed %s (%d gzipped, %d deleted)", a.Attempt, a.Budget, t.Name, human.Bytes(rep.Freed),
		rep.Count(cleanup.Gzip), rep.Count(cleanup.Delete))
	// The file system cleanup freed space on: the target's own.
	used, _, derr := ops.DiskPercent(ctx, t.Workdir)
	return judge(did, "disk", r.Config().Thresholds.DiskPct.Normal, used, derr)
}

// judge compares what was measured again after a flush or cleanup with
// the alert's normal bound: the alert resolves only back at it, so above
// it the action did not clear the alert and a human is needed.
func judge(did, what string, normal, v float64, err error) result {
	if err != nil {
		return result{outcome: outcomeNotCleared, text: fmt.Sprintf("%s; %s could not be measured again (%v): a human should check it", did, what, err)}
	}
	if v > normal {
		return result{outcome: outcomeNotCleared, text: fmt.Sprintf("%s; %s still %s, above %s: a human is needed", did, what, pct(v), pct(normal))}
	}
	return result{outcome: outcomeCleared, text: fmt.Sprintf("%s; %s now %s, at or below %s", did, what, pct(v), pct(normal))}
}

func pct(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " %" }

func keys(n int64) string {
	if n == 1 {
		return "1 key"
	}
	return strconv.FormatInt(n, 10) + " keys"
}

// exclusive runs fn under the target's action lock (no maintenance hold):
// one action at a time per target, automatic or by hand.
func (r *Remediator) exclusive(ctx context.Context, target, action string, fn func(ctx context.Context) error) error {
	if r.Actions == nil {
		return fn(ctx)
	}
	return r.Actions.Exclusive(ctx, target, actionNoun(action), Actor, r.timeout(Args{Target: target, Action: action}), fn)
}

func asBusy(err error) string {
	var busy *ops.BusyError
	if errors.As(err, &busy) {
		return busy.Error()
	}
	return ""
}

// spendNow marks the budget of target and action spent after its last
// attempt did not help, and escalates once.
func (r *Remediator) spendNow(ctx context.Context, target, action, fingerprint, cause string) error {
	now := r.Now()
	cfg := r.Config().Remediation
	var (
		newly   bool
		counted []store.RemediationAttempt
	)
	err := r.Store.Tx(ctx, func(tx *sqlx.Tx) error {
		newly, counted = false, nil
		round, found, err := store.LockRemediationRound(ctx, tx, target, action)
		if err != nil || !found || !round.SpentAt.IsZero() {
			return err
		}
		inRound, err := store.CountedRemediationAttempts(ctx, tx, target, action, round.StartedAt.Time)
		if err != nil {
			return err
		}
		for _, a := range inRound {
			if now.Sub(a.QueuedAt.Time) < cfg.Window {
				counted = append(counted, a)
			}
		}
		if len(counted) < cfg.Budget {
			return nil
		}
		round.SpentAt, newly = store.T(now), true
		return store.PutRemediationRound(ctx, tx, round)
	})
	if err != nil || !newly {
		return err
	}
	r.spent(ctx, target, action, fingerprint, counted, cause)
	return nil
}

// spent tells that the budget of target and action is spent. A spent
// restart budget means the target stays down: it raises the critical
// restart_budget alert and opens (or joins) an incident.
func (r *Remediator) spent(ctx context.Context, target, action, fingerprint string, counted []store.RemediationAttempt, cause string) {
	now := r.Now()
	var span time.Duration
	if len(counted) > 0 {
		span = now.Sub(counted[0].QueuedAt.Time)
	}
	budget := fmt.Sprintf("%s budget spent (%d in %s)", actionNoun(action), len(counted), human.Duration(span))
	if action != ActRestart {
		text := budget + ": not trying again; a human is needed"
		r.tell(ctx, target, fingerprint, chat.SevCritical, text)
		r.audit(ctx, target, action, text, "error")
		return
	}
	text := budget
	if r.Incidents != nil {
		id, opened, err := r.Incidents.OpenOrAttach(ctx, target, target+" down: restart budget spent", "critical", Actor)
		switch {
		case err != nil:
			r.Log.Error("remediation: open incident", "target", target, "err", err)
			text += ": a human is needed (the incident could not be opened)"
		case opened:
			text += fmt.Sprintf(": opening incident #%d", id)
		default:
			text += fmt.Sprintf(": added to incident #%d", id)
		}
	} else {
		text += ": a human is needed"
	}
	if r.Sink != nil {
		summary := fmt.Sprintf("%s still down after %d automatic restarts in %s: a human is needed", target, len(counted), human.Duration(span))
		if err := r.Sink.Notify(ctx, alert.Alert{Fingerprint: BudgetFingerprint(target), Kind: "incident", Rule: "restart_budget",
			Target: target, Severity: "critical", Status: alert.Firing, Summary: summary, Detail: cause,
			Value: float64(len(counted)), StartsAt: now}); err != nil {
			r.Log.Error("remediation: budget alert", "target", target, "err", err)
		}
	}
	r.reply(ctx, fingerprint, chat.SevCritical, text)
	// The incident's own thread is not told that it is being opened.
	r.record(ctx, target, budget+": a human is needed")
	r.audit(ctx, target, action, text, "error")
}

// BudgetFingerprint is the fingerprint of a target's restart_budget alert.
func BudgetFingerprint(target string) string { return "restart_budget:" + target }

// tell posts text in the thread of the alert that caused the action and
// in the incident timeline of the target.
func (r *Remediator) tell(ctx context.Context, target, fingerprint string, sev chat.Severity, text string) {
	r.reply(ctx, fingerprint, sev, text)
	r.record(ctx, target, text)
}

// reply posts text in the thread of the alert with fingerprint.
func (r *Remediator) reply(ctx context.Context, fingerprint string, sev chat.Severity, text string) {
	if r.Outbox != nil && fingerprint != "" {
		if err := r.Outbox.Reply(ctx, "alert:"+fingerprint, chat.Message{Text: text, Severity: sev}); err != nil {
			r.Log.Warn("remediation: reply in the alert's thread", "err", err)
		}
	}
}

// record puts text in the incident timeline of target.
func (r *Remediator) record(ctx context.Context, target, text string) {
	if r.Timeline != nil {
		r.Timeline(ctx, target, Actor, text)
	}
}

func (r *Remediator) audit(ctx context.Context, target, action, text, result string) {
	if _, err := r.Store.AddAudit(ctx, store.AuditRow{At: store.T(r.Now()), Platform: "opsbot", UserID: "auto", UserName: Actor,
		Verb: "auto " + action, Target: target, Text: text, Result: result}); err != nil {
		r.Log.Error("remediation: audit", "err", err)
	}
}

// innermost is the last error of a chain, the cause in plain words
// ("status 503", "connection refused"), for a line in chat.
func innermost(err error) string {
	if err == nil {
		return ""
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	s := strings.TrimPrefix(err.Error(), "health: ")
	if i := strings.LastIndex(s, "connect: "); i >= 0 {
		s = s[i+len("connect: "):]
	}
	return s
}
