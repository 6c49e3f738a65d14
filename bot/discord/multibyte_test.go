package discord

import (
	"fmt"
	"testing"

	"github.com/bwmarrin/discordgo"

	"opsbot/chat"
	"opsbot/textclip/textcliptest"

	"opsbot/internal/race"
)

// slot puts a string where one of Discord's limits applies.
type slot struct {
	name  string
	limit int
	put   func(m *chat.Message, s string)
}

var discordSlots = []slot{
	{"content", maxContent, func(m *chat.Message, s string) { m.Text = s }},
	{"title", maxTitle, func(m *chat.Message, s string) { m.Title, m.Severity = s, chat.SevWarning }},
	{"description", maxDesc, func(m *chat.Message, s string) { m.Title, m.Text = "t", s }},
	{"field name", maxFieldName, func(m *chat.Message, s string) { m.Fields = []chat.Field{{Name: s, Value: "v"}} }},
	{"field value", maxFieldValue, func(m *chat.Message, s string) {
		for range maxFields + 1 {
			m.Fields = append(m.Fields, chat.Field{Name: "n", Value: s, Inline: true})
		}
	}},
	{"code", maxDesc, func(m *chat.Message, s string) { m.Title, m.Code = "t", s }},
	{"footer", maxFooter, func(m *chat.Message, s string) { m.Title, m.Context = "t", s }},
	{"button", maxLabel, func(m *chat.Message, s string) { m.Buttons = []chat.Button{{ID: "ack", Label: s, Value: "7"}} }},
	{"thread name", 100, func(m *chat.Message, s string) { m.Title = s }},
}

// 10,000 random strings of CJK, emoji, combining marks, right-to-left
// script and invalid bytes, each up to four times as long (in bytes) as the
// limit of the place it is put: everything rendered is valid UTF-8 and
// within Discord's limit in UTF-16 units.
func TestMultibyteTextStaysValidAndWithinLimits(t *testing.T) {
	n := race.Scale(10_000) // a tenth under the race detector: one goroutine, nothing to race
	r := textcliptest.Rand(11)
	for i := range n {
		sl := discordSlots[i%len(discordSlots)]
		// Up to about twice the limit in UTF-16 units of mixed text.
		s := textcliptest.String(r, 4*sl.limit+8)
		m := chat.Message{}
		sl.put(&m, s)
		out := render(m)
		if bad := textcliptest.Invalid(out); len(bad) > 0 {
			t.Fatalf("%s %.300q: invalid UTF-8 rendered at %.600v", sl.name, s, bad)
		}
		if bad := overLimit(out); len(bad) > 0 {
			t.Fatalf("%s %.300q: %v", sl.name, s, bad)
		}
		if name := threadName(m); ulen(name) > 100 || textcliptest.Invalid(name) != nil {
			t.Fatalf("%s %.300q: thread name %q", sl.name, s, name)
		}
	}
}

// overLimit names every part of r over Discord's limits.
func overLimit(r rendered) []string {
	var out []string
	check := func(what, s string, limit int) {
		if n := ulen(s); n > limit {
			out = append(out, fmt.Sprintf("%s is %d units, limit %d", what, n, limit))
		}
	}
	check("content", r.Content, maxContent)
	if len(r.Embeds) > 1 {
		out = append(out, fmt.Sprintf("%d embeds", len(r.Embeds)))
	}
	for _, e := range r.Embeds {
		check("title", e.Title, maxTitle)
		check("description", e.Description, maxDesc)
		total := ulen(e.Title) + ulen(e.Description)
		if len(e.Fields) > maxFields {
			out = append(out, fmt.Sprintf("%d fields", len(e.Fields)))
		}
		for _, f := range e.Fields {
			check("field name", f.Name, maxFieldName)
			check("field value", f.Value, maxFieldValue)
			total += ulen(f.Name) + ulen(f.Value)
		}
		if e.Footer != nil {
			check("footer", e.Footer.Text, maxFooter)
			total += ulen(e.Footer.Text)
		}
		if total > maxEmbedTotal {
			out = append(out, fmt.Sprintf("embed totals %d units", total))
		}
	}
	if len(r.Files) > maxFiles {
		out = append(out, fmt.Sprintf("%d files", len(r.Files)))
	}
	for _, row := range r.Components {
		for _, c := range row.(discordgo.ActionsRow).Components {
			b := c.(discordgo.Button)
			check("button label", b.Label, maxLabel)
			check("custom id", b.CustomID, maxCustomID)
		}
	}
	return out
}
