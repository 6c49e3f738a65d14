package discord_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"opsbot/bot/discord"
	"opsbot/bot/discord/discordfake"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
	"opsbot/store/storetest"
)

// A frozen key pair: the seed is fixed, so signatures are reproducible.
var (
	seed = bytes.Repeat([]byte{0x42}, ed25519.SeedSize)
	priv = ed25519.NewKeyFromSeed(seed)
	pub  = priv.Public().(ed25519.PublicKey)
)

const (
	channel  = "600000000000000001"
	opsRole  = "700000000000000001"
	theGuild = "300000000000000001"
)

var (
	alice = discordfake.User{ID: "800000000000000001", Name: "alice", Roles: []string{opsRole}}
	bob   = discordfake.User{ID: "800000000000000002", Name: "bob"}
)

type env struct {
	t      *testing.T
	fake   *discordfake.Server
	cfgp   atomic.Pointer[config.Config]
	reg    *commands.Registry
	a      *discord.Adapter
	srv    *httptest.Server
	now    time.Time
	booms  atomic.Int32
	mu     sync.Mutex
	calls  []*commands.Call
	logBuf *syncBuffer

	progress chan struct{} // closed to let the "long" verb finish
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T, mode string, opts ...discord.Option) *env {
	t.Helper()
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	return newEnvOn(t, fake, mode, opts...)
}

// newEnvOn makes an adapter (a fresh process, as after a restart) against fake.
func newEnvOn(t *testing.T, fake *discordfake.Server, mode string, opts ...discord.Option) *env {
	t.Helper()
	e := &env{t: t, fake: fake, now: time.Unix(1_750_000_000, 0), logBuf: &syncBuffer{}, progress: make(chan struct{})}
	cfg := config.Default()
	cfg.Discord.Mode = mode
	cfg.Discord.GuildID = theGuild
	cfg.Secrets.DiscordBotToken = config.Secret(e.fake.Token)
	cfg.Secrets.DiscordAppID = config.Secret(e.fake.AppID)
	cfg.Secrets.DiscordPublicKey = config.Secret(hex.EncodeToString(pub))
	cfg.Roles = map[string]config.Role{"ops": {Users: []string{"discord-role:" + opsRole}, Verbs: []string{"*"}}}
	e.cfgp.Store(cfg)
	cfgFn := func() *config.Config { return e.cfgp.Load() }
	log := slog.New(slog.NewTextHandler(io.MultiWriter(e.logBuf), &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.reg = commands.NewRegistry(cfgFn, storetest.SQLite(t), log)
	e.reg.MustRegister(e.verbs()...)
	all := append([]discord.Option{
		discord.WithHTTPClient(e.fake.Client()),
		discord.WithDialer(&websocket.Dialer{HandshakeTimeout: 5 * time.Second}),
		discord.WithClock(func() time.Time { return e.now }),
		discord.WithBackoff(5*time.Millisecond, 20*time.Millisecond),
		// Answers meant to go inline must not turn deferred because a busy
		// machine took two seconds; tests of deferral block their verb.
		discord.WithAckDeadline(time.Minute),
	}, opts...)
	e.a = discord.New(cfgFn, e.reg, log, all...)
	e.srv = httptest.NewServer(e.fake.Endpoint(e.a.Handler()))
	t.Cleanup(e.srv.Close)
	return e
}

// setCfg changes a copy of the configuration and swaps it in, as a reload does.
func (e *env) setCfg(change func(*config.Config)) {
	c := *e.cfgp.Load()
	change(&c)
	e.cfgp.Store(&c)
}

func (e *env) record(c *commands.Call) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, c)
}

func (e *env) lastCall() *commands.Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.calls) == 0 {
		return nil
	}
	return e.calls[len(e.calls)-1]
}

// verbs are the test verbs: slow, long (reports progress until released),
// a dangerous boom that counts its runs, and logs with typed options.
func (e *env) verbs() []*commands.Verb {
	return []*commands.Verb{
		{Name: "slow", Access: policy.Read, Summary: "a slow verb", Slow: true, Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			e.record(c)
			return commands.Text("slow done for %s", c.Req.UserName), nil
		}},
		{Name: "long", Access: policy.Read, Summary: "long work with progress", Slow: true, Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			for {
				c.Progress("half way")
				select {
				case <-e.progress:
					return commands.Text("long done"), nil
				case <-ctx.Done():
					return commands.Response{}, ctx.Err()
				case <-time.After(5 * time.Millisecond):
				}
			}
		}},
		{Name: "boom", Summary: "a dangerous verb", Access: policy.Dangerous, Params: []commands.Param{{Name: "target", Choices: []string{"api", "worker"}}},
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				e.booms.Add(1)
				return commands.Text("boom ran on %s", c.Arg(0)), nil
			}},
		{Name: "logs", Summary: "search and tail logs", Subs: []*commands.Verb{
			{Name: "search", Access: policy.Read, Summary: "search logs", Slow: true,
				Params: []commands.Param{{Name: "pattern", Required: true, Rest: true, Help: "text to find"}},
				Flags: []commands.Flag{
					{Name: "file", Help: "log name", Choices: []string{"app", "nginx"}},
					{Name: "regex", Bool: true, Help: "pattern is a regexp"},
					{Name: "limit", Kind: "int", Help: "most lines"},
					{Name: "context", Short: "C", Kind: "int", Help: "lines around"},
				},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					e.record(c)
					return commands.Text("searched %q", c.Arg(0)), nil
				}},
			{Name: "tail", Access: policy.Read, Summary: "tail a log", Params: []commands.Param{{Name: "name", Required: true, Choices: []string{"app", "nginx"}}, {Name: "n", Kind: "int"}},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					e.record(c)
					return commands.Text("tail %s %s", c.Arg(0), c.Arg(1)), nil
				}},
		}},
	}
}

// deliver signs and posts an interaction to the endpoint as Discord does.
func (e *env) deliver(in discordfake.Interaction) (int, map[string]any) {
	e.t.Helper()
	code, body, err := e.fake.Deliver(context.Background(), e.srv.Client(), e.srv.URL, priv, e.now, in)
	if err != nil {
		e.t.Fatal(err)
	}
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	return code, out
}

// run starts the adapter's Run and stops it at cleanup (before the fake).
func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.a.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			e.t.Error("Run did not return after cancel")
		}
	})
}

// eventually waits for cond, failing after a generous deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *env) interaction(token string) discordfake.Interaction {
	e.t.Helper()
	in, ok := e.fake.Interaction(token)
	if !ok {
		e.t.Fatalf("no interaction %s", token)
	}
	return in
}

func hasEvent(in discordfake.Interaction, ev string) bool {
	for _, x := range in.Events {
		if x == ev {
			return true
		}
	}
	return false
}

func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
