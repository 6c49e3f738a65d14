package chat

import (
	"slices"

	"opsbot/textclip"
)

// ValidText returns m with invalid UTF-8 and NUL characters (from logs,
// command output, a forged form) replaced in every text, so a platform
// measures, cuts and shows valid text. Attachments keep their bytes.
// (textclip is a leaf of pure functions like chat itself.)
func ValidText(m Message) Message {
	v := textclip.Valid
	m.Title, m.Text, m.Code, m.Context = v(m.Title), v(m.Text), v(m.Code), v(m.Context)
	m.Fields = slices.Clone(m.Fields)
	for i, f := range m.Fields {
		m.Fields[i].Name, m.Fields[i].Value = v(f.Name), v(f.Value)
	}
	m.Buttons = slices.Clone(m.Buttons)
	for i, b := range m.Buttons {
		m.Buttons[i].Label, m.Buttons[i].Value, m.Buttons[i].Confirm = v(b.Label), v(b.Value), v(b.Confirm)
	}
	m.Files = slices.Clone(m.Files)
	for i, f := range m.Files {
		m.Files[i].Name = v(f.Name)
	}
	return m
}
