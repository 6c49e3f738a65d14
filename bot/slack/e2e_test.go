package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/bot/slack/slackfake"
	"opsbot/config"
)

// A slow verb is acknowledged with an ephemeral "working…" while the verb
// is still blocked; progress and the answer arrive at the response_url.
func TestSlashSlowVerbOverHTTP(t *testing.T) {
	e := newEnv(t, nil, WithProgressInterval(0))
	ctx := ctxT(t)
	res := e.signed(CommandsPath, e.slash("UADMIN", "status", "r1").Encode())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	ack := decode(t, res.Body)
	if ack["response_type"] != "ephemeral" || !strings.Contains(ack["text"].(string), "working on `/ops status`") {
		t.Fatalf("ack = %v", ack)
	}
	// The verb reports progress before it blocks.
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("r1")) == 1 }); err != nil {
		t.Fatal(err)
	}
	prog := decodeRaw(t, e.fake.Responses("r1")[0])
	if prog["replace_original"] != true || !strings.Contains(prog["text"].(string), "probing targets") {
		t.Fatalf("progress = %v", prog)
	}
	close(e.release)
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("r1")) == 2 }); err != nil {
		t.Fatal(err)
	}
	final := decodeRaw(t, e.fake.Responses("r1")[1])
	if final["response_type"] != "in_channel" || !strings.Contains(string(e.fake.Responses("r1")[1]), "all green") {
		t.Fatalf("final = %v", final)
	}
	if n := len(e.fake.Messages()); n != 0 {
		t.Fatalf("%d messages posted to the channel; the response_url had uses left", n)
	}
}

func TestSlashFastVerbInline(t *testing.T) {
	e := newEnv(t, nil)
	res := e.signed(CommandsPath, e.slash("UADMIN", "ping", "r1").Encode())
	got := decode(t, res.Body)
	if got["response_type"] != "in_channel" || got["text"] != "pong" {
		t.Fatalf("inline answer = %v", got)
	}
	res = e.signed(CommandsPath, e.slash("UADMIN", "frobnicate", "r2").Encode())
	got = decode(t, res.Body)
	if got["response_type"] != "ephemeral" || !strings.Contains(got["text"].(string), `unknown command "frobnicate"`) {
		t.Fatalf("refusal = %v", got)
	}
	if len(e.fake.Responses("r1"))+len(e.fake.Responses("r2")) != 0 {
		t.Fatal("fast answers also went to response_url")
	}
}

// A fast verb that overruns the inline budget is moved to response_url.
func TestSlashFastVerbOverBudget(t *testing.T) {
	e := newEnv(t, nil, WithFastBudget(time.Millisecond))
	block := make(chan struct{})
	e.reg.MustRegister((&commandsVerbBlocking{block}).verb())
	res := e.signed(CommandsPath, e.slash("UADMIN", "hang", "r1").Encode())
	if got := decode(t, res.Body); got["response_type"] != "ephemeral" || !strings.Contains(got["text"].(string), "working") {
		t.Fatalf("ack = %v", got)
	}
	close(block)
	if err := e.fake.Await(ctxT(t), func() bool { return len(e.fake.Responses("r1")) == 1 }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(e.fake.Responses("r1")[0]), "done at last") {
		t.Fatalf("answer = %s", e.fake.Responses("r1")[0])
	}
}

