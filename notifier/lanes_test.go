package notifier_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slackbot "opsbot/bot/slack"
	"opsbot/bot/slack/slackfake"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// gate holds calls until the test lets them go.
type gate struct {
	mu sync.Mutex
	ch chan struct{}
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) wait(ctx context.Context) {
	g.mu.Lock()
	c := g.ch
	g.mu.Unlock()
	select {
	case <-c:
	case <-ctx.Done():
	}
}

// open lets the calls held now go and holds the next ones.
func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.ch)
	g.ch = make(chan struct{})
}

// eventually waits for cond, checked every few milliseconds, and fails
// the test with what when it does not hold within 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// slackMessages returns the messages of channel in the fake whose fallback
// text contains s.
func slackMessages(fake *slackfake.Server, channel, s string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range fake.Messages() {
		if m.Channel == channel && strings.Contains(m.Text, s) {
			out = append(out, m)
		}
	}
	return out
}

// One channel's Slack answers 500 for a simulated minute, each answer
// slow (held until the clock moves on), while another channel is healthy:
// every message of the healthy channel reaches the fake at the simulated
// instant it was queued, the sick channel is retried with backoff all the
// while, and once it heals each of its messages arrives once, in order,
// the reply in its parent's thread. Time is the injected clock's, for the
// notifier's backoff and the fake's receive times alike.
func TestSickChannelDoesNotDelayHealthyOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fake := slackfake.New()
		defer fake.Close()
		clk := newClock()
		fake.SetClock(clk.Now)
		cfg := config.Default()
		cfg.Slack.APIURL = fake.APIURL()
		cfg.Secrets.SlackBotToken = slackfake.BotToken
		cfg.Notifier.RetryBase = time.Second
		cfg.Notifier.RetryMax = 8 * time.Second
		cfg.Notifier.MaxAttempts = 1000
		cfg.Notifier.DeliveryWorkers = 2
		get := func() *config.Config { return cfg }
		log := slog.New(slog.DiscardHandler)
		router := chat.NewRouter()
		router.Set("slack", slackbot.New(get, nil, log, slackbot.WithPace(0, 0)).Poster())
		n := notifier.New(st, router, get, log)
		n.Now = clk.Now
		n.Jitter = func() float64 { return 0 }

		g := newGate()
		fake.FailChannel("CSICK", func(ctx context.Context, method string) *slackfake.Failure {
			g.wait(ctx)
			return &slackfake.Failure{Status: http.StatusInternalServerError, Error: "internal_error"}
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		}()
		send := func(channel, owner, title string) {
			t.Helper()
			if err := n.Send(ctx, channel, owner, chat.Message{Title: title}); err != nil {
				t.Fatal(err)
			}
		}

		send("slack:CSICK", "incident:0", "sick 00")
		if err := n.Reply(ctx, "incident:0", chat.Message{Text: "a reply in the thread"}); err != nil {
			t.Fatal(err)
		}
		start := clk.Now()
		queued := map[string]time.Time{}
		misses := 0 // of the wall-clock waits below
		for i := 0; i < 60; i++ {
			if i%20 == 10 {
				send("slack:CSICK", fmt.Sprintf("incident:%d", i), fmt.Sprintf("sick %02d", i))
			}
			title := fmt.Sprintf("healthy %02d", i)
			queued[title] = clk.Now()
			send("slack:COK", "", title)
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			err := fake.Await(wctx, func() bool { return len(slackMessages(fake, "COK", title)) > 0 })
			wcancel()
			if err != nil {
				// Late on the wall clock: it will be late on the simulated
				// one too, which the assertion below reports.
				if misses++; misses == 3 {
					t.Fatalf("%s and two before it not delivered within 10 s while the sick channel's call was held", title)
				}
			}
			clk.Advance(time.Second)
			g.open() // the sick channel's calls held during this second answer 500
		}
		sickPhase := clk.Now().Sub(start)

		var worst time.Duration
		for title, at := range queued {
			got := slackMessages(fake, "COK", title)
			if len(got) != 1 {
				t.Fatalf("%s received %d times, want once", title, len(got))
			}
			worst = max(worst, got[0].Received.Sub(at))
		}
		if worst > 0 {
			t.Fatalf("a healthy message was received %s after it was queued while the other channel failed; want at once", worst)
		}
		reqs := fake.Requests("CSICK")
		posts := 0
		for _, r := range reqs {
			if r.Status != http.StatusInternalServerError {
				t.Fatalf("sick channel answered %d to %s at %s", r.Status, r.Method, r.At.Sub(start))
			}
			if r.Method == "chat.postMessage" {
				posts++
			}
		}
		// Backoff 0.5 s doubling to 4 s (jitter fixed low), plus a simulated
		// second for each held answer (the lookup before a resend, then the
		// post): about ten attempts in the minute when the machine is idle.
		// The clock moves as fast as the healthy channel is served, so a
		// loaded machine records fewer (3 at a load of 16); at least two, the
		// last in the second half.
		if posts < 2 || reqs[len(reqs)-1].At.Sub(start) < 30*time.Second {
			t.Fatalf("sick channel tried %d times over %s, last at %s: not retried all the while", posts, sickPhase, reqs[len(reqs)-1].At.Sub(start))
		}
		if got := len(fake.Messages()) - len(queued); got != 0 {
			t.Fatalf("%d messages reached the sick channel while it failed", got)
		}

		// Heal; once no attempt is in flight, move past the longest backoff.
		fake.FailChannel("CSICK", nil)
		g.open()
		eventually(t, "the sick channel's last failed attempt recorded", func() bool {
			heads, err := store.OutboxHeads(ctx, st.DB)
			if err != nil {
				return false
			}
			for _, h := range heads {
				if h.Channel == "slack:CSICK" && h.ClaimedBy != "" {
					return false
				}
			}
			return true
		})
		clk.Advance(cfg.Notifier.RetryMax)
		n.Wake()
		want := []string{"sick 00", "sick 10", "sick 30", "sick 50"}
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		if err := fake.Await(wctx, func() bool {
			for _, m := range fake.Messages() {
				if strings.Contains(m.Text, "a reply in the thread") {
					return len(slackMessages(fake, "CSICK", "sick 50")) > 0
				}
			}
			return false
		}); err != nil {
			t.Fatalf("sick channel not delivered after it healed: %v", err)
		}
		var sick []slackfake.Message
		for _, m := range fake.Messages() {
			if m.Channel == "CSICK" {
				sick = append(sick, m)
			}
		}
		if len(sick) != len(want)+1 {
			t.Fatalf("sick channel got %d messages, want %d (none lost, none doubled)", len(sick), len(want)+1)
		}
		// In queue order: the first post, its reply, then the later posts.
		if !strings.Contains(sick[0].Text, want[0]) || sick[1].ThreadTS != sick[0].TS || !strings.Contains(sick[1].Text, "a reply in the thread") {
			t.Fatalf("first post and its reply: %q / %q (thread %q of %q)", sick[0].Text, sick[1].Text, sick[1].ThreadTS, sick[0].TS)
		}
		for i, w := range want[1:] {
			if m := sick[i+2]; !strings.Contains(m.Text, w) || m.ThreadTS != "" {
				t.Fatalf("sick message %d is %q, want %q", i+2, m.Text, w)
			}
		}
		eventually(t, "the last delivery marked", func() bool {
			p, err := n.Pending(ctx)
			return err == nil && p == 0
		})
		if p, _ := n.Parked(ctx); p != 0 {
			t.Fatalf("%d parked", p)
		}
		t.Logf("sick for %s: %d failed posts to it; healthy channel's worst latency %s", sickPhase, posts, worst)
	})
}

