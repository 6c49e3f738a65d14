package discord

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"opsbot/chat"
	"opsbot/textclip"
)

// Discord's message limits (in UTF-16 code units, as Discord counts).
const (
	maxContent    = 2000
	maxTitle      = 256
	maxDesc       = 4096
	maxFields     = 25
	maxFieldName  = 256
	maxFieldValue = 1024
	maxFooter     = 2048
	maxEmbedTotal = 6000
	maxFiles      = 10
	maxButtonRows = 5
	maxCustomID   = 100
	maxLabel      = 80
	maxMentions   = 50
	// maxUpload is what one request may upload (Discord's limit for bots
	// on servers without boosts; more is refused with 413).
	maxUpload = 10 << 20
	// inlineLines is how much of a file's text a reply shows when the file
	// could not be sent.
	inlineLines = 40

	messageFile = "message.txt"
	outputFile  = "output.txt"
)

// Embed colours by severity.
var colours = map[chat.Severity]int{
	chat.SevInfo:     0x3498DB,
	chat.SevOK:       0x2ECC71,
	chat.SevWarning:  0xF1C40F,
	chat.SevCritical: 0xE74C3C,
	chat.SevResolved: 0x95A5A6,
}

// rendered is a chat.Message in Discord's terms.
type rendered struct {
	Content    string
	Embeds     []*discordgo.MessageEmbed
	Components []discordgo.MessageComponent
	Files      []chat.File
	Mentions   *discordgo.MessageAllowedMentions
}

// newAttachments is the attachments list of an edit that replaces a
// message's files with r's: API v10 keeps exactly the attachments listed,
// so each new file is named by its files[n] index (an empty list would
// drop them).
func (r rendered) newAttachments() []*discordgo.MessageAttachment {
	out := make([]*discordgo.MessageAttachment, len(r.Files))
	for i, f := range r.Files {
		out[i] = &discordgo.MessageAttachment{ID: strconv.Itoa(i), Filename: f.Name}
	}
	return out
}

// uploadSize is the bytes r's files upload in one request.
func (r rendered) uploadSize() int {
	n := 0
	for _, f := range r.Files {
		n += len(f.Data)
	}
	return n
}

// files returns fresh readers for an attempt (a reader is spent by one).
func (r rendered) files() []*discordgo.File {
	if len(r.Files) == 0 {
		return nil
	}
	out := make([]*discordgo.File, len(r.Files))
	for i, f := range r.Files {
		mime := f.Mime
		if mime == "" {
			mime = "text/plain; charset=utf-8"
		}
		out[i] = &discordgo.File{Name: f.Name, ContentType: mime, Reader: bytes.NewReader(f.Data)}
	}
	return out
}

// ulen is a string's length as Discord counts it.
func ulen(s string) int { return textclip.UTF16Len(s) }

// cut shortens s to at most n units, marking the cut with "…".
func cut(s string, n int) string { return textclip.UTF16(s, n, textclip.Ellipsis) }

// render turns m into Discord content, one embed, buttons and attachments.
// Nothing is cut silently: what does not fit Discord's limits goes into an
// attached file and the embed says so.
func render(m chat.Message) rendered { return renderAs(m, true) }

