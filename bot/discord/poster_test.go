package discord_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"opsbot/bot/discord"
	"opsbot/bot/discord/discordfake"
	"opsbot/chat"
	"opsbot/config"
)

const alerts = "600000000000000009"

func TestPostRendersEmbedWithSeverityAndFields(t *testing.T) {
	e := newEnv(t, "http")
	p := e.a.Poster()
	ref, err := p.Post(context.Background(), alerts, chat.Message{
		Title: "CPU high", Severity: chat.SevCritical, Text: "cpu 97% on api",
		Fields:  []chat.Field{{Name: "host", Value: "api-1", Inline: true}},
		Buttons: []chat.Button{{ID: "ack", Label: "Ack", Value: "17", Style: chat.StylePrimary}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Platform != "discord" || ref.Channel != alerts || ref.ID == "" {
		t.Fatalf("ref %+v", ref)
	}
	msgs := e.fake.Messages(alerts)
	if len(msgs) != 1 || len(msgs[0].Embeds) != 1 {
		t.Fatalf("messages %+v", msgs)
	}
	em := msgs[0].Embeds[0]
	if em.Title != "CPU high" || em.Color != 0xE74C3C || len(em.Fields) != 1 || em.Fields[0].Value != "api-1" {
		t.Errorf("embed %+v", em)
	}
	if b := discordfake.Buttons(msgs[0].Components); len(b) != 1 || b[0].CustomID != "ack:17" || b[0].Style != 1 {
		t.Errorf("buttons %+v", b)
	}
}

func TestRateLimitedPostDeliversOnce(t *testing.T) {
	e := newEnv(t, "http")
	p := e.a.Poster()
	e.fake.RateLimit("POST", "/channels/"+alerts+"/messages", 0.05, 1)
	m := chat.Message{Text: "disk 91%", Key: "outbox-7"}
	// The caller's retry loop: wait what Discord asked, try again.
	var ref chat.Ref
	var err error
	attempts := 0
	for attempts = 1; attempts <= 5; attempts++ {
		ref, err = p.Post(context.Background(), alerts, m)
		d, ok := chat.RetryAfter(err)
		if !ok {
			break
		}
		if attempts == 1 && d != 50*time.Millisecond {
			t.Errorf("retry after %s, want Discord's 50ms", d)
		}
		time.Sleep(d)
	}
	if err != nil {
		t.Fatal(err)
	}
	if attempts != 2 {
		t.Errorf("%d attempts, want 2 (429 then 200)", attempts)
	}
	if msgs := e.fake.Messages(alerts); len(msgs) != 1 || msgs[0].ID != ref.ID || msgs[0].Content != "disk 91%\n-# outbox outbox-7" {
		t.Errorf("messages %+v, want exactly one", msgs)
	}
}

func TestExhaustedBucketIsHandedBackNotSlept(t *testing.T) {
	e := newEnv(t, "http")
	p := e.a.Poster()
	// A 429 saying "wait 30 s" empties the bucket; the next call must not
	// sleep in discordgo but say how long to wait.
	e.fake.RateLimit("POST", "/channels/"+alerts+"/messages", 30, 1)
	if _, err := p.Post(context.Background(), alerts, chat.Message{Text: "a"}); err == nil {
		t.Fatal("429 not reported")
	}
	before := len(e.fake.Requests())
	start := time.Now()
	_, err := p.Post(context.Background(), alerts, chat.Message{Text: "b"})
	d, ok := chat.RetryAfter(err)
	if !ok || d < 25*time.Second || time.Since(start) > 5*time.Second {
		t.Fatalf("second post: %v (wait %s), took %s", err, d, time.Since(start))
	}
	if len(e.fake.Requests()) != before {
		t.Error("a request was sent into an exhausted bucket")
	}
}

func TestPermanentFailures(t *testing.T) {
	e := newEnv(t, "http")
	e.fake.Forbid("600000000000000066")
	_, err := e.a.Poster().Post(context.Background(), "600000000000000066", chat.Message{Text: "x"})
	if !errors.Is(err, chat.ErrPermanent) {
		t.Errorf("403: %v, want permanent", err)
	}
	e.setCfg(func(c *config.Config) { c.Secrets.DiscordBotToken = "wrong-token" })
	_, err = e.a.Poster().Post(context.Background(), alerts, chat.Message{Text: "x"})
	if !errors.Is(err, chat.ErrPermanent) {
		t.Errorf("401: %v, want permanent", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("error leaks the token: %v", err)
	}
	err = e.a.Poster().Update(context.Background(), chat.Ref{Platform: "discord", Channel: alerts, ID: "1"}, chat.Message{Text: "x"})
	if !errors.Is(err, chat.ErrPermanent) {
		t.Errorf("update with refused token: %v", err)
	}
	// A 502 is left to the caller to retry, once.
	e.setCfg(func(c *config.Config) { c.Secrets.DiscordBotToken = config.Secret(e.fake.Token) })
	e.fake.Inject(discordfake.Rule{Method: "POST", Path: "/messages", Status: 502, Body: `{"message":"bad gateway"}`})
	_, err = e.a.Poster().Post(context.Background(), alerts, chat.Message{Text: "x"})
	if err == nil || errors.Is(err, chat.ErrPermanent) {
		t.Errorf("502: %v, want a retryable error", err)
	}
	if n := len(e.fake.Messages(alerts)); n != 0 {
		t.Errorf("%d messages after a 502, want 0 (one attempt, no hidden retry)", n)
	}
}

func TestNonceMakesResendHarmless(t *testing.T) {
	e := newEnv(t, "http")
	p := e.a.Poster()
	m := chat.Message{Title: "Backup failed", Severity: chat.SevWarning, Key: "outbox-0000000000000000000000042"}
	r1, err := p.Post(context.Background(), alerts, m)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := p.Post(context.Background(), alerts, m)
	if err != nil {
		t.Fatal(err)
	}
	msgs := e.fake.Messages(alerts)
	if r1.ID != r2.ID || len(msgs) != 1 || msgs[0].Nonce == "" || len(msgs[0].Nonce) > 25 {
		t.Errorf("refs %s %s, messages %+v: a resend must return the first message", r1.ID, r2.ID, msgs)
	}
}

func TestReplyStartsThreadAndPostsInIt(t *testing.T) {
	e := newEnv(t, "http")
	p := e.a.Poster()
	ctx := context.Background()
	parent, err := p.Post(ctx, alerts, chat.Message{Title: "Incident 4: API down", Severity: chat.SevCritical})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := p.Reply(ctx, parent, chat.Message{Title: "Stage: investigating"})
	if err != nil {
		t.Fatal(err)
	}
	th, ok := e.fake.Thread(parent.ID)
	if !ok || th.ParentID != alerts || th.Archive != 1440 || th.Name != "Incident 4: API down" {
		t.Fatalf("thread %+v (found %v)", th, ok)
	}
	if r1.Thread != parent.ID || r1.Channel != alerts {
		t.Errorf("reply ref %+v", r1)
	}
	// A second reply, also through a new adapter that does not remember the
	// thread, lands in the same thread.
	if _, err := p.Reply(ctx, parent, chat.Message{Text: "restarted api"}); err != nil {
		t.Fatal(err)
	}
	if _, err := newEnvOn(t, e.fake, "http").a.Poster().Reply(ctx, parent, chat.Message{Text: "healthy again"}); err != nil {
		t.Fatal(err)
	}
	in := e.fake.Messages(parent.ID)
	if len(in) != 3 || in[1].Content != "restarted api" || in[2].Content != "healthy again" {
		t.Errorf("thread messages %+v", in)
	}
	// Replying to a reply stays in the thread; updating a reply edits it there.
	if _, err := p.Reply(ctx, r1, chat.Message{Text: "note"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Update(ctx, r1, chat.Message{Title: "Stage: mitigated", Severity: chat.SevOK}); err != nil {
		t.Fatal(err)
	}
	got, _ := e.fake.Message(r1.ID)
	if got.Edits != 1 || got.Embeds[0].Title != "Stage: mitigated" {
		t.Errorf("updated reply %+v", got)
	}
	if err := p.Update(ctx, parent, chat.Message{Title: "Incident 4: API down (resolved)", Severity: chat.SevResolved}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.fake.Message(parent.ID); got.Embeds[0].Title != "Incident 4: API down (resolved)" {
		t.Errorf("updated parent %+v", got)
	}
	if len(e.fake.Messages(alerts)) != 1 {
		t.Error("replies leaked into the channel")
	}
}

func TestLongOutputIsAttachedNotCut(t *testing.T) {
	e := newEnv(t, "http")
	p := e.a.Poster()
	code := strings.Repeat("2024-05-01 12:00:00 ERROR LLM API Error: timeout\n", 300)
	ref, err := p.Post(context.Background(), alerts, chat.Message{Title: "logs search", Text: "300 matches", Code: code})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := e.fake.Message(ref.ID)
	if len(m.Files) != 1 || m.Files[0].Name != "output.txt" || string(m.Files[0].Data) != code {
		t.Fatalf("files %+v, want the whole output attached", m.Files)
	}
	if !strings.Contains(m.Text(), "attached as output.txt") {
		t.Errorf("message does not say where the output went: %q", m.Text())
	}
	text := strings.Repeat("word ", 1500)
	ref, err = p.Post(context.Background(), alerts, chat.Message{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	m, _ = e.fake.Message(ref.ID)
	if len(m.Files) != 1 || m.Files[0].Name != "message.txt" || !strings.Contains(string(m.Files[0].Data), text) {
		t.Fatalf("long text: files %+v", m.Files)
	}
	// Updating replaces attachments instead of piling them up.
	if err := p.Update(context.Background(), ref, chat.Message{Text: "short now"}); err != nil {
		t.Fatal(err)
	}
	if m, _ = e.fake.Message(ref.ID); len(m.Files) != 0 || m.Content != "short now" {
		t.Errorf("after update: %q with %d files", m.Content, len(m.Files))
	}
}

// Recovery after a crash finds a message by the outbox key it carries (in
// a subtext line or the embed footer), scanning the window's history page
// by page.
func TestFindByKeyScansTheWindow(t *testing.T) {
	e := newEnv(t, "http")
	p := e.a.Poster().(*discord.Poster)
	ctx := context.Background()
	from := time.Now().Add(-time.Minute)
	for i := range 250 {
		if _, err := p.Post(ctx, alerts, chat.Message{Text: fmt.Sprintf("alert %d", i), Key: fmt.Sprint(1000 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	plain, err := p.Post(ctx, alerts, chat.Message{Text: "disk full", Key: "7"})
	if err != nil {
		t.Fatal(err)
	}
	embed, err := p.Post(ctx, alerts, chat.Message{Title: "CPU high", Severity: chat.SevCritical, Context: "api-1", Key: "8"})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"7": plain.ID, "8": embed.ID, "1000": ""} {
		got, ok, err := p.FindByKeyBetween(ctx, alerts, key, from, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatalf("key %s: %v", key, err)
		}
		if key == "1000" {
			// Found too: the first message of the window.
			want = e.fake.Messages(alerts)[0].ID
		}
		if !ok || got.ID != want {
			t.Errorf("key %s: found %+v %v, want %s", key, got, ok, want)
		}
	}
	if _, ok, err := p.FindByKeyBetween(ctx, alerts, "9", from, time.Now().Add(time.Minute)); ok || err != nil {
		t.Errorf("unknown key: %v %v", ok, err)
	}
	pages := 0
	for _, r := range e.fake.Requests() {
		if r.Method == "GET" && strings.HasSuffix(r.Path, "/channels/"+alerts+"/messages") {
			pages++
		}
	}
	// 7, 8 and 9 read three pages each (252 messages); 1000 one.
	if pages != 10 {
		t.Errorf("%d history pages read, want 10", pages)
	}
	if m := e.fake.Messages(alerts)[251]; m.Embeds[0].Footer == nil || !strings.HasSuffix(m.Embeds[0].Footer.Text, "outbox 8") {
		t.Errorf("embed footer %+v", m.Embeds[0].Footer)
	}
}
