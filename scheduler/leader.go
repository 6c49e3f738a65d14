package scheduler

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"opsbot/store"
)

// LeaderLock is the store lock the leader holds.
const LeaderLock = "leader"

// Elector keeps one replica the leader through a lease in the store (a lock
// row with expiry). The leader renews every TTL/3; if it dies, another
// replica takes the lease once it has expired: within one TTL of the last
// renewal plus a tenth of a TTL.
type Elector struct {
	Store  *store.Store
	Holder string
	TTL    time.Duration
	Log    *slog.Logger
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error

	leader atomic.Bool
}

// IsLeader reports whether this replica leads now.
func (e *Elector) IsLeader() bool { return e.leader.Load() }

// Run keeps trying to lead; while leading it runs work with a context that
// is cancelled when leadership is lost or ctx ends. Work that returns while
// ctx lives is started again after a pause, once the lease is won again.
// Run returns when ctx ends.
func (e *Elector) Run(ctx context.Context, work func(ctx context.Context) error) error {
	now, sleep := e.Now, e.Sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	log := e.Log
	if log == nil {
		log = slog.Default()
	}
	renew := e.TTL / 3
	// Followers look often so a dead leader is replaced within about one
	// TTL of its last renewal; the query is a single-row update.
	poll := max(e.TTL/10, 10*time.Millisecond)
	for ctx.Err() == nil {
		ok, err := e.Store.TryLock(ctx, LeaderLock, e.Holder, e.TTL, now())
		if err != nil {
			log.Warn("leader lease: store error", "err", err)
		}
		if !ok {
			if sleep(ctx, poll) != nil {
				return nil
			}
			continue
		}
		log.Info("leading", "holder", e.Holder)
		e.leader.Store(true)
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- work(wctx) }()
		lost, finished := false, false
	lead:
		for {
			select {
			case err := <-done:
				finished = true
				if err != nil && ctx.Err() == nil {
					log.Error("leader work stopped", "err", err)
				}
				break lead
			case <-ctx.Done():
				break lead
			default:
			}
			if sleep(ctx, renew) != nil {
				break
			}
			ok, err := e.Store.TryLock(ctx, LeaderLock, e.Holder, e.TTL, now())
			if err != nil || !ok {
				log.Warn("leader lease lost", "err", err)
				lost = true
				break
			}
		}
		e.leader.Store(false)
		cancel()
		if !finished {
			<-done
		}
		if lost {
			continue
		}
		_ = e.Store.Unlock(context.WithoutCancel(ctx), LeaderLock, e.Holder)
		if ctx.Err() != nil {
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