// renderAs renders m; without files, what would have gone into one is cut
// to fit instead.
func renderAs(m chat.Message, withFiles bool) rendered {
	m = linkMentions(chat.ValidText(m))
	var r rendered
	r.Mentions, r.Content = mentions(m.Mentions)
	r.Components = buttons(m.Buttons)
	r.Files = append(r.Files, m.Files...)

	// The outbox key rides in the message itself (history does not return
	// the nonce), so recovery after a crash can find it: a subtext line
	// under plain content, else the embed's footer.
	mark := ""
	if m.Key != "" {
		mark = keyMark + m.Key
	}
	plain := m.Title == "" && m.Severity == chat.SevNone && len(m.Fields) == 0 && m.Code == "" && m.Context == ""
	if content := joinNonEmpty("\n", r.Content, m.Text, subtext(mark)); plain && ulen(content) <= maxContent {
		r.Content = content
		return r
	}

	e := &discordgo.MessageEmbed{Type: discordgo.EmbedTypeRich, Color: colours[m.Severity]}
	text := m.Text
	if ulen(m.Title) > maxTitle {
		// A very long title reads on as the first line of the text.
		text = joinNonEmpty("\n", "**"+m.Title+"**", text)
	} else {
		e.Title = m.Title
	}
	var notes []string

	code := ""
	if m.Code != "" {
		code = "```\n" + strings.ReplaceAll(m.Code, "```", "`\u200b``") + "\n```"
	}
	// Long command output goes into a file of its own.
	if withFiles && code != "" && (ulen(joinNonEmpty("\n", text, code)) > maxDesc || ulen(joinNonEmpty("\n", text, code))+ulen(e.Title)+fieldsLen(m.Fields) > maxEmbedTotal-200) {
		r.Files = append(r.Files, chat.File{Name: outputFile, Mime: "text/plain; charset=utf-8", Data: []byte(m.Code)})
		notes = append(notes, fmt.Sprintf("output (%d lines) attached as %s", strings.Count(m.Code, "\n")+1, outputFile))
		code = ""
	}
	e.Description = joinNonEmpty("\n", text, code)
	for _, f := range m.Fields {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: f.Name, Value: f.Value, Inline: f.Inline})
	}
	for _, f := range e.Fields {
		if f.Name == "" {
			f.Name = "\u200b"
		}
		if f.Value == "" {
			f.Value = "\u200b"
		}
	}
	footer := m.Context

	if !fits(e, footer) && !withFiles {
		if len(e.Fields) > maxFields {
			e.Fields = e.Fields[:maxFields]
		}
		for _, f := range e.Fields {
			f.Name, f.Value = cut(f.Name, maxFieldName), cut(f.Value, maxFieldValue)
		}
		footer = cut(footer, 500)
		e.Description = cut(e.Description, max(200, min(maxDesc, maxEmbedTotal-600-ulen(e.Title)-ulen(footer)-fieldsLen2(e.Fields))))
	} else if !fits(e, footer) {
		// Keep the whole message in a file and show what fits.
		r.Files = append(r.Files, chat.File{Name: messageFile, Mime: "text/plain; charset=utf-8", Data: []byte(plainText(m, code == "" && m.Code != ""))})
		notes = append(notes, "shortened; the full text is attached as "+messageFile)
		if len(e.Fields) > maxFields {
			e.Fields = e.Fields[:maxFields]
		}
		for _, f := range e.Fields {
			f.Name, f.Value = cut(f.Name, maxFieldName), cut(f.Value, maxFieldValue)
		}
		footer = cut(footer, 500)
		room := maxEmbedTotal - 600 - ulen(e.Title) - ulen(footer) - fieldsLen2(e.Fields)
		if room > maxDesc {
			room = maxDesc
		}
		if room < 200 {
			e.Fields, room = nil, maxDesc
		}
		e.Description = cut(e.Description, room)
	}
	if len(r.Files) > maxFiles {
		notes = append(notes, fmt.Sprintf("%d more files not attached (Discord takes %d)", len(r.Files)-maxFiles, maxFiles))
		r.Files = r.Files[:maxFiles]
	}
	footer = joinNonEmpty(" · ", footer, strings.Join(notes, "; "), mark)
	if footer != "" {
		e.Footer = &discordgo.MessageEmbedFooter{Text: cut(footer, maxFooter)}
	}
	r.Embeds = []*discordgo.MessageEmbed{e}
	return r
}

func fits(e *discordgo.MessageEmbed, footer string) bool {
	if ulen(e.Description) > maxDesc || len(e.Fields) > maxFields || ulen(footer) > maxFooter-200 {
		return false
	}
	for _, f := range e.Fields {
		if ulen(f.Name) > maxFieldName || ulen(f.Value) > maxFieldValue {
			return false
		}
	}
	// Room is kept for the notes added to the footer.
	return ulen(e.Title)+ulen(e.Description)+ulen(footer)+fieldsLen2(e.Fields) <= maxEmbedTotal-200
}

func fieldsLen(fs []chat.Field) int {
	n := 0
	for _, f := range fs {
		n += ulen(f.Name) + ulen(f.Value)
	}
	return n
}

func fieldsLen2(fs []*discordgo.MessageEmbedField) int {
	n := 0
	for _, f := range fs {
		n += ulen(f.Name) + ulen(f.Value)
	}
	return n
}

