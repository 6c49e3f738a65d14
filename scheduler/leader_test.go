package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/scheduler"
	"opsbot/standin"
	"opsbot/store"
	"opsbot/store/storetest"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "standin-ctl" {
		os.Exit(standin.CtlMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// event is one thing a replica did: a lease attempt (kind "lease", got is
// the holder the store answered), or its leader work starting or stopping.
type event struct {
	who, kind, got string
	err            error
	at, end        time.Time // an attempt's start and return
}

// timeline records the events of every replica of a test in order and lets
// the test wait for one.
type timeline struct {
	mu      sync.Mutex
	events  []event
	changed chan struct{}
}

func newTimeline() *timeline { return &timeline{changed: make(chan struct{})} }

func (tl *timeline) add(e event) {
	if e.end.IsZero() {
		e.end = time.Now()
	}
	if e.at.IsZero() {
		e.at = e.end
	}
	tl.mu.Lock()
	tl.events = append(tl.events, e)
	close(tl.changed)
	tl.changed = make(chan struct{})
	tl.mu.Unlock()
}

// waitFor returns the events once cond holds for them, or fails the test
// after limit saying what it waited for.
func (tl *timeline) waitFor(t *testing.T, what string, limit time.Duration, cond func([]event) bool) []event {
	t.Helper()
	timeout := time.After(limit)
	for {
		tl.mu.Lock()
		evs, changed := append([]event(nil), tl.events...), tl.changed
		tl.mu.Unlock()
		if cond(evs) {
			return evs
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("%s: not within %s; events:\n%s", what, limit, dump(evs))
		}
	}
}

func dump(evs []event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "  %s %s %s got=%q err=%v\n", e.at.Format("15:04:05.000"), e.who, e.kind, e.got, e.err)
	}
	return b.String()
}

func find(evs []event, who, kind string) (event, bool) {
	for _, e := range evs {
		if e.who == who && e.kind == kind {
			return e, true
		}
	}
	return event{}, false
}

// leaseStore is the real store seen through the elector's interface, with
// every attempt recorded. It can fail one call (failCall, counted from 1) or
// be cut off: then attempts hang until their context ends, like a store
// behind a dropped network.
type leaseStore struct {
	st       *store.Store
	tl       *timeline
	failCall int64
	calls    atomic.Int64
	cut      atomic.Bool
}

func (l *leaseStore) TryLease(ctx context.Context, name, holder string, ttl time.Duration) (string, error) {
	at := time.Now()
	var who string
	var err error
	switch {
	case l.cut.Load():
		<-ctx.Done()
		err = fmt.Errorf("store unreachable: %w", ctx.Err())
	case l.calls.Add(1) == l.failCall:
		err = errors.New("read tcp: connection reset by peer")
	default:
		who, err = l.st.TryLease(ctx, name, holder, ttl)
	}
	l.tl.add(event{who: holder, kind: "lease", got: who, err: err, at: at})
	return who, err
}

func (l *leaseStore) Unlock(ctx context.Context, name, holder string) error {
	if l.cut.Load() {
		return errors.New("store unreachable")
	}
	return l.st.Unlock(ctx, name, holder)
}

// lead runs e until the test ends; its work records when it starts and
// stops on tl.
func lead(t *testing.T, ctx context.Context, e *scheduler.Elector, tl *timeline) {
	done := make(chan error, 1)
	go func() {
		done <- e.Run(ctx, func(ctx context.Context) error {
			tl.add(event{who: e.Holder, kind: "start"})
			<-ctx.Done()
			tl.add(event{who: e.Holder, kind: "stop"})
			return nil
		})
	}()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("%s: %v", e.Holder, err)
		}
	})
}

