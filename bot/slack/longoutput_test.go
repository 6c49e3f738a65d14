package slack

import (
	"context"
	"strings"
	"testing"

	"opsbot/bot/slack/slackfake"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/policy"
)

// Output too long for Block Kit goes as output.txt through the three-step
// upload; the answer shows its start and says where the rest is.
func TestLongOutputArrivesAsFile(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	code := strings.Repeat("2024-05-01 12:00:00 ERROR LLM API Error: timeout\n", 600)
	e.reg.MustRegister(&commands.Verb{Name: "dump", Access: policy.Read, Summary: "long output",
		Run: func(context.Context, *commands.Call) (commands.Response, error) {
			return commands.Response{Message: chat.Message{Title: "search", Text: "600 matches", Code: code}}, nil
		}})
	ack := decode(t, e.signed(CommandsPath, e.slash("UADMIN", "dump", "r1").Encode()).Body)
	if !strings.Contains(ack["text"].(string), "working on") {
		t.Fatalf("ack %v: an answer with a file cannot go inline", ack)
	}
	if err := e.fake.Await(ctx, func() bool {
		fs := e.fake.Files()
		return len(e.fake.Responses("r1")) == 1 && len(fs) == 1 && fs[0].Completed
	}); err != nil {
		t.Fatal(err)
	}
	f := e.fake.Files()[0]
	if f.Name != "output.txt" || f.Channel != "C0OPS" || string(f.Data) != code {
		t.Fatalf("uploaded %s to %s, %d bytes; want output.txt with the whole output", f.Name, f.Channel, len(f.Data))
	}
	answer := string(e.fake.Responses("r1")[0])
	if !strings.Contains(answer, "attached as output.txt") || !strings.Contains(answer, "560 more lines") {
		t.Errorf("answer %s", answer[:min(len(answer), 400)])
	}
	if e.fake.Deletes("r1") != 1 {
		t.Errorf("deletes %d: the public answer takes away the private working note", e.fake.Deletes("r1"))
	}
}

// An upload Slack refuses is not claimed: the channel hears which file is
// missing and why, with its first lines.
func TestRefusedUploadIsShownInline(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	code := strings.Repeat("ERROR LLM API Error: timeout\n", 1000)
	e.fake.Fail("files.getUploadURLExternal", slackfake.Failure{Error: "file_uploads_disabled"})
	p := e.a.Poster()
	if _, err := p.Post(ctx, "C0ALERTS", chat.Message{Title: "logs search", Code: code}); err != nil {
		t.Fatal(err)
	}
	msgs := e.fake.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want the answer and the notice", len(msgs))
	}
	notice := msgs[1]
	if notice.ThreadTS != msgs[0].TS || !strings.Contains(notice.Text, "not attached: output.txt (Slack: file_uploads_disabled)") ||
		!strings.Contains(string(notice.Attachments)+string(notice.Blocks), "ERROR LLM API Error") {
		t.Errorf("notice %+v", notice)
	}
	if n := len(e.fake.Files()); n != 0 {
		t.Errorf("%d files", n)
	}
}

// A command longer than Slack sends is refused at once: no placeholder,
// nothing run.
func TestOverlongCommandRefusedBeforePlaceholder(t *testing.T) {
	e := newEnv(t, nil)
	ran := 0
	e.reg.MustRegister(&commands.Verb{Name: "count", Access: policy.Read, Summary: "counts its runs",
		Run: func(context.Context, *commands.Call) (commands.Response, error) {
			ran++
			return commands.Text("ran"), nil
		}})
	got := decode(t, e.signed(CommandsPath, e.slash("UADMIN", "count "+strings.Repeat("x", maxCommandBytes), "r1").Encode()).Body)
	if got["response_type"] != "ephemeral" || !strings.Contains(got["text"].(string), "command too long: 4102 bytes") {
		t.Fatalf("answer %v", got)
	}
	if n := len(e.fake.Responses("r1")); n != 0 || ran != 0 {
		t.Errorf("%d later answers, %d runs", n, ran)
	}
	// At the limit it reaches the registry (which finds a stray argument).
	got = decode(t, e.signed(CommandsPath, e.slash("UADMIN", "count "+strings.Repeat("x", maxCommandBytes-6), "r2").Encode()).Body)
	if strings.Contains(got["text"].(string), "command too long") {
		t.Errorf("at the limit: refused for its length")
	}
}
