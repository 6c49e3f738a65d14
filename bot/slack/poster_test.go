package slack

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"opsbot/bot/slack/slackfake"
	"opsbot/chat"
)

// A 429 with Retry-After: 1 is handed back as RetryAfterError and posts
// nothing; the next attempt after the wait posts exactly one message.
func TestPost429ThenSuccess(t *testing.T) {
	e := newEnv(t, nil)
	p := e.a.Poster()
	e.fake.Fail("chat.postMessage", slackfake.Failure{Status: http.StatusTooManyRequests, RetryAfter: "1"})
	msg := chat.Message{Title: "Disk almost full", Severity: chat.SevWarning, Text: "disk at 91 %", Key: "outbox-1"}
	_, err := p.Post(t.Context(), "C0ALERTS", msg)
	after, ok := chat.RetryAfter(err)
	if !ok || after != time.Second {
		t.Fatalf("first attempt: %v (retry after %v, %v); want retry after 1s", err, after, ok)
	}
	if errors.Is(err, chat.ErrPermanent) {
		t.Fatal("429 classified permanent")
	}
	if n := len(e.fake.Messages()); n != 0 {
		t.Fatalf("%d messages after a 429", n)
	}
	wait := time.NewTimer(after) // the caller's retry loop honours Retry-After
	<-wait.C
	ref, err := p.Post(t.Context(), "C0ALERTS", msg)
	if err != nil {
		t.Fatal(err)
	}
	msgs := e.fake.Messages()
	if len(msgs) != 1 || e.fake.Calls("chat.postMessage") != 2 {
		t.Fatalf("%d messages from %d calls, want 1 from 2", len(msgs), e.fake.Calls("chat.postMessage"))
	}
	if msgs[0].TS != ref.ID || ref.Channel != "C0ALERTS" || ref.Platform != "slack" {
		t.Fatalf("ref %+v for message %+v", ref, msgs[0])
	}
}

