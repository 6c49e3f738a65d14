package notifier_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/bot/slack"
	"opsbot/bot/slack/slackfake"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// replica is one opsbot process's alert path: its own store connection,
// Slack adapter and pipeline, on a shared PostgreSQL schema.
type replica struct {
	st *store.Store
	n  *notifier.Notifier
}

func newReplica(t *testing.T, dsn string, get func() *config.Config) *replica {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	adapter := slack.New(get, commands.NewRegistry(get, st, log), log, slack.WithPace(time.Millisecond, 1000))
	router := chat.NewRouter()
	router.Set("slack", adapter.Poster())
	return &replica{st: st, n: notifier.New(st, router, get, log)}
}

func countRows(t *testing.T, st *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := st.Get(context.Background(), &n, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// waitFor polls the store until cond holds, or fails with what it last saw.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last: %s", what, seen)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Two pipelines on one PostgreSQL, fed the same observations at the same
// time (as two replicas behind one Alertmanager would be), for 100 rounds
// of fire and resolve of 20 fingerprints: one active row per problem at
// any time, one first message per alert per channel, every resolution
// edits its message and replies in its thread — counted in the alert
// table, the inbox and the outbox, and in what the Slack fake received.
func TestTwoPipelinesOneMessagePerAlert(t *testing.T) {
	const (
		rounds = 100
		fps    = 20
	)
	dsn := storetest.PostgresDSN(t)
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	cfg := config.Default()
	cfg.Slack.APIURL = fake.APIURL()
	cfg.Secrets.SlackBotToken = slackfake.BotToken
	cfg.Notifier.GroupWait = 0
	cfg.Notifier.Repeat = 24 * time.Hour
	get := func() *config.Config { return cfg }
	a, b := newReplica(t, dsn, get), newReplica(t, dsn, get)
	ctx, cancel := context.WithCancel(context.Background())
	for _, ch := range []string{"slack:C1", "slack:C2"} {
		if err := a.n.Subscribe(ctx, ch, []string{"external"}, "", "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, r := range []*replica{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.n.Run(ctx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })

	feed := func(status string, round int) {
		batch := make([]alert.Alert, fps)
		for i := range batch {
			batch[i] = alert.Alert{Fingerprint: fmt.Sprintf("am:%02d", i), Kind: "external", Rule: "HighLatency",
				Target: fmt.Sprintf("api-%02d", i), Severity: "critical", Status: status,
				Summary: fmt.Sprintf("round %d", round), Value: float64(round)}
		}
		var fw sync.WaitGroup
		for _, r := range []*replica{a, b} {
			fw.Add(1)
			go func() {
				defer fw.Done()
				if err := r.n.Source("alertmanager").Notify(ctx, batch...); err != nil {
					t.Error(err)
				}
			}()
		}
		fw.Wait()
	}
	for round := 1; round <= rounds; round++ {
		feed(alert.Firing, round)
		waitFor(t, fmt.Sprintf("round %d routed", round), func() (bool, string) {
			n := countRows(t, a.st, `SELECT COUNT(*) FROM alerts WHERE state = 'firing' AND routed_at IS NOT NULL`)
			return n == fps, fmt.Sprintf("%d routed", n)
		})
		if n := countRows(t, a.st, `SELECT COUNT(*) FROM alerts WHERE state = 'firing'`); n != fps {
			t.Fatalf("round %d: %d active rows for %d problems", round, n, fps)
		}
		feed(alert.Resolved, round)
		waitFor(t, fmt.Sprintf("round %d resolved", round), func() (bool, string) {
			n := countRows(t, a.st, `SELECT COUNT(*) FROM alerts WHERE state = 'firing'`)
			return n == 0, fmt.Sprintf("%d still firing", n)
		})
	}
	waitFor(t, "delivery", func() (bool, string) {
		n := countRows(t, a.st, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL`)
		return n == 0, fmt.Sprintf("%d undelivered", n)
	})

	total := rounds * fps
	if n := countRows(t, a.st, `SELECT COUNT(*) FROM alerts`); n != total {
		t.Errorf("alert rows: %d, want %d (one per episode)", n, total)
	}
	if n := countRows(t, a.st, `SELECT COUNT(*) FROM alert_inbox WHERE processed_at IS NULL`); n != 0 {
		t.Errorf("%d observations never applied", n)
	}
	// Both replicas observed everything; the same observation made by both
	// within one millisecond is one row (idempotent by source, fingerprint,
	// time and status), so between one and two rows per fire and resolve.
	if n := countRows(t, a.st, `SELECT COUNT(*) FROM alert_inbox`); n < 2*total || n > 4*total {
		t.Errorf("inbox rows: %d, want %d..%d", n, 2*total, 4*total)
	}
	for _, ch := range []string{"slack:C1", "slack:C2"} {
		// Exactly one first message per alert per channel.
		if n := countRows(t, a.st, `SELECT COUNT(*) FROM (SELECT alert_id FROM alert_messages WHERE channel = ? AND role = 'first' GROUP BY alert_id HAVING COUNT(*) = 1) x`, ch); n != total {
			t.Errorf("%s: %d alerts with exactly one first message, want %d", ch, n, total)
		}
		if n := countRows(t, a.st, `SELECT COUNT(*) FROM outbox WHERE channel = ? AND op = 'post' AND parked_at IS NULL`, ch); n == 0 {
			t.Errorf("%s: no posts", ch)
		}
	}
	if n := countRows(t, a.st, `SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL`); n != 0 {
		t.Errorf("%d notifications parked", n)
	}
	// What Slack received: every post delivered once (no duplicate
	// outbox ids in metadata), and a resolution reply in a thread for
	// every first message.
	seen := map[string]int{}
	replies := 0
	for _, m := range fake.Messages() {
		if m.ThreadTS != "" {
			if strings.Contains(strings.ToLower(m.Text+string(m.Blocks)), "resolved") {
				replies++
			}
			continue
		}
		seen[string(m.Metadata)]++
	}
	for k, c := range seen {
		if c > 1 {
			t.Errorf("message posted %d times: %s", c, k)
		}
	}
	posts := countRows(t, a.st, `SELECT COUNT(*) FROM outbox WHERE op = 'post'`)
	if len(seen) != posts {
		t.Errorf("Slack has %d distinct top-level messages, the outbox %d posts", len(seen), posts)
	}
	if replies < posts {
		t.Errorf("%d resolution replies for %d first messages", replies, posts)
	}
}

// What a producer observed is redacted before it is stored: the inbox, the
// alert row and the message all hold the masked text.
func TestObservationsRedactedBeforeStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st, newPlatform(nil))
		ctx := context.Background()
		r.subscribe(t, "ops", "warning", "", "health")
		r.notify(t, alert.Alert{Fingerprint: "redis_down:api", Kind: "health", Rule: "redis_down", Target: "api", Severity: "warning",
			Summary: "redis://:hunter2@cache:6379 refused", Detail: "dial: password=hunter2"})
		var payloads []string
		if err := st.Select(ctx, &payloads, `SELECT payload FROM alert_inbox`); err != nil {
			t.Fatal(err)
		}
		rows, _ := store.ListAlerts(ctx, st.DB, "", 10)
		if len(payloads) != 1 || len(rows) != 1 {
			t.Fatalf("%d observations, %d alerts", len(payloads), len(rows))
		}
		for _, s := range []string{payloads[0], rows[0].Summary, rows[0].Detail} {
			if strings.Contains(s, "hunter2") {
				t.Fatalf("secret stored: %s", s)
			}
		}
	})
}
