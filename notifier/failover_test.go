package notifier_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"opsbot/alert"
	slackbot "opsbot/bot/slack"
	"opsbot/bot/slack/slackfake"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// The leader process of TestLeaderKilledMidGroup is this test binary run
// again with these set: the schema's DSN and the Slack fake's API URL.
const (
	envLeaderDSN   = "OPSBOT_NOTIFIER_LEADER_DSN"
	envLeaderSlack = "OPSBOT_NOTIFIER_LEADER_SLACK"
)

const failoverGroupWait = 2 * time.Second

// failoverConfig is the configuration both the leader and the follower run.
func failoverConfig(api string) *config.Config {
	cfg := config.Default()
	cfg.Slack.APIURL = api
	cfg.Secrets.SlackBotToken = slackfake.BotToken
	cfg.Notifier.GroupWait = failoverGroupWait
	cfg.Notifier.Repeat = 24 * time.Hour
	return cfg
}

// failoverNotifier is one process's alert path on the shared schema.
func failoverNotifier(t testing.TB, st *store.Store, cfg *config.Config, log *slog.Logger) *notifier.Notifier {
	t.Helper()
	get := func() *config.Config { return cfg }
	adapter := slackbot.New(get, commands.NewRegistry(get, st, log), log, slackbot.WithPace(time.Millisecond, 1000))
	router := chat.NewRouter()
	router.Set("slack", adapter.Poster())
	return notifier.New(st, router, get, log)
}

