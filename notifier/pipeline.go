package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"opsbot/alert"
	"opsbot/chat"
	"opsbot/store"
)

// The alert path, in stages (as Alertmanager's notify pipeline):
//
//	producers ── Source(name).Notify ──▶ inbox (store, any replica)
//	leader:  claim ▶ dedup (apply) ▶ hold ▶ silence ▶ route ▶ group ▶ outbox ▶ deliver (lanes)
//
// Producers (rules, monitors, scans, health checks, jobs, the Alertmanager
// webhook) only append observations. Only the leader's pipeline (Tick, run
// by Run) reads the inbox and writes alert state; a unique index on the
// fingerprint of active rows makes a second active row impossible even if
// two processes believe they lead.

// Actions is told of every alert an observation keeps firing, after the
// transaction that recorded it and outside any lock; it decides whether an
// automatic action is due (remediate implements it).
type Actions interface {
	Firing(ctx context.Context, a alert.Alert, silenced bool)
	// Enqueue queues action on target for the alert with fingerprint (an
	// Alertmanager alert mapped by alertmanager.actions).
	Enqueue(ctx context.Context, target, action, fingerprint string) error
}

// SetActions sets who hears firing alerts (nil: nobody). Set before Run.
func (n *Notifier) SetActions(a Actions) { n.actions = a }

// claimBatch bounds one transaction of the pipeline.
const claimBatch = 500

// Source returns the sink a producer named name appends its observations
// through. An observation is idempotent by (source, fingerprint, time,
// status): a producer that retries after an error does not double it.
func (n *Notifier) Source(name string) alert.Sink {
	return &source{n: n, name: name, last: map[string]int64{}}
}

// Notify appends observations as source "opsbot" (jobs and tests).
func (n *Notifier) Notify(ctx context.Context, alerts ...alert.Alert) error {
	return n.defaultSource.Notify(ctx, alerts...)
}

type source struct {
	n    *Notifier
	name string

	mu   sync.Mutex
	last map[string]int64 // fingerprint → last observation time (ms) used
}

// observedAt keeps one source's observations of a fingerprint strictly
// ordered in time, so two made within one millisecond (fire, then resolve)
// are two rows, not one ignored as a duplicate.
func (s *source) observedAt(fp string, now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := now.UnixMilli()
	if last, ok := s.last[fp]; ok && ms <= last {
		ms = last + 1
	}
	s.last[fp] = ms
	if len(s.last) > 4096 {
		// Only observations within the same millisecond need this memory.
		for k, v := range s.last {
			if v < now.UnixMilli()-1000 {
				delete(s.last, k)
			}
		}
	}
	return time.UnixMilli(ms)
}