func TestPostFailuresClassified(t *testing.T) {
	e := newEnv(t, nil)
	p := e.a.Poster()
	e.fake.Missing("C0GONE")
	_, err := p.Post(t.Context(), "C0GONE", chat.Message{Text: "x"})
	if !errors.Is(err, chat.ErrPermanent) || !strings.Contains(err.Error(), "channel_not_found") {
		t.Fatalf("unknown channel: %v", err)
	}
	e.fake.Fail("chat.postMessage", slackfake.Failure{Error: "not_in_channel"})
	if _, err := p.Post(t.Context(), "C0OPS", chat.Message{Text: "x"}); !errors.Is(err, chat.ErrPermanent) {
		t.Fatalf("not_in_channel: %v", err)
	}
	e.fake.Fail("chat.postMessage", slackfake.Failure{Status: http.StatusServiceUnavailable})
	_, err = p.Post(t.Context(), "C0OPS", chat.Message{Text: "x"})
	if _, ra := chat.RetryAfter(err); err == nil || errors.Is(err, chat.ErrPermanent) || ra {
		t.Fatalf("503 should be plain retryable, got %v", err)
	}
	if ok, why := e.a.Healthy(); !ok || !strings.Contains(why, "channel C0GONE: channel_not_found") {
		t.Fatalf("channel errors: healthy %v, status %q; want healthy with the channel named", ok, why)
	}
	e.fake.SetTokens("xoxb-other", slackfake.AppToken)
	_, err = p.Post(t.Context(), "C0OPS", chat.Message{Text: "x"})
	if !errors.Is(err, chat.ErrPermanent) {
		t.Fatalf("invalid_auth: %v", err)
	}
	if ok, why := e.a.Healthy(); ok || !strings.Contains(why, "invalid_auth") {
		t.Fatalf("health after invalid_auth: %v %q", ok, why)
	}
	e.fake.SetTokens(slackfake.BotToken, slackfake.AppToken)
	if _, err := p.Post(t.Context(), "C0OPS", chat.Message{Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if ok, why := e.a.Healthy(); !ok {
		t.Fatalf("still degraded after a good post: %s", why)
	}
	if n := len(e.fake.Messages()); n != 1 {
		t.Fatalf("%d messages, want only the last", n)
	}
}

func TestPostReplyUpdateFilesFind(t *testing.T) {
	e := newEnv(t, nil)
	p := e.a.Poster()
	ctx := t.Context()
	ref, err := p.Post(ctx, "C0INC", chat.Message{Title: "Incident 7: API down", Severity: chat.SevCritical, Text: "stage: detected", Key: "outbox-7",
		Files: []chat.File{{Name: "postmortem.md", Mime: "text/markdown", Data: []byte("# Post-mortem\nroot cause: disk\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := p.Reply(ctx, ref, chat.Message{Text: "restarted api"})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Thread != ref.ID || reply.ID == ref.ID {
		t.Fatalf("reply ref %+v under %+v", reply, ref)
	}
	// A reply to a reply stays in the same thread.
	if r2, err := p.Reply(ctx, reply, chat.Message{Text: "healthy again"}); err != nil || r2.Thread != ref.ID {
		t.Fatalf("nested reply %+v, %v", r2, err)
	}
	if err := p.Update(ctx, ref, chat.Message{Title: "Incident 7: API down", Severity: chat.SevResolved, Text: "stage: resolved", Key: "outbox-7"}); err != nil {
		t.Fatal(err)
	}
	msgs := e.fake.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	if msgs[1].ThreadTS != ref.ID || msgs[2].ThreadTS != ref.ID {
		t.Fatalf("replies not threaded: %+v", msgs[1:])
	}
	if msgs[0].Edits != 1 || !strings.Contains(string(msgs[0].Attachments), "stage: resolved") || !strings.Contains(string(msgs[0].Attachments), "#2EB67D") {
		t.Fatalf("update not applied: %s", msgs[0].Attachments)
	}
	var md struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if err := json.Unmarshal(msgs[0].Metadata, &md); err != nil || md.EventType != "opsbot_outbox" || md.EventPayload["key"] != "outbox-7" {
		t.Fatalf("metadata %s (%v)", msgs[0].Metadata, err)
	}
	files := e.fake.Files()
	if len(files) != 1 || !files[0].Completed || files[0].Channel != "C0INC" || files[0].ThreadTS != ref.ID ||
		string(files[0].Data) != "# Post-mortem\nroot cause: disk\n" || files[0].Name != "postmortem.md" {
		t.Fatalf("file %+v", files)
	}

	// An update to a message without severity clears the coloured body.
	if err := p.Update(ctx, ref, chat.Message{Text: "archived"}); err != nil {
		t.Fatal(err)
	}
	if m := e.fake.Messages()[0]; string(m.Attachments) != "[]" || !strings.Contains(string(m.Blocks), "archived") {
		t.Fatalf("after plain update: blocks %s attachments %s", m.Blocks, m.Attachments)
	}

	found, ok, err := p.FindByKey(ctx, "C0INC", "outbox-7")
	if err != nil || !ok || found.ID != ref.ID || found.Channel != "C0INC" {
		t.Fatalf("FindByKey = %+v %v %v; want %+v", found, ok, err, ref)
	}
	if _, ok, err := p.FindByKey(ctx, "C0INC", "outbox-8"); ok || err != nil {
		t.Fatalf("unknown key found: %v %v", ok, err)
	}
	if err := p.Update(ctx, chat.Ref{Channel: "C0INC", ID: "1.2"}, chat.Message{Text: "x"}); !errors.Is(err, chat.ErrPermanent) {
		t.Fatalf("update of a missing message: %v", err)
	}
}

// Posts to one channel are paced: past the burst, a wait longer than the
// poster takes itself comes back as RetryAfterError without calling Slack.
func TestPacing(t *testing.T) {
	e := newEnv(t, nil, WithPace(time.Hour, 2))
	p := e.a.Poster()
	for range 2 {
		if _, err := p.Post(t.Context(), "C0OPS", chat.Message{Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := p.Post(t.Context(), "C0OPS", chat.Message{Text: "x"})
	if d, ok := chat.RetryAfter(err); !ok || d < 59*time.Minute {
		t.Fatalf("third post: %v", err)
	}
	if _, err := p.Post(t.Context(), "C0OTHER", chat.Message{Text: "x"}); err != nil {
		t.Fatalf("another channel is paced separately: %v", err)
	}
	if n := e.fake.Calls("chat.postMessage"); n != 3 {
		t.Fatalf("%d calls to Slack, want 3", n)
	}
}
