package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// LeaderLock is the store lock the leader holds.
const LeaderLock = "leader"

// LeaseStore is what the elector needs of the store: a lease timed by the
// database's clock, so replicas whose clocks disagree agree on when it ends.
type LeaseStore interface {
	// TryLease takes or renews the lease and returns who holds it afterwards.
	TryLease(ctx context.Context, name, holder string, ttl time.Duration) (string, error)
	Unlock(ctx context.Context, name, holder string) error
}

// Elector keeps one replica the leader through a lease in the store.
//
// The lease row expires TTL after each renewal by the database's clock, so
// another replica can take it TTL after the leader's last renewal (polling
// every TTL/10). The leader renews every TTL/3, so one failed renewal does
// not cost it the lease. It also keeps its own deadline on the local
// monotonic clock: the start of its last successful renewal plus TTL less a
// tenth. That instant comes before the row can expire for the others (the
// database stamped the renewal after it was sent), so when it passes with no
// renewal — the store unreachable, or the process paused (SIGSTOP, a long
// GC, a frozen VM) — the leader cancels its work and waits for it to stop
// while the lease is still its own. Work checks Valid (or LeaseValid on its
// context) right before each action, so a process resumed after its
// deadline acts on nothing even before its renewal loop has woken up.
type Elector struct {
	Store  LeaseStore
	Holder string
	TTL    time.Duration
	// Renew is how often the leader renews (default TTL/3); TTL must be at
	// least three renewals so that one can fail.
	Renew time.Duration
	Log   *slog.Logger
	// Now is the local clock of the deadline (tests shift it to act out a
	// paused process); its monotonic reading is what counts.
	Now func() time.Time
	// Sleep waits between attempts while following (tests shorten it).
	Sleep func(ctx context.Context, d time.Duration) error

	// deadline is when this replica stops trusting its lease; nil while it
	// does not lead.
	deadline atomic.Pointer[time.Time]
}

// Valid reports whether this replica leads and its lease is certainly still
// its own: false from the moment its local deadline passes, whether or not
// its renewal loop has noticed yet.
func (e *Elector) Valid() bool {
	d := e.deadline.Load()
	return d != nil && e.now().Before(*d)
}

// IsLeader reports whether this replica leads now (Valid).
func (e *Elector) IsLeader() bool { return e.Valid() }

type leaseKey struct{}

// LeaseValid reports whether work running under ctx may still act as the
// leader: true when ctx carries no lease (a command run by hand, a single
// process) and otherwise the elector's Valid. Elector.Run gives its work
// such a context.
func LeaseValid(ctx context.Context) bool {
	e, ok := ctx.Value(leaseKey{}).(*Elector)
	return !ok || e.Valid()
}

// setDeadline publishes a copy: Valid reads it from other goroutines.
func (e *Elector) setDeadline(d time.Time) { e.deadline.Store(&d) }

func (e *Elector) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// margin is how long before the row's expiry the leader gives up: its work
// has that long to stop before another replica may take over.
func (e *Elector) margin() time.Duration { return e.TTL / 10 }

func (e *Elector) renewEvery() time.Duration {
	if e.Renew > 0 {
		return e.Renew
	}
	return e.TTL / 3
}

// Run keeps trying to lead; while leading it runs work with a context that
// is cancelled when leadership is lost or ctx ends. Work that returns while
// ctx lives is started again after a pause, once the lease is won again.
// Run returns when ctx ends, or at once when TTL and Renew do not fit.
func (e *Elector) Run(ctx context.Context, work func(ctx context.Context) error) error {
	if e.TTL <= 0 || e.TTL < 3*e.renewEvery() {
		return fmt.Errorf("leader lease: ttl %s must be positive and at least 3 renewals (every %s)", e.TTL, e.renewEvery())
	}
	sleep := e.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	log := e.Log
	if log == nil {
		log = slog.Default()
	}
	// Followers look often so a dead leader is replaced within about one
	// TTL of its last renewal; the query is a single-row upsert.
	poll := max(e.TTL/10, 10*time.Millisecond)
	following := ""
	for ctx.Err() == nil {
		start := e.now()
		who, err := e.Store.TryLease(ctx, LeaderLock, e.Holder, e.TTL)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("leader lease: store error", "err", err)
		}
		if who != e.Holder {
			if err == nil && who != following {
				log.Info("following", "leader", who, "holder", e.Holder)
				following = who
			}
			if sleep(ctx, poll) != nil {
				return nil
			}
			continue
		}
		following = ""
		lost, finished := e.lead(ctx, log, start, work)
		if lost {
			continue
		}
		_ = e.Store.Unlock(context.WithoutCancel(ctx), LeaderLock, e.Holder)
		if ctx.Err() != nil || !finished {
			return nil
		}
		// The work stopped on its own (a store error at its start, say): a
		// replica that gave up here would serve commands with no scheduler,
		// monitors or delivery behind them, so wait and compete again.
		if sleep(ctx, max(e.TTL, time.Second)) != nil {
			return nil
		}
	}
	return nil
}

