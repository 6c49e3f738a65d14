package notifier

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"opsbot/store"
)

// Delivery lanes. Every channel is a lane: its messages go out one at a
// time, in the order they were queued, so an edit never overtakes its post
// and a thread reply waits for its parent. A bounded set of workers
// (notifier.delivery_workers) serves the lanes that have a message due, so
// a channel that fails or answers slowly holds at most one worker and its
// backoff delays only its own messages. Every lane uses the one retry
// policy (failed, backoff).
//
// A lane claims the row it sends in the store (ClaimOutbox), so two
// processes that both believe they lead never send one row at once; the
// claim is renewed while the send lasts and lapses claimLease after its
// holder stopped renewing it (a process that died mid-send).
const (
	claimLease = 5 * time.Second
	claimRenew = time.Second
	// attemptTimeout bounds one attempt (a platform call, a file upload):
	// a hung call is a failure retried with backoff, not a stuck lane.
	attemptTimeout = 2 * time.Minute
	// pauseAfterError is how long the lanes rest after the store failed or
	// Fence refused, instead of trying the same row again at once.
	pauseAfterError = time.Second
)

// lanes is the delivery state of one Notifier; its zero value is ready.
type lanes struct {
	once   sync.Once
	holder string

	mu       sync.Mutex
	busy     map[string]bool // channels with a row in flight in this process
	pausedTo time.Time       // wall clock: no new sends before this

	// heads is the dispatcher's copy of the lanes' heads; done wakes the
	// dispatcher when a lane finished a send (its head already read again),
	// without the full read a Wake asks for.
	heads    laneHeads
	doneOnce sync.Once
	done     chan struct{}
}

func (l *lanes) doneCh() chan struct{} {
	l.doneOnce.Do(func() { l.done = make(chan struct{}, 1) })
	return l.done
}

// finished tells the dispatcher a lane is free again.
func (l *lanes) finished() {
	select {
	case l.doneCh() <- struct{}{}:
	default:
	}
}

// id names this Notifier's claims: host, process and a random part, so two
// notifiers in one process do not take each other's claims either.
func (l *lanes) id() string {
	l.once.Do(func() {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		l.holder = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	})
	return l.holder
}

// take marks channel in flight; false when it already is.
func (l *lanes) take(channel string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy[channel] {
		return false
	}
	if l.busy == nil {
		l.busy = map[string]bool{}
	}
	l.busy[channel] = true
	return true
}

func (l *lanes) release(channel string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.busy, channel)
}

func (l *lanes) inFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.busy)
}

func (l *lanes) pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pausedTo = time.Now().Add(d)
}

func (l *lanes) paused() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Until(l.pausedTo)
}

// Wake makes the delivery lanes look at the outbox now. Send, Update,
// Reply and routing do it themselves; a test calls it after moving the
// injected clock.
func (n *Notifier) Wake() { n.poke() }

// runLanes dispatches due rows to lane workers until ctx ends, then waits
// for the workers (their sends end with ctx).
func (n *Notifier) runLanes(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	done := n.lanes.doneCh()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-n.wake:
			// Rows were queued, acknowledged or resolved elsewhere.
			n.lanes.heads.markStale()
		case <-done:
		}
		wait := maxSleep
		if p := n.lanes.paused(); p > 0 {
			wait = p
		} else {
			next, err := n.dispatch(ctx, &wg)
			if err != nil && ctx.Err() == nil {
				n.log.Error("delivery pass failed", "err", err)
				wait = pauseAfterError
			} else if !next.IsZero() {
				wait = min(max(next.Sub(n.Now()), 5*time.Millisecond), maxSleep)
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// dispatch starts a worker for each channel whose head row is due and not
// in flight, oldest first, while workers are free. It returns when the
// next row not started will be due (zero when none); a worker that ends
// reads its lane's next head and wakes the dispatcher. The heads are read
// from the store whole only when a Wake or maxSleep asks for it (laneHeads).
func (n *Notifier) dispatch(ctx context.Context, wg *sync.WaitGroup) (time.Time, error) {
	if n.lanes.heads.needScan(time.Now(), maxSleep) {
		scanned := time.Now()
		heads, err := store.OutboxHeads(ctx, n.st.DB)
		if err != nil {
			n.lanes.heads.markStale()
			return time.Time{}, err
		}
		n.lanes.heads.reset(heads, scanned)
	}
	workers := max(n.cfg().Notifier.DeliveryWorkers, 1)
	now := n.Now()
	var next time.Time
	var start []store.OutboxRow
	free := workers - n.lanes.inFlight()
	n.lanes.heads.each(func(r store.OutboxRow) bool {
		if due := n.dueAt(r); due.After(now) {
			if next.IsZero() || due.Before(next) {
				next = due
			}
			return true
		}
		if free <= 0 {
			return false
		}
		if !n.lanes.take(r.Channel) {
			return true
		}
		free--
		start = append(start, r)
		return true
	})
	for _, r := range start {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.runLane(ctx, r)
			n.readHead(ctx, r.Channel)
			n.lanes.release(r.Channel)
			n.lanes.finished()
		}()
	}
	return next, nil
}

// readHead reads channel's next head into the dispatcher's copy after a
// send (or a claim lost to another process).
func (n *Notifier) readHead(ctx context.Context, channel string) {
	r, err := store.OutboxHead(ctx, n.st.DB, channel)
	switch {
	case errors.Is(err, store.ErrNotFound):
		n.lanes.heads.set(channel, r, false)
	case err != nil:
		n.lanes.heads.markStale()
	default:
		n.lanes.heads.set(channel, r, true)
	}
}

// runLane makes one attempt at r, the head row of its channel.
func (n *Notifier) runLane(ctx context.Context, r store.OutboxRow) {
	_, err := n.deliverHead(ctx, r)
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.Is(err, ErrFenced):
		n.log.Info("delivery paused: this replica may not send", "channel", r.Channel)
		n.lanes.pause(pauseAfterError)
	default:
		n.log.Error("delivery failed", "id", r.ID, "channel", r.Channel, "err", err)
		n.lanes.pause(pauseAfterError)
	}
}

// keepClaim renews the claim on row id while a send lasts; stop ends it.
func (n *Notifier) keepClaim(ctx context.Context, id int64, holder string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(claimRenew)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			ok, err := store.ExtendClaim(ctx, n.st.DB, id, holder, n.Now().Add(claimLease))
			switch {
			case err != nil:
				n.log.Warn("outbox claim not renewed", "id", id, "err", err)
			case !ok:
				// Finished meanwhile, or taken by another process after it
				// lapsed: either way there is nothing left to keep.
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
