package slack

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"opsbot/bot/slack/slackfake"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/policy"
)

// peek is a slow verb whose reply quotes logs, with the full excerpt
// attached: private unless --public.
var peek = &commands.Verb{Name: "peek", Summary: "quotes a log line", Access: policy.Read, Slow: true, Private: true,
	Flags: []commands.Flag{{Name: "public", Bool: true, Help: "show it to the channel"}},
	Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
		return commands.Response{Message: chat.Message{Text: "ERROR login failed password=hunter2 user=7",
			Files: []chat.File{{Name: "excerpt.txt", Mime: "text/plain", Data: []byte("password=hunter2\n")}}}}, nil
	}}

func TestPrivateReplyIsEphemeralUnlessPublic(t *testing.T) {
	e := newEnv(t, nil)
	e.reg.MustRegister(peek)
	ctx := ctxT(t)

	res := e.signed(CommandsPath, e.slash("UADMIN", "peek", "r1").Encode())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	if ack := decode(t, res.Body); ack["response_type"] != "ephemeral" {
		t.Fatalf("ack = %v", ack)
	}
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("r1")) == 1 }); err != nil {
		t.Fatal(err)
	}
	raw := string(e.fake.Responses("r1")[0])
	final := decodeRaw(t, e.fake.Responses("r1")[0])
	if final["response_type"] != "ephemeral" || final["replace_original"] != true {
		t.Fatalf("private answer = %v", final)
	}
	if strings.Contains(raw, "hunter2") || !strings.Contains(raw, "password=[REDACTED]") || !strings.Contains(raw, "excerpt.txt sent to you in your direct messages with opsbot") {
		t.Fatalf("private answer = %s", raw)
	}
	// Its file went to the user's direct message with the bot, redacted,
	// and to no channel.
	if fs := e.fake.Files(); len(fs) != 1 || !fs[0].Completed || fs[0].Channel != "DADMIN" || e.fake.DMUser("DADMIN") != "UADMIN" ||
		strings.Contains(string(fs[0].Data), "hunter2") || !strings.Contains(string(fs[0].Data), "password=") {
		t.Fatalf("private file: %+v", fs)
	}

	res = e.signed(CommandsPath, e.slash("UADMIN", "peek --public", "r2").Encode())
	if ack := decode(t, res.Body); ack["response_type"] != "ephemeral" {
		t.Fatalf("ack = %v", ack)
	}
	if err := e.fake.Await(ctx, func() bool {
		fs := e.fake.Files()
		return len(e.fake.Responses("r2")) == 1 && len(fs) == 2 && fs[1].Completed
	}); err != nil {
		t.Fatalf("public answer and its file: %v (files %d)", err, len(e.fake.Files()))
	}
	if public := decodeRaw(t, e.fake.Responses("r2")[0]); public["response_type"] != "in_channel" {
		t.Fatalf("public answer = %v", public)
	}
	// Only the public run uploaded its file to the channel, redacted.
	if f := e.fake.Files()[1]; f.Channel != "C0OPS" || strings.Contains(string(f.Data), "hunter2") {
		t.Fatalf("file %+v %q", f, f.Data)
	}
}

// When the direct message cannot be opened, the private answer says why
// and how to get the file, shows its start, and nothing reaches the
// channel.
func TestPrivateFileWhenTheDMIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	e.reg.MustRegister(peek)
	ctx := ctxT(t)
	e.fake.Fail("conversations.open", slackfake.Failure{Error: "missing_scope"})
	e.signed(CommandsPath, e.slash("UADMIN", "peek", "r1").Encode())
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("r1")) == 1 }); err != nil {
		t.Fatal(err)
	}
	raw := string(e.fake.Responses("r1")[0])
	if !strings.Contains(raw, "excerpt.txt could not be sent to your direct messages (Slack: missing_scope)") || !strings.Contains(raw, "--public") ||
		!strings.Contains(raw, "password=[REDACTED]") || strings.Contains(raw, "hunter2") {
		t.Fatalf("private answer = %s", raw)
	}
	if fs := e.fake.Files(); len(fs) != 0 {
		t.Fatalf("files uploaded: %+v", fs)
	}
}
