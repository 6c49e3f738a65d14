package discord_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"opsbot/bot/discord/discordfake"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/policy"
)

// Long command output that render moves into output.txt cannot ride on an
// inline answer: the interaction is deferred and the edit carries the file,
// listed in attachments as API v10 requires.
func TestLongOutputArrivesAsFile(t *testing.T) {
	e := newEnv(t, "http")
	code := strings.Repeat("2024-05-01 12:00:00 ERROR LLM API Error: timeout\n", 400)
	e.reg.MustRegister(&commands.Verb{Name: "dump", Access: policy.Read, Summary: "long output",
		Run: func(context.Context, *commands.Call) (commands.Response, error) {
			return commands.Response{Message: chat.Message{Title: "search", Text: "400 matches", Code: code}}, nil
		}})
	in := e.fake.NewCommand(alice, channel, discordfake.Sub("dump"))
	if _, body := e.deliver(in); body["type"] != float64(5) {
		t.Fatalf("answered %v: an answer with a file goes by a deferred edit", body)
	}
	eventually(t, "the edit", func() bool { return hasEvent(e.interaction(in.Token), "edit") })
	o := e.interaction(in.Token).Original
	if len(o.Files) != 1 || o.Files[0].Name != "output.txt" || string(o.Files[0].Data) != code {
		t.Fatalf("files %+v: want output.txt with the whole output", o.Files)
	}
	if !strings.Contains(o.Text(), "attached as output.txt") {
		t.Errorf("answer %q does not say where the output went", o.Text())
	}
}

// A file Discord will not take is not claimed as attached: the message
// says so and shows the start inline.
func TestRefusedOrTooLargeUploadIsShownInline(t *testing.T) {
	e := newEnv(t, "http")
	p := e.a.Poster()
	code := strings.Repeat("ERROR LLM API Error: timeout\n", 400)
	e.fake.Inject(discordfake.Rule{Method: "POST", Path: "/channels/" + alerts + "/messages", Status: http.StatusRequestEntityTooLarge,
		Body: `{"message":"Request entity too large","code":40005}`})
	ref, err := p.Post(context.Background(), alerts, chat.Message{Title: "logs search", Code: code})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := e.fake.Message(ref.ID)
	if len(m.Files) != 0 || strings.Contains(m.Text(), "attached as") {
		t.Fatalf("files %d, text %q: nothing may be called attached", len(m.Files), m.Text())
	}
	if !strings.Contains(m.Text(), "not attached: output.txt (Discord refused the upload)") || !strings.Contains(m.Text(), "ERROR LLM API Error") ||
		!strings.Contains(m.Text(), "360 more lines") {
		t.Errorf("text %q: want the refusal and the first lines", m.Text())
	}

	big := strings.Repeat("x", 10<<20) + "\n"
	ref, err = p.Post(context.Background(), alerts, chat.Message{Title: "dump", Files: []chat.File{{Name: "big.txt", Mime: "text/plain", Data: []byte(big)}}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ = e.fake.Message(ref.ID)
	if len(m.Files) != 0 || !strings.Contains(m.Text(), "not attached: big.txt (larger than Discord takes)") {
		t.Errorf("too large: files %d, text %q", len(m.Files), m.Text()[:min(300, len(m.Text()))])
	}
}

// Text from logs never pings: only the mentions a message means notify.
func TestLogTextPingsNobody(t *testing.T) {
	e := newEnv(t, "http")
	line := "2024-05-01 ERROR @everyone <@123> <@&456> deploy failed"
	ref, err := e.a.Poster().Post(context.Background(), alerts, chat.Message{Text: line, Mentions: []string{"800000000000000007"}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := e.fake.Message(ref.ID)
	if !strings.Contains(m.Content, line) {
		t.Fatalf("content %q", m.Content)
	}
	if got := strings.Join(m.Pings(), ","); got != "user:800000000000000007" {
		t.Errorf("pings %q, want the on-call user alone", got)
	}
	e.reg.MustRegister(&commands.Verb{Name: "echo", Access: policy.Read, Summary: "says a log line",
		Run: func(context.Context, *commands.Call) (commands.Response, error) {
			return commands.Text("%s", line), nil
		}})
	in := e.fake.NewCommand(alice, channel, discordfake.Sub("echo"))
	e.deliver(in)
	eventually(t, "the answer", func() bool { return e.interaction(in.Token).Original != nil })
	if o := e.interaction(in.Token).Original; !strings.Contains(o.Content, "@everyone") || len(o.Pings()) != 0 {
		t.Errorf("answer %q pings %v", o.Content, o.Pings())
	}
}

// The incident lead renders as a mention and notifies; a log line's
// @everyone and ids do not.
func TestLeadMentionRendersLogTextDoesNot(t *testing.T) {
	e := newEnv(t, "http")
	lead := "800000000000000007"
	ref, err := e.a.Poster().Post(context.Background(), alerts, chat.Message{
		Title: "Incident #4: API down", Severity: chat.SevCritical,
		Text:     "log: @everyone <@123456789012345678> @123456789012345678",
		Fields:   []chat.Field{{Name: "Lead", Value: "@" + lead, Inline: true}},
		Mentions: []string{lead},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := e.fake.Message(ref.ID)
	if len(m.Embeds) != 1 || len(m.Embeds[0].Fields) != 1 || m.Embeds[0].Fields[0].Value != "<@"+lead+">" {
		t.Fatalf("embed %+v", m.Embeds)
	}
	// The id not meant stays plain text.
	if !strings.Contains(m.Embeds[0].Description, "<@123456789012345678> @123456789012345678") {
		t.Errorf("description %q", m.Embeds[0].Description)
	}
	if got := strings.Join(m.Pings(), ","); got != "user:"+lead {
		t.Errorf("pings %q", got)
	}
}
