package discord_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/bot/discord"
	"opsbot/bot/discord/discordfake"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
)

func TestSignedPingIsPonged(t *testing.T) {
	e := newEnv(t, "http")
	code, body := e.deliver(e.fake.NewPing())
	if code != 200 || body["type"] != float64(1) {
		t.Fatalf("PING answered %d %v, want 200 {type:1}", code, body)
	}
}

func TestForgedStaleAndReplayedRequestsAre401(t *testing.T) {
	e := newEnv(t, "http")
	ping := e.fake.NewPing()
	_, wrong, _ := ed25519.GenerateKey(nil)
	post := func(body []byte, sig, ts string) int {
		req, _ := http.NewRequest("POST", e.srv.URL, strings.NewReader(string(body)))
		if sig != "" {
			req.Header.Set("X-Signature-Ed25519", sig)
		}
		if ts != "" {
			req.Header.Set("X-Signature-Timestamp", ts)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ts := func(d time.Duration) string { return strconvI(e.now.Add(d).Unix()) }
	good := ts(0)
	sig := discordfake.Sign(priv, good, ping.Body)
	tampered := []byte(strings.Replace(string(ping.Body), `"type":1`, `"type":2`, 1))
	cases := []struct {
		name     string
		body     []byte
		sig, ts  string
		wantCode int
	}{
		{"tampered body", tampered, sig, good, 401},
		{"wrong key", ping.Body, discordfake.Sign(wrong, good, ping.Body), good, 401},
		{"no signature", ping.Body, "", good, 401},
		{"no timestamp", ping.Body, sig, "", 401},
		{"signature not hex", ping.Body, "zz" + sig[2:], good, 401},
		{"stale timestamp", ping.Body, discordfake.Sign(priv, ts(-6*time.Minute), ping.Body), ts(-6 * time.Minute), 401},
		{"future timestamp", ping.Body, discordfake.Sign(priv, ts(6*time.Minute), ping.Body), ts(6 * time.Minute), 401},
		{"good", ping.Body, sig, good, 200},
		{"replay of good", ping.Body, sig, good, 401},
	}
	for _, c := range cases {
		if got := post(c.body, c.sig, c.ts); got != c.wantCode {
			t.Errorf("%s: status %d, want %d", c.name, got, c.wantCode)
		}
	}
	// Inside the window a slightly old request is still fine.
	old := ts(-4 * time.Minute)
	if got := post(ping.Body, discordfake.Sign(priv, old, ping.Body), old); got != 200 {
		t.Errorf("4-minute-old request: %d, want 200", got)
	}
	resp, err := e.srv.Client().Get(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	// Refusals were logged, without the key.
	if !contains(e.logBuf.String(), "discord interaction refused") {
		t.Error("no refusal logged")
	}
}

func TestSlowVerbOverEndpointIsDeferredThenEdited(t *testing.T) {
	e := newEnv(t, "http")
	// Over a socket: the answer reaches the fake, the edit follows.
	in := e.fake.NewCommand(alice, channel, discordfake.Sub("slow"))
	code, body := e.deliver(in)
	if code != 200 || body["type"] != float64(5) {
		t.Fatalf("initial response %d %v, want deferred (type 5)", code, body)
	}
	eventually(t, "the edit of @original", func() bool { return hasEvent(e.interaction(in.Token), "edit") })
	got := e.interaction(in.Token)
	if got.Original == nil || !contains(got.Original.Text(), "slow done for alice") {
		t.Fatalf("@original = %+v, want the verb's answer", got.Original)
	}
	if c := e.lastCall(); c == nil || c.Req.User != alice.ID || c.Req.Platform != "discord" || c.Req.Channel != channel || len(c.Req.Roles) != 1 {
		t.Errorf("request = %+v", c.Req)
	}

	// In process, where the moment the answer was sent is exact: not one
	// edit may come before it.
	for i := 0; i < 20; i++ {
		in := e.fake.NewCommand(alice, channel, discordfake.Sub("slow"))
		code, _ := e.fake.DeliverHandler(e.a.Handler(), priv, e.now, in)
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		eventually(t, "the edit of @original", func() bool { return hasEvent(e.interaction(in.Token), "edit") })
		if got := e.interaction(in.Token); strings.Join(got.Events, ",") != "callback 5,edit" || got.EarlyEdits != 0 {
			t.Fatalf("events %v, early edits %d: the deferred response must come first", got.Events, got.EarlyEdits)
		}
	}
}

func TestFastVerbAnswersInlineEphemeral(t *testing.T) {
	e := newEnv(t, "http")
	in := e.fake.NewCommand(bob, channel, discordfake.Sub("help"))
	code, body := e.deliver(in)
	if code != 200 || body["type"] != float64(4) {
		t.Fatalf("initial response %d %v, want an inline message (type 4)", code, body)
	}
	if dig(body, "data", "flags") != float64(64) {
		t.Errorf("help should be ephemeral: %v", body["data"])
	}
	b, _ := json.Marshal(body)
	if !contains(string(b), "boom") || !contains(string(b), "logs") {
		t.Errorf("help lists no verbs: %s", b)
	}
}

func TestRefusalIsEphemeralAndAudited(t *testing.T) {
	e := newEnv(t, "http")
	in := e.fake.NewCommand(bob, channel, discordfake.Sub("boom", discordfake.Str("target", "api")))
	_, body := e.deliver(in)
	if body["type"] != float64(4) || dig(body, "data", "flags") != float64(64) {
		t.Fatalf("refusal %v, want an ephemeral message", body)
	}
	if b, _ := json.Marshal(body); !contains(string(b), "you may not run boom") {
		t.Errorf("refusal text: %s", b)
	}
	rows, err := e.reg.Store.RecentAudit(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0].Result != "denied" || rows[0].UserID != bob.ID || rows[0].Platform != "discord" || rows[0].Text != "boom api" {
		t.Errorf("audit rows %+v, want a denied row for bob", rows)
	}
}

// A command from a channel outside channels.allow, slow verbs included, is
// refused inline and ephemeral (no public "thinking…" in that channel),
// with an audit row; the same verb in an allowed channel runs.
func TestChannelOutsideAllowlistIsRefusedInline(t *testing.T) {
	e := newEnv(t, "http")
	e.setCfg(func(c *config.Config) { c.Channels.Allow = []string{"discord:" + channel} })
	const elsewhere = "600000000000000099"
	for _, verb := range []string{"slow", "help"} {
		in := e.fake.NewCommand(alice, elsewhere, discordfake.Sub(verb))
		code, body := e.deliver(in)
		if code != 200 || body["type"] != float64(4) || dig(body, "data", "flags") != float64(64) {
			t.Fatalf("%s from %s: %d %v, want an inline ephemeral refusal", verb, elsewhere, code, body)
		}
		if b, _ := json.Marshal(body); !contains(string(b), "commands are not accepted in this channel") {
			t.Errorf("%s: refusal %s", verb, b)
		}
	}
	if c := e.lastCall(); c != nil {
		t.Fatalf("a refused verb ran: %+v", c.Req)
	}
	rows, err := e.reg.Store.RecentAudit(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("audit rows %+v, want two", rows)
	}
	for _, r := range rows {
		if r.Result != "denied" || r.Detail != "channel not allowed" || r.Channel != elsewhere || r.UserID != alice.ID {
			t.Errorf("audit row %+v", r)
		}
	}
	in := e.fake.NewCommand(alice, channel, discordfake.Sub("slow"))
	if _, body := e.deliver(in); body["type"] != float64(5) {
		t.Fatalf("slow verb in the allowed channel: %v, want deferred", body)
	}
	eventually(t, "the edit of @original", func() bool { return hasEvent(e.interaction(in.Token), "edit") })
}

func TestTypedOptionsBecomeWords(t *testing.T) {
	e := newEnv(t, "http")
	in := e.fake.NewCommand(alice, channel, discordfake.Group("logs", discordfake.Sub("search",
		discordfake.Str("pattern", "LLM API Error"), discordfake.Str("file", "app"), discordfake.Bool("regex", false), discordfake.Int("limit", 20))))
	e.deliver(in)
	eventually(t, "the search answer", func() bool { return hasEvent(e.interaction(in.Token), "edit") })
	c := e.lastCall()
	if c.Path != "logs search" || c.Arg(0) != "LLM API Error" || c.Flag("file") != "app" || c.Has("regex") || c.Flag("limit") != "20" {
		t.Errorf("call = path %q args %q flags %v", c.Path, c.Args, c.Flags)
	}
	if c.Req.Text != `logs search "LLM API Error" --file app --limit 20` {
		t.Errorf("audit text %q", c.Req.Text)
	}
	// A pattern that looks like a flag is sent after "--", so it stays a pattern.
	in = e.fake.NewCommand(alice, channel, discordfake.Group("logs", discordfake.Sub("search", discordfake.Str("pattern", "-v"), discordfake.Int("context", 3))))
	if _, body := e.deliver(in); body["type"] != float64(5) {
		t.Fatalf("dashed pattern answered %v", body)
	}
	eventually(t, "the second answer", func() bool { return hasEvent(e.interaction(in.Token), "edit") })
	if c := e.lastCall(); c.Arg(0) != "-v" || c.Flag("context") != "3" || c.Req.Text != "logs search --context 3 -- -v" {
		t.Errorf("dashed pattern: args %q flags %v text %q", c.Args, c.Flags, c.Req.Text)
	}
	// Inline: logs tail with an integer.
	in = e.fake.NewCommand(alice, channel, discordfake.Group("logs", discordfake.Sub("tail", discordfake.Str("name", "nginx"), discordfake.Int("n", 5))))
	_, body := e.deliver(in)
	if b, _ := json.Marshal(body); !contains(string(b), "tail nginx 5") {
		t.Errorf("tail answer %s", b)
	}
}

func TestConfirmButtonRunsOnce(t *testing.T) {
	e := newEnv(t, "http")
	in := e.fake.NewCommand(alice, channel, discordfake.Sub("boom", discordfake.Str("target", "api")))
	_, body := e.deliver(in)
	if body["type"] != float64(4) {
		t.Fatalf("boom answered %v, want a confirmation message", body)
	}
	prompt := e.interaction(in.Token).Original
	btns := discordfake.Buttons(prompt.Components)
	if len(btns) != 2 || !strings.HasPrefix(btns[0].CustomID, "confirm:") || btns[0].Style != 4 || !strings.HasPrefix(btns[1].CustomID, "cancel:") {
		t.Fatalf("buttons %+v, want confirm (danger) and cancel", btns)
	}
	if e.booms.Load() != 0 {
		t.Fatal("boom ran before the click")
	}

	// Someone without the role is refused privately; the buttons stay.
	click := e.fake.NewClick(bob, channel, prompt.ID, btns[0].CustomID)
	_, body = e.deliver(click)
	if body["type"] != float64(4) || dig(body, "data", "flags") != float64(64) || e.booms.Load() != 0 {
		t.Fatalf("bob's click: %v, booms %d", body, e.booms.Load())
	}

	click = e.fake.NewClick(alice, channel, prompt.ID, btns[0].CustomID)
	_, body = e.deliver(click)
	if body["type"] != float64(7) {
		t.Fatalf("click answered %v, want an update of the message (type 7)", body)
	}
	if e.booms.Load() != 1 {
		t.Fatalf("boom ran %d times, want 1", e.booms.Load())
	}
	msg, _ := e.fake.Message(prompt.ID)
	if !contains(msg.Text(), "boom ran on api") || !contains(msg.Text(), "confirmed by discord:"+alice.ID) || len(discordfake.Buttons(msg.Components)) != 0 {
		t.Errorf("updated message %q with %d buttons", msg.Text(), len(discordfake.Buttons(msg.Components)))
	}

	// A second click is refused and runs nothing.
	click = e.fake.NewClick(alice, channel, prompt.ID, btns[0].CustomID)
	_, body = e.deliver(click)
	if b, _ := json.Marshal(body); body["type"] != float64(4) || !contains(string(b), "already") {
		t.Errorf("second click: %s", b)
	}
	if e.booms.Load() != 1 {
		t.Errorf("boom ran %d times after a double click, want 1", e.booms.Load())
	}
}

// A click after the confirmation's time limit (confirm.ttl) is refused to
// the clicker alone, runs nothing, and leaves the prompt as it was.
func TestExpiredConfirmationIsRefused(t *testing.T) {
	e := newEnv(t, "http")
	var skew atomic.Int64 // the registry's clock runs ahead of the signatures'
	e.reg.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	in := e.fake.NewCommand(alice, channel, discordfake.Sub("boom", discordfake.Str("target", "api")))
	e.deliver(in)
	prompt := e.interaction(in.Token).Original
	btns := discordfake.Buttons(prompt.Components)
	if len(btns) != 2 {
		t.Fatalf("prompt buttons %+v", btns)
	}
	skew.Store(int64(e.cfgp.Load().Confirm.TTL + time.Second))
	_, body := e.deliver(e.fake.NewClick(alice, channel, prompt.ID, btns[0].CustomID))
	if b, _ := json.Marshal(body); body["type"] != float64(4) || dig(body, "data", "flags") != float64(64) || !contains(string(b), "expired") {
		t.Fatalf("late click answered %s, want an ephemeral refusal", b)
	}
	if e.booms.Load() != 0 {
		t.Fatal("an expired confirmation ran the verb")
	}
	if msg, _ := e.fake.Message(prompt.ID); len(discordfake.Buttons(msg.Components)) != 2 {
		t.Errorf("the prompt lost its buttons: %+v", msg)
	}
}

func TestProgressEditsTheDeferredAnswer(t *testing.T) {
	e := newEnv(t, "http")
	in := e.fake.NewCommand(alice, channel, discordfake.Sub("long"))
	e.deliver(in)
	eventually(t, "progress in @original", func() bool {
		o := e.interaction(in.Token).Original
		return o != nil && contains(o.Text(), "half way")
	})
	close(e.progress)
	eventually(t, "the final answer", func() bool {
		o := e.interaction(in.Token).Original
		return o != nil && contains(o.Text(), "long done")
	})
}

func TestGatewayInteractionIsDeferredThenEdited(t *testing.T) {
	e := newEnv(t, "gateway")
	e.run()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.fake.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.WaitHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "healthy", func() bool { ok, _ := e.a.Healthy(); return ok })

	in := e.fake.NewCommand(alice, channel, discordfake.Sub("slow"))
	if n := e.fake.Push(in); n != 1 {
		t.Fatalf("pushed to %d clients", n)
	}
	eventually(t, "the edit of @original", func() bool { return hasEvent(e.interaction(in.Token), "edit") })
	got := e.interaction(in.Token)
	if strings.Join(got.Events, ",") != "callback 5,edit" || got.EarlyEdits != 0 {
		t.Errorf("events %v, early edits %d: want the callback, then the edit", got.Events, got.EarlyEdits)
	}
	if !contains(got.Original.Text(), "slow done for alice") {
		t.Errorf("@original %q", got.Original.Text())
	}

	// A fast verb is answered by the callback itself.
	in = e.fake.NewCommand(bob, channel, discordfake.Sub("help"))
	e.fake.Push(in)
	eventually(t, "the help answer", func() bool { return e.interaction(in.Token).Initial == 4 })
	if got := e.interaction(in.Token); got.Callbacks != 1 || got.Original.Flags != 64 {
		t.Errorf("help over the gateway: %+v", got)
	}

	// A confirmation and its click, both over the Gateway.
	in = e.fake.NewCommand(alice, channel, discordfake.Sub("boom", discordfake.Str("target", "worker")))
	e.fake.Push(in)
	eventually(t, "the confirmation", func() bool { return e.interaction(in.Token).Initial == 4 })
	prompt := e.interaction(in.Token).Original
	click := e.fake.NewClick(alice, channel, prompt.ID, discordfake.Buttons(prompt.Components)[0].CustomID)
	e.fake.Push(click)
	eventually(t, "the click's update", func() bool { return e.interaction(click.Token).Initial == 7 })
	if msg, _ := e.fake.Message(prompt.ID); !contains(msg.Text(), "boom ran on worker") || e.booms.Load() != 1 {
		t.Errorf("after the click: %q, %d runs", msg.Text(), e.booms.Load())
	}
}

func TestRegistrationIsIdempotent(t *testing.T) {
	e := newEnv(t, "http")
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := e.a.Register(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cmds := e.fake.Commands(theGuild)
	if len(cmds) != 1 || cmds[0]["name"] != "ops" {
		t.Fatalf("guild commands %v, want one /ops", cmds)
	}
	if len(e.fake.Commands("")) != 0 {
		t.Error("guild registration also wrote global commands")
	}
	b, _ := json.Marshal(cmds[0])
	for _, want := range []string{`"name":"logs","options":[`, `"name":"search"`, `"name":"pattern"`, `"required":true`, `"autocomplete":true,"channel_types":null,"choices":null,"description":"log name","name":"file"`, `"name":"limit"`} {
		if !contains(string(b), want) {
			t.Errorf("command lacks %s: %s", want, b)
		}
	}
	puts := 0
	for _, r := range e.fake.Requests() {
		if r.Method == "PUT" {
			puts++
		}
	}
	if puts != 2 {
		t.Errorf("%d PUTs, want 2 bulk overwrites", puts)
	}

	e.setCfg(func(c *config.Config) { c.Discord.GuildID = "" })
	if err := e.a.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if len(e.fake.Commands("")) != 1 {
		t.Error("no global /ops without a guild id")
	}
}

func TestRefusedTokenDegradesWithoutFailing(t *testing.T) {
	e := newEnv(t, "gateway")
	e.setCfg(func(c *config.Config) { c.Secrets.DiscordBotToken = "not-the-token" })
	e.run()
	eventually(t, "degraded health", func() bool {
		ok, why := e.a.Healthy()
		return !ok && contains(why, "commands") && contains(why, "gateway")
	})
	_, why := e.a.Healthy()
	if contains(why, "not-the-token") {
		t.Errorf("health leaks the token: %s", why)
	}
	// Health is set before its log line is written: wait for the line of
	// each part, then check there is no more than one each.
	eventually(t, "a degraded line per part", func() bool { return strings.Count(e.logBuf.String(), "discord degraded") >= 2 })
	if n := strings.Count(e.logBuf.String(), "discord degraded"); n != 2 {
		t.Errorf("%d degraded lines, want one per part:\n%s", n, e.logBuf.String())
	}
	// The token is fixed: a later attempt succeeds and health recovers.
	e.setCfg(func(c *config.Config) { c.Secrets.DiscordBotToken = config.Secret(e.fake.Token) })
	eventually(t, "recovery", func() bool { ok, _ := e.a.Healthy(); return ok })
	if len(e.fake.Commands(theGuild)) != 1 {
		t.Error("commands not registered after recovery")
	}
}

func TestUnreachableDiscordDegrades(t *testing.T) {
	e := newEnv(t, "http")
	e.fake.Close()
	e.run()
	eventually(t, "degraded health", func() bool { ok, _ := e.a.Healthy(); return !ok })
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

func TestSlowConfirmedActionIsDeferredThenEdited(t *testing.T) {
	e := newEnv(t, "http")
	release := make(chan struct{})
	e.reg.MustRegister(&commands.Verb{Name: "wipe", Summary: "slow and dangerous", Access: policy.Dangerous, Slow: true,
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			<-release
			return commands.Text("wiped"), nil
		}})
	in := e.fake.NewCommand(alice, channel, discordfake.Sub("wipe"))
	if _, body := e.deliver(in); body["type"] != float64(4) {
		t.Fatalf("wipe answered %v, want the confirmation inline", body)
	}
	prompt := e.interaction(in.Token).Original
	// The click reaches a second replica with a short deadline: the action
	// blocks until released, so it overruns the deadline whatever the load.
	short := discord.New(func() *config.Config { return e.cfgp.Load() }, e.reg, slog.New(slog.NewTextHandler(e.logBuf, nil)), discord.WithHTTPClient(e.fake.Client()),
		discord.WithClock(func() time.Time { return e.now }), discord.WithAckDeadline(20*time.Millisecond))
	srv := httptest.NewServer(e.fake.Endpoint(short.Handler()))
	t.Cleanup(srv.Close)
	click := e.fake.NewClick(alice, channel, prompt.ID, discordfake.Buttons(prompt.Components)[0].CustomID)
	_, raw, err := e.fake.Deliver(context.Background(), srv.Client(), srv.URL, priv, e.now, click)
	var body map[string]any
	if err == nil {
		err = json.Unmarshal(raw, &body)
	}
	if err != nil || body["type"] != float64(6) {
		t.Fatalf("slow click answered %s (%v), want a deferred update (type 6)", raw, err)
	}
	close(release)
	eventually(t, "the edit of the clicked message", func() bool { return hasEvent(e.interaction(click.Token), "edit") })
	msg, _ := e.fake.Message(prompt.ID)
	if !contains(msg.Text(), "wiped") || len(discordfake.Buttons(msg.Components)) != 0 {
		t.Errorf("message after the slow action: %q, %d buttons", msg.Text(), len(discordfake.Buttons(msg.Components)))
	}
}

func TestSlowVerbRefusalTurnsEphemeral(t *testing.T) {
	e := newEnv(t, "http")
	e.reg.MustRegister(&commands.Verb{Name: "vault", Summary: "slow and restricted", Access: policy.Operate, Slow: true,
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			return commands.Text("classified"), nil
		}}, &commands.Verb{Name: "lookup", Access: policy.Read, Summary: "slow, refuses from inside", Slow: true,
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			return commands.Response{}, commands.Errorf("nothing found for that")
		}})
	// A refusal the registry knows before running (no role) is answered
	// inline and privately: no public placeholder at all.
	in := e.fake.NewCommand(bob, channel, discordfake.Sub("vault"))
	_, body := e.deliver(in)
	data, _ := body["data"].(map[string]any)
	if body["type"] != float64(4) || data == nil || data["flags"] != float64(64) || !strings.Contains(fmt.Sprint(data["embeds"]), "you may not run vault") {
		t.Fatalf("answered %v, want an inline private refusal", body)
	}
	// A refusal found only while running comes after the deferral: the
	// public placeholder goes and the refusal is private.
	in = e.fake.NewCommand(bob, channel, discordfake.Sub("lookup"))
	if _, body := e.deliver(in); body["type"] != float64(5) {
		t.Fatalf("answered %v, want deferred", body)
	}
	eventually(t, "the follow-up", func() bool { return hasEvent(e.interaction(in.Token), "followup") })
	got := e.interaction(in.Token)
	if strings.Join(got.Events, ",") != "callback 5,delete,followup" {
		t.Errorf("events %v: the public placeholder goes, the refusal is private", got.Events)
	}
	if f := got.Followups[0]; f.Flags != 64 || !contains(f.Text(), "nothing found for that") {
		t.Errorf("follow-up %+v", f)
	}
}

func TestDirectMessageAndOversizedBody(t *testing.T) {
	e := newEnv(t, "http")
	dm := bob
	dm.DM = true
	in := e.fake.NewCommand(dm, "610000000000000001", discordfake.Sub("slow"))
	e.deliver(in)
	eventually(t, "the DM answer", func() bool { return hasEvent(e.interaction(in.Token), "edit") })
	if c := e.lastCall(); c.Req.User != bob.ID || c.Req.UserName != "bob" || len(c.Req.Roles) != 0 {
		t.Errorf("DM request %+v", c.Req)
	}
	e.setCfg(func(c *config.Config) { c.HTTP.MaxBodyBytes = 1024 })
	big := e.fake.NewCommand(alice, channel, discordfake.Sub("help", discordfake.Str("verb", strings.Repeat("x", 4096))))
	if code, _ := e.deliver(big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", code)
	}
}

func TestAnswerWithFileGoesByEdit(t *testing.T) {
	e := newEnv(t, "http")
	e.reg.MustRegister(&commands.Verb{Name: "chart", Access: policy.Read, Summary: "a chart",
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			return commands.Response{Message: chat.Message{Title: "CPU", Files: []chat.File{{Name: "cpu.png", Mime: "image/png", Data: []byte("\x89PNG fake")}}}}, nil
		}})
	in := e.fake.NewCommand(alice, channel, discordfake.Sub("chart"))
	if _, body := e.deliver(in); body["type"] != float64(5) {
		t.Fatalf("answered %v: files go by a deferred edit", body)
	}
	eventually(t, "the edit", func() bool { return hasEvent(e.interaction(in.Token), "edit") })
	o := e.interaction(in.Token).Original
	if len(o.Files) != 1 || o.Files[0].Name != "cpu.png" || string(o.Files[0].Data) != "\x89PNG fake" {
		t.Errorf("files %+v", o.Files)
	}
}