// Two notifiers on one store, as two processes that both believe they
// lead: every row is claimed by one of them, so each message reaches the
// platform exactly once, each channel in its order, replies in their
// parent's thread.
func TestTwoLeadersDeliverEachRowOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		const channels, perChannel = 4, 15
		p := newPlatform(time.Now)
		cfg := config.Default()
		get := func() *config.Config { return cfg }
		var ns []*notifier.Notifier
		for range 2 {
			ns = append(ns, notifier.New(st, p, get, slog.New(slog.DiscardHandler)))
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, n := range ns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := n.Run(ctx); err != nil {
					t.Errorf("run: %v", err)
				}
			}()
		}
		defer func() {
			cancel()
			wg.Wait()
		}()
		for i := range perChannel {
			for c := range channels {
				ch := fmt.Sprintf("ch%d", c)
				owner := fmt.Sprintf("incident:%d-%d", c, i)
				// Queued through either notifier: both deliver.
				n := ns[(i+c)%2]
				if err := n.Send(ctx, ch, owner, chat.Message{Title: fmt.Sprintf("%s post %02d", ch, i)}); err != nil {
					t.Fatal(err)
				}
				if err := n.Reply(ctx, owner, chat.Message{Text: fmt.Sprintf("%s reply %02d", ch, i)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		eventually(t, "every message delivered", func() bool {
			n, err := ns[0].Pending(ctx)
			return err == nil && n == 0
		})
		for c := range channels {
			ch := fmt.Sprintf("ch%d", c)
			posts := p.posts(ch)
			if len(posts) != perChannel {
				t.Fatalf("%s: %d posts, want %d", ch, len(posts), perChannel)
			}
			for i, m := range posts {
				if want := fmt.Sprintf("%s post %02d", ch, i); m.Last().Title != want {
					t.Fatalf("%s: post %d is %q, want %q", ch, i, m.Last().Title, want)
				}
				th := p.thread(m.ID)
				if want := fmt.Sprintf("%s reply %02d", ch, i); len(th) != 1 || th[0].Last().Text != want {
					t.Fatalf("%s: thread of post %d: %d replies", ch, i, len(th))
				}
			}
		}
		if got, want := p.count(), channels*perChannel*2; got != want {
			t.Fatalf("platform has %d messages, want %d", got, want)
		}
	})
}

// Fence is asked before each send: refused, nothing is sent and the row
// stays as it was (not claimed, no attempt counted); allowed, it goes out.
func TestFenceSkipsSend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		var lead atomic.Bool
		asked := 0
		r.n.Fence = func() bool { asked++; return lead.Load() }
		if err := r.n.Send(ctx, "ops", "incident:1", chat.Message{Title: "hello"}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.n.Drain(ctx); !errors.Is(err, notifier.ErrFenced) {
			t.Fatalf("drain while fenced: %v, want ErrFenced", err)
		}
		row, err := store.OutboxByID(ctx, st.DB, 1)
		if err != nil {
			t.Fatal(err)
		}
		if asked != 1 || p.count() != 0 || row.Attempts != 0 || row.ClaimedBy != "" || !row.DeliveredAt.IsZero() {
			t.Fatalf("fenced: asked %d, sent %d, row %+v", asked, p.count(), row)
		}
		lead.Store(true)
		r.drain(t)
		if asked != 2 || len(p.posts("ops")) != 1 {
			t.Fatalf("allowed: asked %d, posts %d", asked, len(p.posts("ops")))
		}
	})
}