// The confirm button runs the dangerous verb once: a click without the
// role is refused (only the clicker sees it; the prompt stays), two
// simultaneous clicks run it once, and the prompt is replaced by the result.
func TestConfirmClickRunsOnce(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	res := e.signed(CommandsPath, e.slash("UADMIN", "restart api", "r0").Encode())
	prompt := decode(t, res.Body)
	if prompt["response_type"] != "in_channel" {
		t.Fatalf("prompt = %v", prompt)
	}
	token := buttonValue(t, prompt, "confirm")
	if e.runs.Load() != 0 {
		t.Fatal("verb ran before confirmation")
	}

	res = e.signed(InteractionsPath, url.Values{"payload": {e.click("UNOBODY", "confirm", token, "rx")}}.Encode())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("click status %d", res.StatusCode)
	}
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("rx")) == 1 }); err != nil {
		t.Fatal(err)
	}
	refusal := decodeRaw(t, e.fake.Responses("rx")[0])
	if refusal["response_type"] != "ephemeral" || refusal["replace_original"] != false || !strings.Contains(refusal["text"].(string), "may not confirm") {
		t.Fatalf("refusal = %v", refusal)
	}
	if e.runs.Load() != 0 {
		t.Fatal("verb ran for a user without the role")
	}

	var wg sync.WaitGroup
	for _, id := range []string{"c1", "c2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.signed(InteractionsPath, url.Values{"payload": {e.click("UADMIN", "confirm", token, id)}}.Encode())
		}()
	}
	wg.Wait()
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("c1"))+len(e.fake.Responses("c2")) == 2 }); err != nil {
		t.Fatal(err)
	}
	if n := e.runs.Load(); n != 1 {
		t.Fatalf("dangerous verb ran %d times, want 1", n)
	}
	var replaced, refused int
	for _, id := range []string{"c1", "c2"} {
		m := decodeRaw(t, e.fake.Responses(id)[0])
		body := string(e.fake.Responses(id)[0])
		switch {
		case m["replace_original"] == true && strings.Contains(body, "restarted api (run 1)") && strings.Contains(body, "confirmed by slack:UADMIN"):
			replaced++
		case m["replace_original"] != true && strings.Contains(body, "already"):
			refused++
		default:
			t.Fatalf("unexpected answer to %s: %s", id, body)
		}
	}
	if replaced != 1 || refused != 1 {
		t.Fatalf("replaced %d, refused %d; want 1 and 1", replaced, refused)
	}
	// A later click is refused too and still runs nothing.
	e.signed(InteractionsPath, url.Values{"payload": {e.click("UOTHER", "confirm", token, "c3")}}.Encode())
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("c3")) == 1 }); err != nil {
		t.Fatal(err)
	}
	if n := e.runs.Load(); n != 1 || !strings.Contains(string(e.fake.Responses("c3")[0]), "already") {
		t.Fatalf("late click: runs %d, answer %s", n, e.fake.Responses("c3")[0])
	}
}

// A click after the confirmation's time limit (confirm.ttl) is refused to
// the clicker alone and runs nothing; the prompt stays as it was.
func TestExpiredConfirmationIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	var skew atomic.Int64 // the registry's clock runs ahead of the signatures'
	e.reg.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	ctx := ctxT(t)
	token := buttonValue(t, decode(t, e.signed(CommandsPath, e.slash("UADMIN", "restart api", "r0").Encode()).Body), "confirm")
	skew.Store(int64(e.cfg.Confirm.TTL + time.Second))
	e.signed(InteractionsPath, url.Values{"payload": {e.click("UADMIN", "confirm", token, "c1")}}.Encode())
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("c1")) == 1 }); err != nil {
		t.Fatal(err)
	}
	got := decodeRaw(t, e.fake.Responses("c1")[0])
	if got["response_type"] != "ephemeral" || got["replace_original"] == true || !strings.Contains(got["text"].(string), "expired") {
		t.Fatalf("late click answered %v", got)
	}
	if e.runs.Load() != 0 {
		t.Fatal("an expired confirmation ran the verb")
	}
}

func TestTwoPersonRule(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Confirm.TwoPerson = []string{"restart"} })
	ctx := ctxT(t)
	token := buttonValue(t, decode(t, e.signed(CommandsPath, e.slash("UADMIN", "restart api", "r0").Encode()).Body), "confirm")
	e.signed(InteractionsPath, url.Values{"payload": {e.click("UADMIN", "confirm", token, "c1")}}.Encode())
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("c1")) == 1 }); err != nil {
		t.Fatal(err)
	}
	if e.runs.Load() != 0 || !strings.Contains(string(e.fake.Responses("c1")[0]), "second person") {
		t.Fatalf("requester confirmed own request: %s", e.fake.Responses("c1")[0])
	}
	e.signed(InteractionsPath, url.Values{"payload": {e.click("UOTHER", "confirm", token, "c2")}}.Encode())
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("c2")) == 1 }); err != nil {
		t.Fatal(err)
	}
	if e.runs.Load() != 1 {
		t.Fatalf("second person's confirmation ran %d times", e.runs.Load())
	}
}

