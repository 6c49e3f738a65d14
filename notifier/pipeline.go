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

	qmu     sync.Mutex
	queue   []*appendReq // Notify calls waiting for the next batch
	writing bool         // a writer goroutine is draining queue
}

// appendReq is one Notify call's observations waiting to be written.
type appendReq struct {
	obs  []store.Observation
	done chan error
}

const (
	// appendBatch bounds the observations one append transaction writes.
	appendBatch = 1000
	// appendTimeout bounds one append transaction: it runs for every
	// caller in its batch, so no single caller's context may end it.
	appendTimeout = 30 * time.Second
)

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
	if err := s.write(ctx, obs); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	s.n.pokePipeline()
	return nil
}

// write appends obs and returns once they are committed. Calls made while
// a batch is being written wait and go together in the next transaction
// (group commit): a producer sending many small Notify calls at once costs
// the store one commit per batch, not one per call, which at a thousand
// observations a second is most of the store's work and of the callers'
// wait. A lone call is written at once.
func (s *source) write(ctx context.Context, obs []store.Observation) error {
	req := &appendReq{obs: obs, done: make(chan error, 1)}
	s.qmu.Lock()
	s.queue = append(s.queue, req)
	if !s.writing {
		s.writing = true
		go s.writer()
	}
	s.qmu.Unlock()
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// The observations may still be written; appending is idempotent.
		return ctx.Err()
	}
}

// writer writes the queued calls in batches until the queue is empty.
func (s *source) writer() {
	for {
		s.qmu.Lock()
		var batch []*appendReq
		rows := 0
		for len(s.queue) > 0 && (len(batch) == 0 || rows+len(s.queue[0].obs) <= appendBatch) {
			rows += len(s.queue[0].obs)
			batch = append(batch, s.queue[0])
			s.queue = s.queue[1:]
		}
		if len(batch) == 0 {
			s.queue, s.writing = nil, false
			s.qmu.Unlock()
			return
		}
		s.qmu.Unlock()
		obs := make([]store.Observation, 0, rows)
		for _, r := range batch {
			obs = append(obs, r.obs...)
		}
		err := s.n.append(obs)
		if err != nil && len(batch) > 1 && !errors.Is(err, context.DeadlineExceeded) {
			// One call's rows may be what the store refuses: write each
			// call on its own so the others are not failed with it (not
			// when the store did not answer in time: it would not now).
			for _, r := range batch {
				r.done <- s.n.append(r.obs)
			}
			continue
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

// append writes observations in one transaction: one commit (one WAL
// flush on PostgreSQL) for the lot. Appending is idempotent, so a
// transaction that failed (two replicas appending the same observations
// in another order can deadlock on the unique index) is tried again.
func (n *Notifier) append(obs []store.Observation) error {
	ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
	defer cancel()
	if len(obs) == 1 {
		_, err := store.AppendObservations(ctx, n.st.DB, obs)
		return err
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = n.st.Tx(ctx, func(tx *sqlx.Tx) error {
			_, err := store.AppendObservations(ctx, tx, obs)
			return err
		})
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	return err
}

func (n *Notifier) pokePipeline() {
	select {
	case n.inboxWake <- struct{}{}:
	default:
	}
}

// applied is what the dedup stage hands the stages after the transaction.
type applied struct {
	firing       []firingAlert
	resolvedRows []store.AlertRow // announced alerts that ended
	resolved     []string
	escalated    []store.AlertRow
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
			if res, err = n.apply(ctx, tx, collapse(alerts), now); err != nil {
				return err
			}
			if err := n.markSilenced(ctx, tx, res.firing, now); err != nil {
				return err
			}
			if len(res.resolved) > 0 {
				// A resolved alert may have been what muted others.
				if err := store.ReleaseInhibited(ctx, tx, now); err != nil {
					return err
				}
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
	n.callHooks(ctx, &n.hooks, res.resolvedRows)
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

// collapse merges observations of one fingerprint that follow each other
// in a batch with the same status (two replicas, or two Alertmanagers,
// observing the same alert), so the dedup stage looks the alert up and
// writes it once instead of once per copy. The result is what applying
// them one by one leaves: the first firing copy's identity and start, the
// latest value, summary and severity, the latest detail given; of resolves
// the first counts (the next finds nothing firing). A fingerprint's fire
// and resolve keep their order.
func collapse(alerts []alert.Alert) []alert.Alert {
	out := make([]alert.Alert, 0, len(alerts))
	last := make(map[string]int, len(alerts)) // fingerprint → its latest entry in out
	for _, a := range alerts {
		i, ok := last[a.Fingerprint]
		if !ok || out[i].Status != a.Status {
			last[a.Fingerprint] = len(out)
			out = append(out, a)
			continue
		}
		if a.Status == alert.Firing {
			m := &out[i]
			m.Value, m.Summary, m.Severity = a.Value, a.Summary, a.Severity
			if a.Detail != "" {
				m.Detail = a.Detail
			}
		}
	}
	return out
}

// markSilenced notes which firing alerts a silence covers now (the silence
// stage decides routing; this tells the actions stage, whose documented
// rule is that a silenced alert's automatic action does not run).
func (n *Notifier) markSilenced(ctx context.Context, tx store.DBTX, firing []firingAlert, now time.Time) error {
	if len(firing) == 0 {
		return nil
	}
	silences, err := n.activeSilences(ctx, tx, now)
	if err != nil || silences.Len() == 0 {
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
