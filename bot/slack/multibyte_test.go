package slack

import (
	"fmt"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"opsbot/chat"
	"opsbot/textclip/textcliptest"

	"opsbot/internal/race"
)

// slot puts a string where one of Block Kit's limits applies.
type slot struct {
	name  string
	limit int
	put   func(m *chat.Message, s string)
}

var slackSlots = []slot{
	{"title", maxHeaderChars, func(m *chat.Message, s string) { m.Title, m.Severity = s, chat.SevCritical }},
	{"text", maxSectionChars, func(m *chat.Message, s string) { m.Text = s }},
	{"inline field", maxFieldChars, func(m *chat.Message, s string) {
		m.Fields = []chat.Field{{Name: s, Value: s, Inline: true}, {Name: "n", Value: s, Inline: true}}
	}},
	{"field", maxSectionChars, func(m *chat.Message, s string) { m.Fields = []chat.Field{{Name: "name", Value: s}} }},
	{"code", maxSectionChars, func(m *chat.Message, s string) { m.Code = s }},
	{"context", maxSectionChars, func(m *chat.Message, s string) { m.Context = s }},
	{"button", maxButtonText, func(m *chat.Message, s string) {
		m.Buttons = []chat.Button{{ID: "confirm", Label: s, Value: s + s, Confirm: s, Style: chat.StyleDanger}}
	}},
	{"fallback", maxFallbackChars, func(m *chat.Message, s string) { m.Text = s + s }},
}

// 10,000 random strings of CJK, emoji, combining marks, right-to-left
// script and invalid bytes, up to twice as long as the limit of the place
// it is put: every rendered text is valid UTF-8 and within Slack's
// limit in bytes.
func TestMultibyteTextStaysValidAndWithinLimits(t *testing.T) {
	n := race.Scale(10_000) // a tenth under the race detector: one goroutine, nothing to race
	r := textcliptest.Rand(7)
	for i := range n {
		sl := slackSlots[i%len(slackSlots)]
		s := textcliptest.String(r, 2*sl.limit+8)
		m := chat.Message{}
		sl.put(&m, s)
		out := Render(m)
		if bad := textcliptest.Invalid(out); len(bad) > 0 {
			t.Fatalf("%s %.300q: invalid UTF-8 rendered at %.600v", sl.name, s, bad)
		}
		if len(out.Text) > maxFallbackChars || !utf8.ValidString(out.Text) {
			t.Fatalf("%s %.300q: fallback text of %d bytes", sl.name, s, len(out.Text))
		}
		for _, p := range overLimit(out) {
			t.Fatalf("%s %.300q: %s", sl.name, s, p)
		}
	}
}

// overLimit names every text of r's blocks over its limit in bytes.
func overLimit(r rendered) []string {
	blocks := append(append([]slack.Block(nil), r.Blocks...), r.Body...)
	if len(blocks) > maxBlocks {
		return []string{fmt.Sprintf("%d blocks", len(blocks))}
	}
	var out []string
	check := func(where string, o *slack.TextBlockObject, limit int) {
		if o != nil && len(o.Text) > limit {
			out = append(out, fmt.Sprintf("%s is %d bytes, limit %d", where, len(o.Text), limit))
		}
	}
	for i, bl := range blocks {
		where := fmt.Sprintf("block %d (%s)", i, bl.BlockType())
		switch b := bl.(type) {
		case *slack.HeaderBlock:
			check(where, b.Text, maxHeaderChars)
		case *slack.SectionBlock:
			check(where, b.Text, maxSectionChars)
			if len(b.Fields) > maxFieldsPerSect {
				out = append(out, fmt.Sprintf("%s has %d fields", where, len(b.Fields)))
			}
			for _, f := range b.Fields {
				check(where+" field", f, maxFieldChars)
			}
		case *slack.ContextBlock:
			for _, el := range b.ContextElements.Elements {
				if o, ok := el.(*slack.TextBlockObject); ok {
					check(where+" element", o, maxSectionChars)
				}
			}
		case *slack.ActionBlock:
			for _, el := range b.Elements.ElementSet {
				btn, ok := el.(*slack.ButtonBlockElement)
				if !ok {
					continue
				}
				check(where+" button text", btn.Text, maxButtonText)
				if len(btn.Value) > maxButtonValue {
					out = append(out, fmt.Sprintf("%s button value is %d bytes", where, len(btn.Value)))
				}
				if c := btn.Confirm; c != nil {
					check(where+" confirm text", c.Text, maxConfirmText)
					check(where+" confirm button", c.Confirm, maxButtonText)
				}
			}
		default:
			out = append(out, fmt.Sprintf("%s: a block the test does not know", where))
		}
	}
	return out
}