// plainText is the whole message as text, for message.txt.
func plainText(m chat.Message, codeElsewhere bool) string {
	var b strings.Builder
	if m.Title != "" {
		b.WriteString(m.Title + "\n\n")
	}
	if m.Text != "" {
		b.WriteString(m.Text + "\n\n")
	}
	for _, f := range m.Fields {
		b.WriteString(f.Name + ": " + f.Value + "\n")
	}
	if len(m.Fields) > 0 {
		b.WriteString("\n")
	}
	if m.Code != "" && !codeElsewhere {
		b.WriteString(m.Code + "\n\n")
	}
	if m.Context != "" {
		b.WriteString(m.Context + "\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// mentions renders ids as <@user> or, for ids written "&id" or "role:id",
// <@&role>, and allows exactly those to notify: text from logs can never
// ping @everyone.
func mentions(ids []string) (*discordgo.MessageAllowedMentions, string) {
	am := &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
	var parts []string
	for _, id := range ids {
		if len(parts) >= maxMentions {
			break
		}
		// Already written as a mention: <@id>, <@!id>, <@&id>.
		if strings.HasPrefix(id, "<@") && strings.HasSuffix(id, ">") {
			id = strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(id, "<@"), ">"), "!")
			if strings.HasPrefix(id, "&") {
				id = "role:" + id[1:]
			}
		}
		switch {
		case strings.HasPrefix(id, "&"), strings.HasPrefix(id, "role:"):
			id = strings.TrimPrefix(strings.TrimPrefix(id, "&"), "role:")
			am.Roles = append(am.Roles, id)
			parts = append(parts, "<@&"+id+">")
		default:
			id = strings.TrimPrefix(id, "user:")
			am.Users = append(am.Users, id)
			parts = append(parts, "<@"+id+">")
		}
	}
	return am, strings.Join(parts, " ")
}

// buttons renders buttons as rows of five; custom_id is "action:value".
func buttons(bs []chat.Button) []discordgo.MessageComponent {
	var rows []discordgo.MessageComponent
	var row discordgo.ActionsRow
	for _, b := range bs {
		id := b.ID
		if b.Value != "" {
			id += ":" + b.Value
		}
		if len(id) > maxCustomID || len(rows) >= maxButtonRows {
			continue
		}
		style := discordgo.SecondaryButton
		switch b.Style {
		case chat.StyleDanger:
			style = discordgo.DangerButton
		case chat.StylePrimary:
			style = discordgo.PrimaryButton
		}
		label := b.Label
		if label == "" {
			label = b.ID
		}
		row.Components = append(row.Components, discordgo.Button{Label: cut(label, maxLabel), Style: style, CustomID: id})
		if len(row.Components) == 5 {
			rows = append(rows, row)
			row = discordgo.ActionsRow{}
		}
	}
	if len(row.Components) > 0 && len(rows) < maxButtonRows {
		rows = append(rows, row)
	}
	return rows
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// withoutFiles is m to send when its files cannot be: the reply says so
// (why) and shows the start of each text file inline instead.
func withoutFiles(m chat.Message, why string) rendered {
	r := render(m)
	files := r.Files
	m.Files = nil
	var shown []string
	for _, f := range files {
		if f.Name == outputFile && m.Code != "" {
			m.Code = chat.HeadLines(m.Code, inlineLines)
			shown = append(shown, f.Name)
			continue
		}
		if f.Name == messageFile || !f.IsText() {
			continue
		}
		m.Code = joinNonEmpty("\n", m.Code, "# "+f.Name+"\n"+chat.HeadLines(string(f.Data), inlineLines))
		shown = append(shown, f.Name)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	note := fmt.Sprintf(msgNotAttached, strings.Join(names, ", "), why)
	if len(shown) > 0 {
		note += "; " + fmt.Sprintf(msgShownInline, inlineLines)
	}
	m.Context = joinNonEmpty(" · ", m.Context, note)
	return renderAs(m, false)
}

// keyMark names the outbox key in a message; keyOf reads it back.
const keyMark = "outbox "

func subtext(s string) string {
	if s == "" {
		return ""
	}
	return "-# " + s
}

// keyOf is the outbox key a posted message carries, or "".
func keyOf(m *discordgo.Message) string {
	if len(m.Embeds) > 0 && m.Embeds[0].Footer != nil {
		f := m.Embeds[0].Footer.Text
		if i := strings.LastIndex(f, keyMark); i >= 0 && (i == 0 || strings.HasSuffix(f[:i], " · ")) {
			return f[i+len(keyMark):]
		}
	}
	if i := strings.LastIndex(m.Content, "\n-# "+keyMark); i >= 0 {
		return m.Content[i+len("\n-# "+keyMark):]
	}
	if k, ok := strings.CutPrefix(m.Content, "-# "+keyMark); ok {
		return k
	}
	return ""
}

// Strings users read, kept together for translation.
const (
	msgNotAttached = "not attached: %s (%s)"
	msgShownInline = "the first %d lines are shown"
	msgTooLarge    = "larger than Discord takes"
	msgRefused     = "Discord refused the upload"
)

// userRef is a Discord user id written plainly in text (as @123…).
var userRef = regexp.MustCompile(`@(\d{15,21})\b`)

// linkMentions renders @id in the text and fields as a real mention <@id>
// for the ids the message means to mention (m.Mentions) alone; they are
// the only ones allowed_mentions lets notify.
func linkMentions(m chat.Message) chat.Message {
	if len(m.Mentions) == 0 {
		return m
	}
	link := func(s string) string {
		return userRef.ReplaceAllStringFunc(s, func(ref string) string {
			id := ref[1:]
			if slices.Contains(m.Mentions, id) || slices.Contains(m.Mentions, "user:"+id) || slices.Contains(m.Mentions, "<@"+id+">") {
				return "<" + ref + ">"
			}
			return ref
		})
	}
	m.Text = link(m.Text)
	if len(m.Fields) > 0 {
		fs := make([]chat.Field, len(m.Fields))
		for i, f := range m.Fields {
			f.Value = link(f.Value)
			fs[i] = f
		}
		m.Fields = fs
	}
	return m
}
