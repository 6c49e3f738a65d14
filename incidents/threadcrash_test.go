package incidents_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/bot/discord"
	"opsbot/bot/discord/discordfake"
	"opsbot/bot/slack"
	"opsbot/bot/slack/slackfake"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/incidents"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// crashAfter passes requests on, and once one matching request has been
// answered by the platform it "crashes" the process: the bot's context is
// cancelled and the answer is lost, so nothing records that the message
// went out.
type crashAfter struct {
	next  http.RoundTripper
	match func(r *http.Request, body []byte) bool
	crash func()
	once  sync.Once
	hit   bool
}

func (c *crashAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := c.next.RoundTrip(r)
	if err != nil || !c.match(r, body) {
		return resp, err
	}
	crashed := false
	c.once.Do(func() { crashed, c.hit = true, true })
	if !crashed {
		return resp, nil
	}
	resp.Body.Close()
	c.crash()
	return nil, errors.New("connection lost: the process died")
}

// threadCrash opens an incident, lets its first message out, then adds a
// note whose thread reply reaches the platform while the bot dies before
// marking it (step apart on the bot's clock); a bot started afresh on the same store must find the reply
// in the incident's thread and not post it again.
func threadCrash(t *testing.T, st *store.Store, get func() *config.Config, clock *fakeClock, step time.Duration, router func(hc *http.Client) *chat.Router, next http.RoundTripper, isReply func(r *http.Request, body []byte) bool) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	boot := func(hc *http.Client) (*notifier.Notifier, *incidents.Service) {
		n := notifier.New(st, router(hc), get, log)
		n.Now = clock.Now
		svc := incidents.New(st, n, get, log)
		svc.Clock = clock
		return n, svc
	}
	ctx, crash := context.WithCancel(context.Background())
	defer crash()
	tr := &crashAfter{next: next, match: isReply, crash: crash}
	n, svc := boot(&http.Client{Timeout: 10 * time.Second, Transport: tr})
	inc, err := svc.Open(ctx, "API not responding", "critical", "", "someone")
	if err != nil {
		t.Fatal(err)
	}
	if next, err := n.Drain(ctx); err != nil || !next.IsZero() {
		t.Fatalf("drain: %v %v", next, err)
	}
	clock.Set(clock.Now().Add(step))
	if _, err := svc.Note(ctx, inc.ID, "rolled back the deploy", "someone"); err != nil {
		t.Fatal(err)
	}
	_, _ = n.Drain(ctx) // dies on the reply
	if !tr.hit {
		t.Fatal("the note's reply never reached the platform")
	}

	clock.Set(clock.Now().Add(step))
	again := context.Background()
	n2, _ := boot(&http.Client{Timeout: 10 * time.Second, Transport: next})
	if next, err := n2.Drain(again); err != nil || !next.IsZero() {
		t.Fatalf("drain after restart: %v %v", next, err)
	}
	if p, err := n2.Pending(again); err != nil || p != 0 {
		t.Fatalf("pending after restart: %d %v", p, err)
	}
}

func TestThreadReplyNotRepeatedAfterCrashSlack(t *testing.T) {
	st := storetest.SQLite(t)
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	clock := newClock(t0)
	fake.SetClock(clock.Now)
	cfg := config.Default()
	cfg.Slack.APIURL = fake.APIURL()
	cfg.Secrets.SlackBotToken = slackfake.BotToken
	cfg.Channels.Incident = "slack:C0INC"
	cfg.Targets = []config.Target{{Name: "api"}}
	get := func() *config.Config { return cfg }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	router := func(hc *http.Client) *chat.Router {
		a := slack.New(get, commands.NewRegistry(get, st, log), log, slack.WithPace(time.Millisecond, 1000), slack.WithHTTPClient(hc))
		r := chat.NewRouter()
		r.Set("slack", a.Poster())
		return r
	}
	isReply := func(r *http.Request, body []byte) bool {
		return strings.HasSuffix(r.URL.Path, "/chat.postMessage") && bytes.Contains(body, []byte("thread_ts="))
	}
	threadCrash(t, st, get, clock, 2*time.Minute, router, http.DefaultTransport, isReply)

	var replies []slackfake.Message
	for _, m := range fake.Messages() {
		if m.ThreadTS != "" && strings.Contains(m.Text+string(m.Blocks), "rolled back the deploy") {
			replies = append(replies, m)
		}
	}
	if len(replies) != 1 {
		t.Fatalf("%d replies with the note in the thread, want 1", len(replies))
	}
	if fake.Calls("conversations.replies") == 0 {
		t.Error("the restarted bot never read the thread")
	}
}

func TestThreadReplyNotRepeatedAfterCrashDiscord(t *testing.T) {
	const incChannel = "610000000000000001"
	st := storetest.SQLite(t)
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	// Message ids are the fake's real time: the bot's clock reads the same
	// and does not step ahead of it.
	clock := newClock(time.Now().UTC())
	cfg := config.Default()
	cfg.Secrets.DiscordBotToken = config.Secret(fake.Token)
	cfg.Secrets.DiscordAppID = config.Secret(fake.AppID)
	cfg.Channels.Incident = "discord:" + incChannel
	cfg.Targets = []config.Target{{Name: "api"}}
	get := func() *config.Config { return cfg }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	router := func(hc *http.Client) *chat.Router {
		a := discord.New(get, commands.NewRegistry(get, st, log), log, discord.WithHTTPClient(hc))
		r := chat.NewRouter()
		r.Set("discord", a.Poster())
		return r
	}
	// A reply is a post to a channel other than the incident channel: the
	// thread, whose id is the first message's.
	isReply := func(r *http.Request, _ []byte) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages") &&
			!strings.Contains(r.URL.Path, "/channels/"+incChannel+"/")
	}
	threadCrash(t, st, get, clock, 0, router, fake.Client().Transport, isReply)

	top := fake.Messages(incChannel)
	if len(top) != 1 {
		t.Fatalf("incident channel has %d messages, want 1", len(top))
	}
	thread := top[0].ID
	var replies, posts int
	for _, m := range fake.Messages(thread) {
		if strings.Contains(m.Text(), "rolled back the deploy") {
			replies++
		}
	}
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/channels/"+thread+"/messages") {
			posts++
		}
	}
	if replies != 1 || posts != 1 {
		t.Fatalf("thread has %d replies with the note after %d posts, want 1 and 1", replies, posts)
	}
}