type renewal struct {
	start time.Time
	who   string
	err   error
}

// lead runs work while the lease won at start holds. It returns lost when
// the lease was lost (the work has stopped then), finished when the work
// returned on its own; neither when ctx ended.
func (e *Elector) lead(ctx context.Context, log *slog.Logger, start time.Time, work func(ctx context.Context) error) (lost, finished bool) {
	ttl, margin, every := e.TTL, e.margin(), e.renewEvery()
	deadline := start.Add(ttl - margin)
	e.setDeadline(deadline)
	log.Info("leading", "holder", e.Holder, "ttl", ttl)

	wctx, cancel := context.WithCancel(context.WithValue(ctx, leaseKey{}, e))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- work(wctx) }()

	renewed := make(chan renewal, 1)
	inflight := false
	tick := time.NewTimer(every)
	defer tick.Stop()
	expire := time.NewTimer(deadline.Sub(e.now()))
	defer expire.Stop()
	failures := 0
	why := ""
	for why == "" {
		select {
		case err := <-done:
			e.deadline.Store(nil)
			if err != nil && ctx.Err() == nil {
				log.Error("leader work stopped", "err", err)
			}
			return false, true
		case <-ctx.Done():
			e.deadline.Store(nil)
			cancel()
			<-done
			return false, false
		case <-expire.C:
			if left := deadline.Sub(e.now()); left > 0 {
				expire.Reset(left)
				continue
			}
			why = fmt.Sprintf("not renewed for %s", ttl-margin)
		case <-tick.C:
			tick.Reset(every)
			// After a pause the timers fire late and in any order: the
			// deadline is looked at before anything else.
			if !e.now().Before(deadline) {
				why = fmt.Sprintf("not renewed for %s", ttl-margin)
				continue
			}
			if inflight {
				continue // a slow attempt is still running; its deadline bounds it
			}
			inflight = true
			go func(t0 time.Time, left time.Duration) {
				rctx, rcancel := context.WithTimeout(ctx, left)
				defer rcancel()
				who, err := e.Store.TryLease(rctx, LeaderLock, e.Holder, ttl)
				renewed <- renewal{start: t0, who: who, err: err}
			}(e.now(), deadline.Sub(e.now()))
		case r := <-renewed:
			inflight = false
			switch {
			case !e.now().Before(deadline):
				why = fmt.Sprintf("not renewed for %s", ttl-margin)
			case r.err != nil:
				failures++
				log.Warn("leader lease renewal failed", "err", r.err, "failures", failures, "left", deadline.Sub(e.now()).Round(time.Millisecond))
			case r.who != e.Holder:
				// Only a clock that jumped can get here: the lease ran out
				// before the local deadline.
				why = "taken by " + r.who
			default:
				failures = 0
				if d := r.start.Add(ttl - margin); d.After(deadline) {
					deadline = d
					e.setDeadline(deadline)
					expire.Reset(deadline.Sub(e.now()))
				}
			}
		}
	}
	e.deadline.Store(nil)
	lostAt := e.now()
	log.Warn("leader lease lost", "holder", e.Holder, "why", why)
	cancel()
	if err := <-done; err != nil && ctx.Err() == nil {
		log.Info("leader work ended", "err", err)
	}
	// The row expires no sooner than deadline+margin for the others.
	stopped := e.now()
	took := stopped.Sub(lostAt).Round(time.Millisecond)
	if stopped.After(deadline.Add(margin)) {
		log.Warn("leader work stopped after the lease could have been taken", "took", took, "late", stopped.Sub(deadline.Add(margin)).Round(time.Millisecond))
	} else {
		log.Info("leader work stopped", "took", took)
	}
	// The work has stopped, so the lease may go now rather than at its expiry
	// (a no-op when another replica holds it already).
	_ = e.Store.Unlock(context.WithoutCancel(ctx), LeaderLock, e.Holder)
	return true, false
}