func testLog(buf *syncBuf) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// The leader renews every TTL/3 and its lease lasts a TTL: a renewal that
// fails once (the store answered an error) costs it nothing. Its work runs
// on, uninterrupted, and a follower polling all along never gets the lease.
func TestRenewalThatFailsOnceKeepsLeadership(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		tl := newTimeline()
		ttl := time.Second
		a := &scheduler.Elector{Store: &leaseStore{st: st, tl: tl, failCall: 2}, Holder: "a", TTL: ttl, Log: testLog(&syncBuf{})}
		b := &scheduler.Elector{Store: &leaseStore{st: st, tl: tl}, Holder: "b", TTL: ttl, Log: testLog(&syncBuf{})}
		lead(t, ctx, a, tl)
		tl.waitFor(t, "a leads", 10*time.Second, func(evs []event) bool { _, ok := find(evs, "a", "start"); return ok })
		lead(t, ctx, b, tl)
		var failed event
		evs := tl.waitFor(t, "a renews twice after its failed renewal, b polling meanwhile", 10*ttl, func(evs []event) bool {
			renewed, polled := 0, false
			failed = event{}
			for _, e := range evs {
				switch {
				case e.who == "a" && e.kind == "lease" && e.err != nil:
					failed = e
				case failed.who == "" || e.kind != "lease":
				case e.who == "a" && e.got == "a":
					renewed++
				case e.who == "b":
					polled = true
				}
			}
			return renewed >= 2 && polled
		})
		for _, e := range evs {
			switch {
			case e.kind == "stop":
				t.Fatalf("%s's work stopped:\n%s", e.who, dump(evs))
			case e.kind == "start" && e.who != "a":
				t.Fatalf("%s led:\n%s", e.who, dump(evs))
			case e.kind == "lease" && e.who == "a" && e.err != nil && e != failed:
				t.Fatalf("a second renewal failed (only one is made to):\n%s", dump(evs))
			case e.kind == "lease" && e.who == "b" && e.got != "a":
				t.Fatalf("b got the lease from the store (%q, %v):\n%s", e.got, e.err, dump(evs))
			}
		}
		if !a.Valid() || b.Valid() {
			t.Fatalf("after one failed renewal: a valid %v, b valid %v", a.Valid(), b.Valid())
		}
	})
}

// A leader cut off from the store (its renewals hang) cancels its work and
// sees it stop while the lease is still its own: before its last renewal's
// start plus TTL, the earliest the database lets another replica in. The
// follower takes over at its first attempt after the lease expires by the
// database's clock.
func TestLeaderCutOffFromTheStoreStopsBeforeTheLeaseCanBeTaken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		tl := newTimeline()
		ttl := 2 * time.Second
		logA := &syncBuf{}
		ls := &leaseStore{st: st, tl: tl}
		a := &scheduler.Elector{Store: ls, Holder: "a", TTL: ttl, Log: testLog(logA)}
		b := &scheduler.Elector{Store: &leaseStore{st: st, tl: tl}, Holder: "b", TTL: ttl, Log: testLog(&syncBuf{})}
		lead(t, ctx, a, tl)
		tl.waitFor(t, "a leads", 10*time.Second, func(evs []event) bool { _, ok := find(evs, "a", "start"); return ok })
		lead(t, ctx, b, tl)
		tl.waitFor(t, "a renews with b following", 10*time.Second, func(evs []event) bool {
			renewals, followed := 0, false
			for _, e := range evs {
				renewals += btoi(e.who == "a" && e.got == "a")
				followed = followed || e.who == "b" && e.got == "a"
			}
			return renewals >= 2 && followed
		})
		ls.cut.Store(true)
		evs := tl.waitFor(t, "b leads", 10*ttl, func(evs []event) bool { _, ok := find(evs, "b", "start"); return ok })

		var last, took event
		for _, e := range evs {
			if e.who == "a" && e.got == "a" {
				last = e
			}
			if e.who == "b" && e.got == "b" && took.who == "" {
				took = e
			}
		}
		// The lease ends no sooner by the database's clock (which counts
		// whole milliseconds: 2 ms of rounding are allowed below).
		expiry := last.at.Add(ttl)
		stopped, _ := find(evs, "a", "stop")
		started, _ := find(evs, "b", "start")
		if stopped.who == "" || !stopped.at.Before(expiry) {
			t.Fatalf("a's work stopped at %s, not before its lease could expire at %s:\n%s", stopped.at.Format("15:04:05.000"), expiry.Format("15:04:05.000"), dump(evs))
		}
		if !started.at.After(stopped.at) || took.end.Before(expiry.Add(-2*time.Millisecond)) {
			t.Fatalf("b led before a stopped or before a's lease expired (%s):\n%s", expiry.Format("15:04:05.000"), dump(evs))
		}
		// Liveness on events, not a wall-clock window: the database let the
		// lease expire by a's last renewal's return plus a TTL at the latest,
		// so b's first attempt begun after that wins it, however late a
		// loaded machine's timers let b make it.
		latest := last.end.Add(ttl + 2*time.Millisecond)
		for _, e := range evs {
			if e.who == "b" && e.kind == "lease" && e.at.After(latest) {
				if e.got != "b" {
					t.Fatalf("b's first attempt after the lease expired (%s) got %q, %v:\n%s", latest.Format("15:04:05.000"), e.got, e.err, dump(evs))
				}
				break
			}
		}
		t.Logf("a stopped its work %s before its lease could expire; b took over %s after a's last renewal (TTL %s)",
			expiry.Sub(stopped.at).Round(time.Millisecond), took.end.Sub(last.at).Round(time.Millisecond), ttl)
		if !strings.Contains(logA.String(), "leader lease lost") {
			t.Fatalf("a did not log the loss:\n%s", logA.String())
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A leader whose process was paused past its deadline (SIGSTOP, a frozen VM:
// its monotonic clock jumps, and no timer has fired yet when it resumes)
// runs no job, although its elector has not noticed yet: the scheduler asks
// the lease right before each claim. Then the elector notices, says so and
// stops the work.
func TestPausedLeaderRunsNoJobAfterItsDeadline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		tl := newTimeline()
		ttl := 2 * time.Second
		logs := &syncBuf{}
		var paused atomic.Int64
		a := &scheduler.Elector{Store: &leaseStore{st: st, tl: tl}, Holder: "a", TTL: ttl, Log: testLog(logs),
			Now: func() time.Time { return time.Now().Add(time.Duration(paused.Load())) }}
		var runs atomic.Int32
		s, err := scheduler.New(st, nil, testLog(logs), "a", []scheduler.Job{{Name: "tick", Spec: "@hourly",
			Run: func(context.Context, time.Time) error { runs.Add(1); return nil }}})
		if err != nil {
			t.Fatal(err)
		}
		wctx := make(chan context.Context, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			a.Run(ctx, func(ctx context.Context) error {
				wctx <- ctx
				<-ctx.Done()
				tl.add(event{who: "a", kind: "stop"})
				return nil
			})
		}()
		var work context.Context
		select {
		case work = <-wctx:
		case <-time.After(10 * time.Second):
			t.Fatal("a does not lead")
		}
		now := time.Now()
		if err := s.Start(work, now); err != nil {
			t.Fatal(err)
		}
		// Hours ahead, so each Tick has the job due.
		tick(work, s, now.Add(2*time.Hour))
		if runs.Load() != 1 {
			t.Fatalf("the leader did not run its due job: %d runs", runs.Load())
		}
		paused.Store(int64(ttl))
		if a.Valid() || scheduler.LeaseValid(work) {
			t.Fatal("lease still valid past its deadline")
		}
		tick(work, s, now.Add(4*time.Hour))
		if _, err := s.RunNow(work, "tick"); err != nil {
			t.Fatal(err)
		}
		if n := runs.Load(); n != 1 {
			t.Fatalf("a job ran %d times after the lease was lost", n-1)
		}
		if rs, _ := st.JobRuns(context.Background(), "tick"); len(rs) != 1 {
			t.Fatalf("%d job runs claimed, want the one before the pause: %+v", len(rs), rs)
		}
		tl.waitFor(t, "a stops its work", 10*time.Second, func(evs []event) bool { _, ok := find(evs, "a", "stop"); return ok })
		if l := logs.String(); !strings.Contains(l, "leader lease lost") || !strings.Contains(l, "job not run: leader lease lost") {
			t.Fatalf("log:\n%s", l)
		}
		// A command run by hand is no leader's work: it runs on any replica.
		if _, err := s.RunNow(context.Background(), "tick"); err != nil || runs.Load() != 2 {
			t.Fatalf("run by hand: %d runs, %v", runs.Load(), err)
		}
		cancel()
		<-done
	})
}

