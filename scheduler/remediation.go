package scheduler

import (
	"opsbot/alert"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/store"
)

// Restarter restarts a target and reports whether it came back healthy
// (the operations' restart: lock, argv, health check after).
type Restarter interface {
	Restart(ctx context.Context, target, actor string) (summary string, healthy bool, err error)
}

// IncidentOpener opens an incident for a target, or attaches to its open one.
type IncidentOpener interface {
	OpenOrAttach(ctx context.Context, target, title, severity, actor string) (id int64, opened bool, err error)
}

// Action is an automatic handler for an alert (flush the cache, clean up).
type Action func(ctx context.Context, target string) (string, error)

// Remediator acts on health failures and alerts, within a restart budget.
// Better than a bare "restart after 3 failures": restarts are counted in a
// window, the count survives a bot restart, and when the budget is spent it
// stops and calls a human.
type Remediator struct {
	Store     *store.Store
	Config    func() *config.Config
	Sink      Sink
	Outbox    chat.Outbox
	Restarter Restarter
	Incidents IncidentOpener // optional: without it a critical alert goes to the incident channel
	Probe     func(ctx context.Context, t config.Target) error
	Handlers  map[string]Action // alert rule → action (e.g. memory → flush cache, disk → cleanup)
	// OnAction, when set, hears every automatic action (incident timelines).
	OnAction func(ctx context.Context, target, actor, text string)
	Log      *slog.Logger
	Now      func() time.Time

	mu sync.Mutex // one health pass at a time
}

// RemediationState is kept per target in the store.
type RemediationState struct {
	Failures     int     `json:"failures"`
	Restarts     []int64 `json:"restarts"` // unix ms of automatic restarts within the window
	HealthySince int64   `json:"healthy_since"`
	Spent        bool    `json:"spent"`
	Down         bool    `json:"down"`
}

// Actor names the bot as the author of automatic actions.
const Actor = "opsbot (automatic)"

func stateKey(target string) string { return "remediation:" + target }

// HealthFingerprint is the fingerprint of a target's health alert.
func HealthFingerprint(target string) string { return "health_down:" + target }

func (r *Remediator) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Remediator) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// State returns the stored remediation state of target.
func (r *Remediator) State(ctx context.Context, target string) (RemediationState, error) {
	var st RemediationState
	err := r.Store.GetState(ctx, stateKey(target), &st)
	if errors.Is(err, store.ErrNotFound) {
		return st, nil
	}
	return st, err
}

