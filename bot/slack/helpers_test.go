package slack

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/bot/slack/slackfake"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
	"opsbot/store"
	"opsbot/store/storetest"
)

const testSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one adapter wired to a real registry (SQLite) and the fake.
type env struct {
	t       *testing.T
	cfg     *config.Config
	fake    *slackfake.Server
	store   *store.Store
	reg     *commands.Registry
	a       *Adapter
	srv     *httptest.Server
	clock   *clock
	release chan struct{} // closes to let the slow verb finish
	runs    atomic.Int32  // runs of the dangerous verb
}

func newEnv(t *testing.T, mutate func(*config.Config), opts ...Option) *env {
	t.Helper()
	e := &env{t: t, fake: slackfake.New(), clock: &clock{t: time.Now()}, release: make(chan struct{})}
	t.Cleanup(e.fake.Close)
	cfg := config.Default()
	cfg.Secrets.SlackSigningSecret = testSecret
	cfg.Secrets.SlackBotToken = slackfake.BotToken
	cfg.Slack.APIURL = e.fake.APIURL()
	cfg.Roles = map[string]config.Role{"ops": {Users: []string{"slack:UADMIN", "slack:UOTHER"}, Verbs: []string{"*"}}}
	if mutate != nil {
		mutate(cfg)
	}
	e.cfg = cfg
	e.store = storetest.SQLite(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e.reg = commands.NewRegistry(func() *config.Config { return cfg }, e.store, log)
	e.reg.MustRegister(
		&commands.Verb{Name: "ping", Access: policy.Read, Summary: "answers pong", Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			return commands.Text("pong"), nil
		}},
		&commands.Verb{Name: "status", Access: policy.Read, Summary: "slow status", Slow: true, Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			c.Progress("probing targets")
			select {
			case <-e.release:
			case <-ctx.Done():
				return commands.Response{}, ctx.Err()
			}
			return commands.Response{Message: chatMsg("Status", "all green")}, nil
		}},
		&commands.Verb{Name: "restart", Summary: "restart a target", Access: policy.Dangerous,
			Params: []commands.Param{{Name: "target"}},
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				n := e.runs.Add(1)
				return commands.Text("restarted %s (run %d)", c.Arg(0), n), nil
			}},
	)
	// A generous inline budget: answers meant to go inline must not move to
	// response_url because a busy machine took two seconds; tests of that
	// move block their verb and set a short budget.
	all := append([]Option{WithClock(e.clock.Now), WithRetryBackoff(10*time.Millisecond, 50*time.Millisecond), WithFastBudget(time.Minute)}, opts...)
	e.a = New(func() *config.Config { return cfg }, e.reg, log, all...)
	e.srv = httptest.NewServer(e.a.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// run starts the adapter's Run loop until the test ends.
func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.a.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
	})
}

// signed posts body to path with a fresh, valid signature.
func (e *env) signed(path string, body string) *http.Response {
	e.t.Helper()
	ts := e.clock.Now().Unix()
	return e.post(path, body, map[string]string{
		headerTimestamp: strconv.FormatInt(ts, 10),
		headerSignature: Sign(testSecret, ts, []byte(body)),
	})
}

func (e *env) post(path, body string, headers map[string]string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

// slash builds a slash-command form as Slack sends it.
func (e *env) slash(user, text, responseID string) url.Values {
	return url.Values{
		"token": {"unused"}, "team_id": {"T0FAKE"}, "channel_id": {"C0OPS"}, "channel_name": {"ops"},
		"user_id": {user}, "user_name": {strings.ToLower(user)}, "command": {"/ops"}, "text": {text},
		"response_url": {e.fake.ResponseURL(responseID)}, "trigger_id": {"1.2.3"},
	}
}

// click builds a block_actions payload for a button.
func (e *env) click(user, action, value, responseID string) string {
	p := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user)},
		"channel":      map[string]any{"id": "C0OPS", "name": "ops"},
		"container":    map[string]any{"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0OPS"},
		"response_url": e.fake.ResponseURL(responseID),
		"trigger_id":   "1.2.3",
		"actions":      []map[string]any{{"type": "button", "action_id": action, "block_id": actionsBlockID, "value": value}},
	}
	b, err := json.Marshal(p)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func decode(t *testing.T, r io.Reader) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func decodeRaw(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// buttonValue finds the value of the button with action id in a rendered
// message (top-level blocks or attachment blocks).
func buttonValue(t *testing.T, msg map[string]any, action string) string {
	t.Helper()
	var found string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "button" && x["action_id"] == action {
				found, _ = x["value"].(string)
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(msg)
	if found == "" {
		t.Fatalf("no %q button in %v", action, msg)
	}
	return found
}

// poll waits for cond, checking every few milliseconds, until ctx ends.
func poll(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
