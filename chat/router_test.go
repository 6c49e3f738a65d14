package chat_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/bot/slack"
	"opsbot/bot/slack/slackfake"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/store"
)

// Everything posted through the router reaches Slack redacted: posts,
// edits, thread replies, fields and attached files.
func TestRouterRedactsWhatLeaves(t *testing.T) {
	ctx := context.Background()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	cfg := config.Default()
	cfg.Slack.APIURL = fake.APIURL()
	cfg.Secrets.SlackBotToken = slackfake.BotToken
	get := func() *config.Config { return cfg }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "opsbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	adapter := slack.New(get, commands.NewRegistry(get, st, log), log, slack.WithPace(time.Millisecond, 1000))
	router := chat.NewRouter()
	router.Set("slack", adapter.Poster())

	// An alert built from a log line, before any configuration is known:
	// the built-in rules apply.
	m := chat.Message{Title: "ERROR in app.log", Text: "login failed password=hunter2 user=7",
		Fields: []chat.Field{{Name: "line", Value: `{"password": "hunter2"}`}},
		Code:   "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
		Files:  []chat.File{{Name: "excerpt.txt", Mime: "text/plain", Data: []byte("redis://:hunter2@cache:6379\n")}}}
	ref, err := router.Post(ctx, "slack:C1", m)
	if err != nil {
		t.Fatal(err)
	}
	// A configured secret, known once the redactor is set.
	red := chat.NewRedactor([]string{"am-tok-Qw3rTy"}, nil)
	router.SetRedactor(func() *chat.Redactor { return red })
	if err := router.Update(ctx, ref, chat.Message{Text: "webhook token am-tok-Qw3rTy refused; 密码：hunter2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := router.Reply(ctx, ref, chat.Message{Text: "still AM-TOK-QW3RTY"}); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, msg := range append(fake.Messages(), fake.Updates()...) {
		fmt.Fprintf(&all, "%s %s %s\n", msg.Text, msg.Blocks, msg.Attachments)
	}
	for _, f := range fake.Files() {
		all.Write(f.Data)
	}
	got := all.String()
	for _, s := range []string{"hunter2", "eyJzdWIiOiIxIn0", "am-tok", "AM-TOK"} {
		if strings.Contains(got, s) {
			t.Errorf("%q reached Slack:\n%s", s, got)
		}
	}
	if n := strings.Count(got, "[REDACTED]"); n < 7 {
		t.Errorf("%d masks reached Slack, want at least 7:\n%s", n, got)
	}
	if len(fake.Files()) != 1 {
		t.Errorf("files %+v", fake.Files())
	}
}