// CheckHealth is the health job: probe every target and act.
func (r *Remediator) CheckHealth(ctx context.Context, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, t := range r.Config().Targets {
		if err := r.checkTarget(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (r *Remediator) checkTarget(ctx context.Context, t config.Target) error {
	cfg := r.Config().Remediation
	st, err := r.State(ctx, t.Name)
	if err != nil {
		return err
	}
	now := r.now()
	probeErr := r.Probe(ctx, t)
	window := cfg.Window
	// Forget restarts that left the window.
	kept := st.Restarts[:0]
	for _, ms := range st.Restarts {
		if now.Sub(time.UnixMilli(ms)) < window {
			kept = append(kept, ms)
		}
	}
	st.Restarts = kept
	fp := HealthFingerprint(t.Name)
	if probeErr == nil {
		if st.HealthySince == 0 {
			st.HealthySince = now.UnixMilli()
		}
		if st.Down {
			st.Down = false
			r.notify(ctx, alert.Alert{Fingerprint: fp, Kind: "health", Rule: "health_down", Target: t.Name, Severity: "critical",
				Status: alert.Resolved, Summary: fmt.Sprintf("%s is healthy again", t.Name), StartsAt: now, EndsAt: now})
		}
		st.Failures = 0
		// A healthy period as long as the window resets the budget.
		if st.Spent && now.Sub(time.UnixMilli(st.HealthySince)) >= window {
			st.Spent = false
			st.Restarts = nil
		}
		return r.Store.PutState(ctx, stateKey(t.Name), st, now)
	}
	st.Failures++
	st.HealthySince = 0
	if st.Failures < cfg.FailuresBeforeRestart {
		return r.Store.PutState(ctx, stateKey(t.Name), st, now)
	}
	newlyDown := !st.Down
	if newlyDown {
		st.Down = true
		r.notify(ctx, alert.Alert{Fingerprint: fp, Kind: "health", Rule: "health_down", Target: t.Name, Severity: "critical",
			Status: alert.Firing, Summary: fmt.Sprintf("%s failed %d health checks in a row: %v", t.Name, st.Failures, probeErr), StartsAt: now})
	}
	// A spent budget stays spent until a healthy period as long as the
	// window (or a human) ends it, even once its restarts have left the
	// window: the bot does not start a fresh round on a service it gave up on.
	if st.Spent {
		if err := r.Store.PutState(ctx, stateKey(t.Name), st, now); err != nil {
			return err
		}
		if newlyDown {
			r.reply(ctx, fp, chat.Message{Severity: chat.SevCritical,
				Text: fmt.Sprintf("the restart budget of %s is still spent: not restarting; a human is needed", t.Name)})
		}
		return nil
	}
	if len(st.Restarts) >= cfg.Budget {
		if !st.Spent {
			st.Spent = true
			if err := r.Store.PutState(ctx, stateKey(t.Name), st, now); err != nil {
				return err
			}
			r.budgetSpent(ctx, t.Name, len(st.Restarts), window, probeErr)
			return nil
		}
		return r.Store.PutState(ctx, stateKey(t.Name), st, now)
	}
	if len(t.Restart) == 0 {
		if err := r.Store.PutState(ctx, stateKey(t.Name), st, now); err != nil {
			return err
		}
		if newlyDown {
			r.reply(ctx, fp, chat.Message{Severity: chat.SevCritical,
				Text: fmt.Sprintf("%s has no restart command configured: not restarting; a human is needed", t.Name)})
		}
		return nil
	}
	// Count the restart before doing it: a crash mid-restart still spends it.
	failures := st.Failures
	st.Restarts = append(st.Restarts, now.UnixMilli())
	if err := r.Store.PutState(ctx, stateKey(t.Name), st, now); err != nil {
		return err
	}
	summary, healthy, err := r.Restarter.Restart(ctx, t.Name, Actor)
	text := fmt.Sprintf("automatic restart %d of %d within %s after %d failed checks: %s", len(st.Restarts), cfg.Budget, window, failures, summary)
	if err != nil {
		text = fmt.Sprintf("automatic restart %d of %d failed: %v", len(st.Restarts), cfg.Budget, err)
	} else if healthy {
		text += " — healthy"
	}
	if err == nil && healthy {
		// A restart that worked starts a new count: the next restart needs
		// as many failed checks again. One that did not keeps the count, so
		// the next failed check restarts again and the budget is reached
		// within its window even when checks are minutes apart.
		st.Failures = 0
		if err := r.Store.PutState(ctx, stateKey(t.Name), st, now); err != nil {
			return err
		}
	}
	r.audit(ctx, t.Name, "restart", text, err)
	r.reply(ctx, fp, chat.Message{Text: text, Severity: chat.SevWarning})
	return nil
}

func (r *Remediator) budgetSpent(ctx context.Context, target string, n int, window time.Duration, cause error) {
	text := fmt.Sprintf("restart budget spent: %d automatic restarts of %s within %s did not fix it (%v). Not restarting again; a human is needed.", n, target, window, cause)
	if r.Incidents != nil {
		id, opened, err := r.Incidents.OpenOrAttach(ctx, target, fmt.Sprintf("%s keeps failing: restart budget spent", target), "critical", Actor)
		if err != nil {
			r.log().Error("remediation: open incident", "err", err)
		} else if opened {
			text += fmt.Sprintf(" Incident #%d opened.", id)
		} else {
			text += fmt.Sprintf(" Added to incident #%d.", id)
		}
	} else {
		r.notify(ctx, alert.Alert{Fingerprint: "restart_budget:" + target, Kind: "incident", Rule: "restart_budget_spent", Target: target,
			Severity: "critical", Status: alert.Firing, Summary: text, StartsAt: r.now()})
	}
	r.audit(ctx, target, "budget", text, nil)
	r.reply(ctx, HealthFingerprint(target), chat.Message{Text: text, Severity: chat.SevCritical})
}

// OnAlert runs the configured handler of a newly firing alert's rule.
func (r *Remediator) OnAlert(ctx context.Context, a alert.Alert) {
	if a.Status != alert.Firing {
		return
	}
	h, ok := r.Handlers[a.Rule]
	if !ok {
		return
	}
	targets := []string{a.Target}
	if a.Target == "" {
		targets = r.Config().TargetNames()
	}
	for _, t := range targets {
		out, err := h(ctx, t)
		text := fmt.Sprintf("automatic action for %s on %s: %s", a.Rule, t, out)
		if err != nil {
			text = fmt.Sprintf("automatic action for %s on %s failed: %v", a.Rule, t, err)
		}
		r.audit(ctx, t, a.Rule, text, err)
		r.reply(ctx, a.Fingerprint, chat.Message{Text: text})
	}
}

func (r *Remediator) notify(ctx context.Context, a alert.Alert) {
	if r.Sink == nil {
		return
	}
	if err := r.Sink.Notify(ctx, a); err != nil {
		r.log().Error("remediation: notify", "err", err)
	}
}

func (r *Remediator) reply(ctx context.Context, fingerprint string, m chat.Message) {
	if r.Outbox == nil {
		return
	}
	if err := r.Outbox.Reply(ctx, "alert:"+fingerprint, m); err != nil {
		r.log().Warn("remediation: reply in alert thread", "err", err)
	}
}

func (r *Remediator) audit(ctx context.Context, target, verb, text string, err error) {
	res := "ok"
	if err != nil {
		res = "error"
	}
	if r.OnAction != nil {
		r.OnAction(ctx, target, Actor, text)
	}
	if _, aerr := r.Store.AddAudit(context.WithoutCancel(ctx), store.AuditRow{At: store.T(r.now()), Platform: "opsbot", UserID: "auto", UserName: Actor,
		Verb: "auto " + verb, Target: target, Text: text, Result: res}); aerr != nil {
		r.log().Error("remediation: audit", "err", aerr)
	}
}

// StatusLines describe each target's failure counter and restart budget.
func (r *Remediator) StatusLines(ctx context.Context) []string {
	cfg := r.Config()
	var out []string
	for _, t := range cfg.Targets {
		st, err := r.State(ctx, t.Name)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: remediation state unreadable: %v", t.Name, err))
			continue
		}
		used := 0
		for _, ms := range st.Restarts {
			if r.now().Sub(time.UnixMilli(ms)) < cfg.Remediation.Window {
				used++
			}
		}
		line := fmt.Sprintf("%s: %d failed check(s) in a row, %d/%d automatic restarts used in %s", t.Name, st.Failures, used, cfg.Remediation.Budget, cfg.Remediation.Window)
		if st.Spent {
			line += " — budget spent, waiting for a human"
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

// HandlerNames lists the alert rules that have automatic handlers.
func (r *Remediator) HandlerNames() string {
	var n []string
	for k := range r.Handlers {
		n = append(n, k)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}