// When the response_url is spent (Slack says used_url) or older than 30
// minutes, the answer is posted to the channel instead.
func TestAnswerFallsBackToChannel(t *testing.T) {
	t.Run("used up", func(t *testing.T) {
		e := newEnv(t, nil)
		for range 5 {
			res, err := http.Post(e.fake.ResponseURL("r1"), "application/json", strings.NewReader(`{"text":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
		e.signed(CommandsPath, e.slash("UADMIN", "status", "r1").Encode())
		close(e.release)
		if err := e.fake.Await(ctxT(t), func() bool { return len(e.fake.Messages()) == 1 }); err != nil {
			t.Fatal(err)
		}
		m := e.fake.Messages()[0]
		if m.Channel != "C0OPS" || !strings.Contains(string(m.Attachments)+string(m.Blocks), "all green") {
			t.Fatalf("channel post = %+v", m)
		}
	})
	t.Run("expired by clock", func(t *testing.T) {
		e := newEnv(t, nil)
		e.signed(CommandsPath, e.slash("UADMIN", "status", "r1").Encode())
		if err := e.fake.Await(ctxT(t), func() bool { return len(e.fake.Responses("r1")) == 1 }); err != nil {
			t.Fatal(err) // progress went out while the url was fresh
		}
		e.clock.Add(31 * time.Minute)
		close(e.release)
		if err := e.fake.Await(ctxT(t), func() bool { return len(e.fake.Messages()) == 1 }); err != nil {
			t.Fatal(err)
		}
		if n := len(e.fake.Responses("r1")); n != 1 {
			t.Fatalf("%d uses of an expired response_url", n)
		}
	})
}

// Progress never takes the last use of a response_url: the answer gets it.
func TestProgressLeavesLastUse(t *testing.T) {
	e := newEnv(t, nil, WithProgressInterval(0))
	e.reg.MustRegister(chattyVerb{}.verb())
	e.signed(CommandsPath, e.slash("UADMIN", "chatty", "r1").Encode())
	if err := e.fake.Await(ctxT(t), func() bool {
		rs := e.fake.Responses("r1")
		return len(rs) > 0 && strings.Contains(string(rs[len(rs)-1]), "finished")
	}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.Responses("r1")); n != responseURLUses {
		t.Fatalf("%d uses, want %d (4 progress + answer)", n, responseURLUses)
	}
}

func TestSocketMode(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Secrets.SlackAppToken = slackfake.AppToken
		c.Secrets.SlackSigningSecret = ""
	})
	ctx := ctxT(t)
	e.run()
	if err := e.fake.Await(ctx, func() bool { return e.fake.Connected() == 1 }); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "healthy", func() bool { ok, _ := e.a.Healthy(); return ok })

	id, err := e.fake.SendSlash(e.slash("UADMIN", "ping", "s0"))
	if err != nil {
		t.Fatal(err)
	}
	ack, err := e.fake.Ack(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m := decodeRaw(t, ack); m["text"] != "pong" || m["response_type"] != "in_channel" {
		t.Fatalf("fast ack = %s", ack)
	}

	id, err = e.fake.SendSlash(e.slash("UADMIN", "status", "s1"))
	if err != nil {
		t.Fatal(err)
	}
	if ack, err = e.fake.Ack(ctx, id); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack), "working on") {
		t.Fatalf("slow ack = %s", ack)
	}
	close(e.release)
	if err := e.fake.Await(ctx, func() bool {
		rs := e.fake.Responses("s1")
		return len(rs) > 0 && strings.Contains(string(rs[len(rs)-1]), "all green")
	}); err != nil {
		t.Fatal(err)
	}

	id, _ = e.fake.SendSlash(e.slash("UADMIN", "restart api", "s2"))
	if ack, err = e.fake.Ack(ctx, id); err != nil {
		t.Fatal(err)
	}
	token := buttonValue(t, decodeRaw(t, ack), "confirm")
	for _, rid := range []string{"c1", "c2"} {
		id, err := e.fake.SendInteraction(json.RawMessage(e.click("UADMIN", "confirm", token, rid)))
		if err != nil {
			t.Fatal(err)
		}
		if ack, err := e.fake.Ack(ctx, id); err != nil || string(ack) != "null" {
			t.Fatalf("click ack %s, %v", ack, err)
		}
	}
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("c1"))+len(e.fake.Responses("c2")) == 2 }); err != nil {
		t.Fatal(err)
	}
	if n := e.runs.Load(); n != 1 {
		t.Fatalf("dangerous verb ran %d times over socket mode", n)
	}
	// The two clicks race (socket mode hands each to its own goroutine):
	// either may win, and the other is told it was already handled or confirmed.
	won, told := 0, 0
	for _, rid := range []string{"c1", "c2"} {
		a := string(e.fake.Responses(rid)[0])
		won += btoi(strings.Contains(a, "restarted api"))
		told += btoi(strings.Contains(a, "already"))
	}
	if won != 1 || told != 1 {
		t.Fatalf("click answers: %s / %s", e.fake.Responses("c1")[0], e.fake.Responses("c2")[0])
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A refused app-level token leaves Run running and degraded; when the token
// is accepted it connects and reports healthy.
func TestSocketModeDegradedThenRecovers(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Secrets.SlackAppToken = "xapp-wrong" })
	ctx := ctxT(t)
	e.run()
	poll(t, ctx, "degraded", func() bool {
		ok, why := e.a.Healthy()
		return !ok && strings.Contains(why, "socket")
	})
	e.fake.SetTokens(slackfake.BotToken, "xapp-wrong")
	if err := e.fake.Await(ctx, func() bool { return e.fake.Connected() == 1 }); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "healthy", func() bool { ok, _ := e.a.Healthy(); return ok })
}

func TestHTTPModeDegradedThenRecovers(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Secrets.SlackBotToken = "xoxb-wrong" })
	ctx := ctxT(t)
	e.run()
	poll(t, ctx, "degraded", func() bool {
		ok, why := e.a.Healthy()
		return !ok && strings.Contains(why, "invalid_auth")
	})
	e.fake.SetTokens("xoxb-wrong", slackfake.AppToken)
	poll(t, ctx, "healthy", func() bool { ok, _ := e.a.Healthy(); return ok })
}

// Run returns on cancellation only after the work it started has stopped:
// the slow verb sees its context end.
func TestRunStopsBackgroundWork(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.a.Run(ctx) }()
	e.signed(CommandsPath, e.slash("UADMIN", "status", "r1").Encode())
	if err := e.fake.Await(ctxT(t), func() bool { return len(e.fake.Responses("r1")) == 1 }); err != nil {
		t.Fatal(err) // the verb is running and blocked
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctxT(t).Done():
		t.Fatal("Run did not return after cancellation")
	}
	// The user hears that the command was interrupted.
	if n := len(e.fake.Responses("r1")); n != 2 || !strings.Contains(string(e.fake.Responses("r1")[1]), "internal error") {
		t.Fatalf("answer after shutdown: %d responses, last %s", n, e.fake.Responses("r1")[n-1])
	}
	rows, err := e.store.RecentAudit(t.Context(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0].Verb != "status" || rows[0].Result != "failed" {
		t.Fatalf("audit of the cancelled verb: %+v", rows)
	}
}

// Refusals by the registry (channel outside the allowlist, a restricted
// verb without the role) reach the user as ephemeral answers, with an
// audit row each.
func TestRefusalsAreEphemeralAndAudited(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Channels.Allow = []string{"slack:C0OPS"} })
	form := e.slash("UADMIN", "ping", "r1")
	form.Set("channel_id", "C0RANDOM")
	got := decode(t, e.signed(CommandsPath, form.Encode()).Body)
	if got["response_type"] != "ephemeral" || !strings.Contains(got["text"].(string), "not accepted in this channel") {
		t.Fatalf("outside the allowlist: %v", got)
	}
	got = decode(t, e.signed(CommandsPath, e.slash("UNOBODY", "restart api", "r2").Encode()).Body)
	if got["response_type"] != "ephemeral" || !strings.Contains(got["text"].(string), "you may not run restart") {
		t.Fatalf("no role: %v", got)
	}
	rows, err := e.store.RecentAudit(t.Context(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Result != "denied" || rows[1].Result != "denied" || rows[0].UserID != "UNOBODY" || rows[1].Channel != "C0RANDOM" {
		t.Fatalf("audit rows %+v", rows)
	}
	if e.runs.Load() != 0 {
		t.Fatal("refused verb ran")
	}
}

// A slow verb from a channel outside the allowlist is refused inline, not
// acknowledged with "working…" first; from an allowed channel it is slow.
func TestSlowVerbOutsideAllowlistIsRefusedInline(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Channels.Allow = []string{"slack:C0OPS"} })
	form := e.slash("UADMIN", "status", "r1")
	form.Set("channel_id", "C0RANDOM")
	got := decode(t, e.signed(CommandsPath, form.Encode()).Body)
	if got["response_type"] != "ephemeral" || !strings.Contains(got["text"].(string), "commands are not accepted in this channel") {
		t.Fatalf("outside the allowlist: %v", got)
	}
	rows, err := e.store.RecentAudit(t.Context(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Verb != "status" || rows[0].Result != "denied" || rows[0].Channel != "C0RANDOM" || rows[0].Detail != "channel not allowed" {
		t.Fatalf("audit rows %+v", rows)
	}
	got = decode(t, e.signed(CommandsPath, e.slash("UADMIN", "status", "r2").Encode()).Body)
	if !strings.Contains(got["text"].(string), "working on `/ops status`") {
		t.Fatalf("from the allowed channel: %v, want working…", got)
	}
	close(e.release)
	// Progress, then the answer.
	if err := e.fake.Await(ctxT(t), func() bool { return len(e.fake.Responses("r2")) == 2 }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(e.fake.Responses("r2")[1]), "all green") {
		t.Fatalf("answer %s", e.fake.Responses("r2")[1])
	}
	if n := len(e.fake.Responses("r1")); n != 0 {
		t.Fatalf("%d later answers to the refused command", n)
	}
}

func TestMissingSigningSecretIsDegraded(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Secrets.SlackSigningSecret = "" })
	e.run()
	ctx := ctxT(t)
	poll(t, ctx, "degraded", func() bool {
		ok, why := e.a.Healthy()
		return !ok && strings.Contains(why, "SLACK_SIGNING_SECRET")
	})
	if res := e.signed(CommandsPath, e.slash("UADMIN", "ping", "r1").Encode()); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d without a signing secret", res.StatusCode)
	}
}