// Leader work that stops on its own (a store error as the scheduler starts)
// is started again: a replica never keeps serving commands with nothing
// scheduled behind it. When ctx ends the lease is given up.
func TestElectorStartsWorkAgainAfterItStopped(t *testing.T) {
	st := storetest.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	again := make(chan struct{})
	e := &scheduler.Elector{Store: st, Holder: "a", TTL: time.Second,
		// Pauses pass at once; the millisecond keeps the loop from spinning.
		Sleep: func(ctx context.Context, d time.Duration) error {
			time.Sleep(time.Millisecond)
			return ctx.Err()
		}}
	done := make(chan error, 1)
	go func() {
		done <- e.Run(ctx, func(ctx context.Context) error {
			if calls.Add(1) == 1 {
				return errors.New("job states: connection reset")
			}
			close(again)
			<-ctx.Done()
			return nil
		})
	}()
	select {
	case <-again:
	case <-time.After(10 * time.Second):
		t.Fatalf("work not started again after it stopped (calls %d)", calls.Load())
	}
	if !e.IsLeader() {
		t.Fatal("not leading while its work runs")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	who, err := st.TryLease(context.Background(), scheduler.LeaderLock, "b", time.Second)
	if err != nil || who != "b" {
		t.Fatalf("lease not released at the end: %q %v", who, err)
	}
}

// A TTL that one failed renewal would exhaust is refused before anything runs.
func TestElectorRefusesATTLShorterThanThreeRenewals(t *testing.T) {
	e := &scheduler.Elector{Store: storetest.SQLite(t), Holder: "a", TTL: time.Second, Renew: 500 * time.Millisecond}
	err := e.Run(context.Background(), func(context.Context) error { t.Fatal("work ran"); return nil })
	if err == nil || !strings.Contains(err.Error(), "at least 3 renewals") {
		t.Fatalf("got %v", err)
	}
}