func (s *source) Notify(ctx context.Context, alerts ...alert.Alert) error {
	for i := range alerts {
		if err := s.n.validate(&alerts[i]); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	if len(alerts) == 0 {
		return nil
	}
	now := s.n.Now()
	redact := s.n.Redact
	if redact == nil {
		redact = (*chat.Redactor)(nil).Redact
	}
	obs := make([]store.Observation, len(alerts))
	for i, a := range alerts {
		a.Summary, a.Detail = redact(a.Summary), redact(a.Detail)
		payload, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		obs[i] = store.Observation{Source: s.name, Fingerprint: a.Fingerprint, Status: a.Status,
			ObservedAt: store.T(s.observedAt(a.Fingerprint, now)), Payload: string(payload), CreatedAt: store.T(now)}
	}
	if _, err := store.AppendObservations(ctx, s.n.st.DB, obs); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	s.n.pokePipeline()
	return nil
}

func (n *Notifier) pokePipeline() {
	select {
	case n.inboxWake <- struct{}{}:
	default:
	}
}

// applied is what the dedup stage hands the stages after the transaction.
type applied struct {
	firing    []firingAlert
	resolved  []string
	escalated []store.AlertRow
}

type firingAlert struct {
	alert.Alert
	silenced bool
}

// Tick runs the pipeline once over everything due at Now: it applies the
// observations waiting in the inbox (in batches, each in one transaction
// with routing), routes alerts whose group window, silence or maintenance
// hold ended, and re-announces alerts still firing unacknowledged after
// the repeat interval. Run calls it; tests call it after Notify or after
// moving the clock.
func (n *Notifier) Tick(ctx context.Context) error {
	for {
		more, err := n.step(ctx)
		if err != nil {
			return fmt.Errorf("notifier tick: %w", err)
		}
		if !more {
			return nil
		}
	}
}

// step is one transaction of the pipeline; more reports a full batch (the
// inbox may hold more).
func (n *Notifier) step(ctx context.Context) (more bool, err error) {
	var (
		res    applied
		routed []store.AlertRow
		count  int
	)
	// Another process that believes it leads can make this transaction fail
	// on the unique index or a lock: its work is then visible, so try again.
	for attempt := 0; ; attempt++ {
		n.mu.Lock()
		now := n.Now()
		err = n.st.Tx(ctx, func(tx *sqlx.Tx) error {
			if err := store.LockAlertWriter(ctx, tx); err != nil {
				return err
			}
			obs, err := store.ClaimObservations(ctx, tx, claimBatch, now)
			if err != nil {
				return err
			}
			count = len(obs)
			alerts := make([]alert.Alert, 0, len(obs))
			for _, o := range obs {
				var a alert.Alert
				if err := json.Unmarshal([]byte(o.Payload), &a); err != nil {
					n.log.Error("inbox: undecodable observation skipped", "id", o.ID, "source", o.Source, "err", err)
					continue
				}
				alerts = append(alerts, a)
			}
			if res, err = n.apply(ctx, tx, alerts, now); err != nil {
				return err
			}
			if err := n.markSilenced(ctx, tx, res.firing, now); err != nil {
				return err
			}
			if err := n.releaseHolds(ctx, tx, now); err != nil {
				return err
			}
			if routed, err = n.routeDue(ctx, tx, now); err != nil {
				return err
			}
			return n.repeat(ctx, tx, now)
		})
		n.mu.Unlock()
		if err == nil || ctx.Err() != nil || attempt >= 4 {
			break
		}
		n.log.Debug("pipeline step retried", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	if err != nil {
		return false, err
	}
	// Callbacks run after the commit and outside every lock.
	n.afterRoute(ctx, routed)
	n.afterEscalate(ctx, res.escalated)
	if n.actions != nil {
		cfg := n.cfg()
		for _, f := range res.firing {
			n.actions.Firing(ctx, f.Alert, f.silenced)
			// An Alertmanager alert acts only through an explicit mapping,
			// never by its name matching one of opsbot's rules.
			if f.Kind == "external" && !f.silenced {
				if action, target, ok := MatchAction(cfg, f.Alert); ok {
					if err := n.actions.Enqueue(ctx, target, action, f.Fingerprint); err != nil {
						n.log.Error("mapped action not queued", "alert", f.Fingerprint, "action", action, "target", target, "err", err)
					}
				}
			}
		}
	}
	return count == claimBatch, nil
}

// markSilenced notes which firing alerts a silence covers now (the silence
// stage decides routing; this tells the actions stage, whose documented
// rule is that a silenced alert's automatic action does not run).
func (n *Notifier) markSilenced(ctx context.Context, tx store.DBTX, firing []firingAlert, now time.Time) error {
	if len(firing) == 0 {
		return nil
	}
	silences, err := n.activeSilences(ctx, tx, now)
	if err != nil || len(silences) == 0 {
		return err
	}
	for i := range firing {
		row, err := store.FiringAlert(ctx, tx, firing[i].Fingerprint)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		_, firing[i].silenced = silencedBy(silences, row)
	}
	return nil
}

// runPipeline applies observations as they arrive: at once for those made
// in this process, within pollEvery for those another replica appended.
func (n *Notifier) runPipeline(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-n.inboxWake:
		}
		if n.Fence != nil && !n.Fence() {
			// Leadership is in doubt: write nothing until it is sure.
			timer.Reset(n.pollEvery)
			continue
		}
		if err := n.Tick(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("alert pipeline failed", "err", err)
		}
		wait := maxSleep
		if next, err := n.nextTick(ctx); err == nil && !next.IsZero() {
			wait = min(max(next.Sub(n.Now()), 10*time.Millisecond), maxSleep)
		}
		wait = min(wait, n.pollEvery)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}
