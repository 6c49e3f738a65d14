package slack

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/policy"
)

// Slack's inline replies, response_url messages and edits carry no files:
// an answer's files are uploaded to the channel once the answer is out,
// for a slash command and for a confirm click alike.
func TestAnswerFilesAreUploaded(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	withFile := func(title, name, data string) commands.Handler {
		return func(context.Context, *commands.Call) (commands.Response, error) {
			return commands.Response{Message: chat.Message{Title: title, Text: "the full list is attached",
				Files: []chat.File{{Name: name, Mime: "text/plain", Data: []byte(data)}}}}, nil
		}
	}
	e.reg.MustRegister(
		&commands.Verb{Name: "report", Access: policy.Read, Summary: "answers with a file", Run: withFile("Report", "matches.txt", "line 1\nline 2\n")},
		&commands.Verb{Name: "purge", Summary: "dangerous, answers with a file", Access: policy.Dangerous, Run: withFile("Purged", "purge-output.txt", "removed 3\n")},
	)
	completed := func(n int) func() bool {
		return func() bool {
			fs := e.fake.Files()
			return len(fs) == n && fs[n-1].Completed
		}
	}

	got := decode(t, e.signed(CommandsPath, e.slash("UADMIN", "report", "r1").Encode()).Body)
	if !strings.Contains(got["text"].(string), "working on `/ops report`") {
		t.Fatalf("ack %v: an answer with files cannot go inline", got)
	}
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("r1")) == 1 && completed(1)() }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(e.fake.Responses("r1")[0]), "the full list is attached") {
		t.Fatalf("answer %s", e.fake.Responses("r1")[0])
	}
	if f := e.fake.Files()[0]; f.Name != "matches.txt" || f.Channel != "C0OPS" || string(f.Data) != "line 1\nline 2\n" {
		t.Fatalf("uploaded %+v", f)
	}

	token := buttonValue(t, decode(t, e.signed(CommandsPath, e.slash("UADMIN", "purge", "r2").Encode()).Body), "confirm")
	e.signed(InteractionsPath, url.Values{"payload": {e.click("UADMIN", "confirm", token, "c1")}}.Encode())
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Responses("c1")) == 1 && completed(2)() }); err != nil {
		t.Fatal(err)
	}
	if m := decodeRaw(t, e.fake.Responses("c1")[0]); m["replace_original"] != true || !strings.Contains(string(e.fake.Responses("c1")[0]), "Purged") {
		t.Fatalf("click answer %s", e.fake.Responses("c1")[0])
	}
	if f := e.fake.Files()[1]; f.Name != "purge-output.txt" || f.Channel != "C0OPS" || string(f.Data) != "removed 3\n" {
		t.Fatalf("uploaded %+v", f)
	}
	if n := len(e.fake.Messages()); n != 0 {
		t.Errorf("%d messages posted to the channel; the answers went through response_url", n)
	}
}
