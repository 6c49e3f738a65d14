package incidents_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/bot/console"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/incidents"
	"opsbot/store"
)

// syncOutbox delivers at once through a real poster, remembering each
// owner's first message so updates and replies find it. The notifier's
// durable outbox does the same with retries.
type syncOutbox struct {
	p     chat.Poster
	mu    sync.Mutex
	heads map[string][]chat.Ref
}

func (o *syncOutbox) Send(ctx context.Context, channel, owner string, m chat.Message) error {
	ref, err := o.p.Post(ctx, channel, m)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.heads[owner] = append(o.heads[owner], ref)
	return nil
}

func (o *syncOutbox) refs(owner string) []chat.Ref {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]chat.Ref(nil), o.heads[owner]...)
}

func (o *syncOutbox) Update(ctx context.Context, owner string, m chat.Message) error {
	for _, r := range o.refs(owner) {
		if err := o.p.Update(ctx, r, m); err != nil {
			return err
		}
	}
	return nil
}

func (o *syncOutbox) Reply(ctx context.Context, owner string, m chat.Message) error {
	for _, r := range o.refs(owner) {
		if _, err := o.p.Reply(ctx, r, m); err != nil {
			return err
		}
	}
	return nil
}

// lockedBuffer is the console's output, read by the test while the
// service writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fakeClock is set by the test; After fires when the clock is set past it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	asked   chan time.Duration
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newClock(t time.Time) *fakeClock {
	return &fakeClock{now: t, asked: make(chan time.Duration, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
	} else {
		c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	}
	c.mu.Unlock()
	c.asked <- d
	return ch
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

type env struct {
	svc   *incidents.Service
	st    *store.Store
	clock *fakeClock
	out   *lockedBuffer
	box   *syncOutbox
	cfg   *config.Config
}

func newEnv(t testing.TB, st *store.Store, targets ...string) *env {
	t.Helper()
	cfg := config.Default()
	cfg.Channels.Incident = "console"
	for _, n := range targets {
		cfg.Targets = append(cfg.Targets, config.Target{Name: n})
	}
	out := &lockedBuffer{}
	router := chat.NewRouter()
	router.Set("console", console.NewPoster(out))
	box := &syncOutbox{p: router, heads: map[string][]chat.Ref{}}
	svc := incidents.New(st, box, func() *config.Config { return cfg }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	clock := newClock(t0)
	svc.Clock = clock
	return &env{svc: svc, st: st, clock: clock, out: out, box: box, cfg: cfg}
}

// reminders counts the reminder lines the console printed.
func (e *env) reminders() int { return strings.Count(e.out.String(), "Reminder: incident") }

func (e *env) timeline(t *testing.T, id int64) []string {
	t.Helper()
	tl, err := e.st.IncidentTimeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(tl))
	for i, x := range tl {
		out[i] = fmt.Sprintf("%s %s %s", x.At.Sub(t0), x.Kind, x.Text)
	}
	return out
}