// runLeader is the leader's process: the whole alert path (pipeline and
// delivery) until it is killed, or its parent is gone (stdin closes).
func runLeader(t *testing.T, dsn, api string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	st, err := store.Open(ctx, "postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	n := failoverNotifier(t, st, failoverConfig(api), log)
	_ = n.Run(ctx)
}

// The leader is killed (SIGKILL: no clean stop, no deferred work) while a
// group of alerts waits in its window and while it is sending a message
// whose send never completes; observations keep arriving while no process
// leads, then a follower takes over from the store alone. Nothing
// observed is lost or applied twice, the group is announced once, the
// message the leader was sending goes out once after its claim lapses, the
// resolves of announced alerts edit their messages and reply in their
// threads, and alerts resolved inside their window are never announced —
// counted in the inbox, the alert table, the outbox and the Slack fake.
func TestLeaderKilledMidGroup(t *testing.T) {
	if dsn := os.Getenv(envLeaderDSN); dsn != "" {
		runLeader(t, dsn, os.Getenv(envLeaderSlack))
		return
	}
	dsn := storetest.PostgresDSN(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, "postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	fake := slackfake.New()
	t.Cleanup(fake.Close)
	// The first post to C2 is held until its sender dies, then refused:
	// the leader dies holding the outbox row's claim, nothing reached Slack.
	var holdC2 atomic.Bool
	holdC2.Store(true)
	c2Held := make(chan struct{})
	var heldOnce sync.Once
	fake.FailChannel("C2", func(ctx context.Context, method string) *slackfake.Failure {
		if method != "chat.postMessage" || !holdC2.Load() {
			return nil
		}
		heldOnce.Do(func() { close(c2Held) })
		<-ctx.Done()
		return &slackfake.Failure{Status: 503, Error: "sender gone"}
	})

	cfg := failoverConfig(fake.APIURL())
	// The follower: until it takes over it only observes (appends to the
	// inbox), as a replica that does not lead.
	follower := failoverNotifier(t, st, cfg, slog.New(slog.DiscardHandler))
	for _, ch := range []string{"slack:C1", "slack:C2"} {
		if err := follower.Subscribe(ctx, ch, []string{"external"}, "", "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	observe := func(status, summary string, fps ...int) {
		t.Helper()
		batch := make([]alert.Alert, len(fps))
		for i, k := range fps {
			batch[i] = alert.Alert{Fingerprint: fmt.Sprintf("fo:%02d", k), Kind: "external", Rule: "HighLatency",
				Target: fmt.Sprintf("api-%02d", k), Severity: "critical", Status: status, Summary: summary}
		}
		if err := follower.Source("alertmanager").Notify(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	span := func(from, to int) []int {
		var out []int
		for k := from; k <= to; k++ {
			out = append(out, k)
		}
		return out
	}

	leader := exec.Command(os.Args[0], "-test.run=^TestLeaderKilledMidGroup$")
	leader.Env = append(os.Environ(), envLeaderDSN+"="+dsn, envLeaderSlack+"="+fake.APIURL())
	leader.Stderr = os.Stderr
	stdin, err := leader.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = leader.Process.Kill()
			_ = leader.Wait()
		}
		stdin.Close()
	})

	// Wave 1 (fo:00..09): announced by the leader, which then hangs
	// sending it to C2.
	observe(alert.Firing, "wave 1", span(0, 9)...)
	select {
	case <-c2Held:
	case <-time.After(60 * time.Second):
		t.Fatal("the leader never sent wave 1 to C2")
	}
	// Wave 2 (fo:10..19): applied by the leader and waiting in its group
	// window when it dies.
	observe(alert.Firing, "wave 2", span(10, 19)...)
	waitFor(t, "wave 2 in the leader's group window", func() (bool, string) {
		waiting := countRows(t, st, `SELECT COUNT(*) FROM alert_inbox WHERE processed_at IS NULL`)
		pending := countRows(t, st, `SELECT COUNT(*) FROM alerts WHERE state = 'firing' AND routed_at IS NULL AND pending = 'group'`)
		return waiting == 0 && pending == 10, fmt.Sprintf("%d observations waiting, %d alerts in a group window", waiting, pending)
	})
	if err := leader.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = leader.Wait()
	killed = true
	if n := countRows(t, st, `SELECT COUNT(*) FROM alerts WHERE routed_at IS NULL`); n != 10 {
		t.Fatalf("the leader routed wave 2 before it was killed (%d of 10 unrouted): the group window was too short for this machine", n)
	}
	if n := countRows(t, st, `SELECT COUNT(*) FROM outbox WHERE channel = 'slack:C2' AND claimed_by <> '' AND delivered_at IS NULL`); n != 1 {
		t.Fatalf("%d rows of C2 claimed by the dead leader, want the one it was sending", n)
	}
	// What the leader had applied, and when: nobody may apply it again.
	type claim struct {
		ID          int64 `db:"id"`
		ProcessedAt int64 `db:"processed_at"`
	}
	var before []claim
	if err := st.Select(ctx, &before, `SELECT id, processed_at FROM alert_inbox ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(before) != 20 {
		t.Fatalf("%d observations in the inbox before the takeover, want 20", len(before))
	}

	// While nobody leads: resolves of announced alerts (fo:00..02) and of
	// alerts still in the window (fo:10..12), new alerts (fo:20..24).
	observe(alert.Resolved, "", 0, 1, 2, 10, 11, 12)
	observe(alert.Firing, "wave 3", span(20, 24)...)
	holdC2.Store(false)

	var run sync.WaitGroup
	run.Add(1)
	go func() { defer run.Done(); _ = follower.Run(ctx) }()
	t.Cleanup(func() { cancel(); run.Wait() })
	// The dead leader's claim lapses on its own (store/outbox.go); wait on
	// the outcome, with room for it.
	waitFor(t, "the follower to apply, route and deliver everything", func() (bool, string) {
		waiting := countRows(t, st, `SELECT COUNT(*) FROM alert_inbox WHERE processed_at IS NULL`)
		unrouted := countRows(t, st, `SELECT COUNT(*) FROM alerts WHERE state = 'firing' AND routed_at IS NULL`)
		pending := countRows(t, st, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND parked_at IS NULL`)
		return waiting+unrouted+pending == 0, fmt.Sprintf("%d observations waiting, %d alerts unrouted, %d notifications pending", waiting, unrouted, pending)
	})

	// The inbox: every observation applied once; what the leader applied
	// was not applied again (its claim time is unchanged).
	var after []claim
	if err := st.Select(ctx, &after, `SELECT id, processed_at FROM alert_inbox ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(after) != 31 {
		t.Errorf("%d observations in the inbox, want 31", len(after))
	}
	for i, c := range before {
		if after[i] != c {
			t.Errorf("observation %d applied again after the takeover: %+v, then %+v", c.ID, c, after[i])
		}
	}
	// The alert table: one episode per fingerprint, the right ones firing.
	if n := countRows(t, st, `SELECT COUNT(*) FROM (SELECT fingerprint FROM alerts GROUP BY fingerprint HAVING COUNT(*) > 1) x`); n != 0 {
		t.Errorf("%d fingerprints with two alert rows", n)
	}
	var firingFPs []string
	if err := st.Select(ctx, &firingFPs, `SELECT fingerprint FROM alerts WHERE state = 'firing' ORDER BY fingerprint`); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, k := range append(append(span(3, 9), span(13, 19)...), span(20, 24)...) {
		want = append(want, fmt.Sprintf("fo:%02d", k))
	}
	if strings.Join(firingFPs, " ") != strings.Join(want, " ") {
		t.Errorf("firing:\n got %v\nwant %v", firingFPs, want)
	}
	if n := countRows(t, st, `SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL`); n != 0 {
		t.Errorf("%d notifications parked", n)
	}

	announced := append(append(span(0, 9), span(13, 19)...), span(20, 24)...)
	for _, ch := range []string{"C1", "C2"} {
		// The outbox: one first message per announced alert in the channel;
		// none for the alerts resolved inside their window.
		if n := countRows(t, st, `SELECT COUNT(*) FROM (SELECT alert_id FROM alert_messages WHERE channel = ? AND role = 'first' GROUP BY alert_id HAVING COUNT(*) = 1) x`, "slack:"+ch); n != len(announced) {
			t.Errorf("%s: %d alerts with exactly one first message, want %d", ch, n, len(announced))
		}
		if n := countRows(t, st, `SELECT COUNT(*) FROM alert_messages m JOIN alerts a ON a.id = m.alert_id WHERE m.channel = ? AND a.fingerprint IN ('fo:10', 'fo:11', 'fo:12')`, "slack:"+ch); n != 0 {
			t.Errorf("%s: alerts resolved in their window were announced (%d messages)", ch, n)
		}
		// Slack: each post once, each announced fingerprint in exactly one
		// top-level message.
		var top, replies []slackfake.Message
		keys := map[string]int{}
		for _, m := range fake.Messages() {
			if m.Channel != ch {
				continue
			}
			if m.ThreadTS != "" {
				replies = append(replies, m)
				continue
			}
			top = append(top, m)
			keys[string(m.Metadata)]++
		}
		for k, c := range keys {
			if c > 1 {
				t.Errorf("%s: posted %d times: %s", ch, c, k)
			}
		}
		if posts := countRows(t, st, `SELECT COUNT(*) FROM outbox WHERE channel = ? AND op = 'post'`, "slack:"+ch); len(top) != posts {
			t.Errorf("%s: %d messages in Slack, %d posts in the outbox", ch, len(top), posts)
		}
		for k := 0; k <= 24; k++ {
			fp := fmt.Sprintf("fo:%02d", k)
			var carrying []slackfake.Message
			for _, m := range top {
				if strings.Contains(m.Text, "fp "+fp) {
					carrying = append(carrying, m)
				}
			}
			wantMsgs := 1
			if k >= 10 && k <= 12 {
				wantMsgs = 0
			}
			if len(carrying) != wantMsgs {
				t.Errorf("%s: %s in %d messages, want %d", ch, fp, len(carrying), wantMsgs)
				continue
			}
			if k > 2 || len(carrying) == 0 {
				continue
			}
			// Resolved after it was announced: its line in the message now
			// says so, and a reply in the message's thread names it.
			msg := carrying[0]
			if !regexp.MustCompile(`resolved after [^·]+· fp ` + fp + `\b`).MatchString(msg.Text) {
				t.Errorf("%s: the message carrying %s was not edited to resolved: %q", ch, fp, msg.Text)
			}
			found := false
			for _, r := range replies {
				if r.ThreadTS == msg.TS && strings.Contains(r.Text, "fp "+fp) && strings.Contains(strings.ToLower(r.Text), "resolved") {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no resolution reply for %s in its message's thread", ch, fp)
			}
		}
	}
}
