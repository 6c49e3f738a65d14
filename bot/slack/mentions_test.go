package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"opsbot/chat"
)

// The incident lead, written @U123 with U123 in Mentions, renders as a
// real mention; ids and ping syntax in text from users or logs stay inert.
func TestMeantMentionsRenderUserTextStaysEscaped(t *testing.T) {
	m := chat.Message{
		Title: "Incident #4: API down", Severity: chat.SevCritical,
		Text:     "log: <@U999> @U999 <!channel> paged @U123",
		Fields:   []chat.Field{{Name: "Lead", Value: "@U123", Inline: true}},
		Context:  "lead @U123",
		Mentions: []string{"U123"},
	}
	b, err := json.Marshal(Render(m).wire())
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{`*Lead*\n\u003c@U123\u003e`, `paged \u003c@U123\u003e`, `lead \u003c@U123\u003e`, `\u0026lt;@U999\u0026gt; @U999 \u0026lt;!channel\u0026gt;`} {
		if !strings.Contains(got, want) {
			t.Errorf("rendered %s\nwant %s", got, want)
		}
	}
	if strings.Contains(got, `\u003c@U999\u003e`) || strings.Contains(got, `\u003c!channel\u003e`) {
		t.Errorf("user text became a mention: %s", got)
	}
}
