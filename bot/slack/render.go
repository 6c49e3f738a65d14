package slack

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"opsbot/chat"
	"opsbot/textclip"
)

// Block Kit limits (https://api.slack.com/reference/block-kit/blocks),
// applied in bytes (see clip).
const (
	maxHeaderChars   = 150
	maxSectionChars  = 3000
	maxFieldChars    = 2000
	maxFieldsPerSect = 10
	maxButtonText    = 75
	maxButtonValue   = 2000
	maxConfirmText   = 300
	maxBlocks        = 50
	maxFallbackChars = 3000
	// Code longer than this many blocks is cut: long output belongs in a file.
	maxCodeBlocks = 6
	// actionsBlockID names the block holding a message's buttons.
	actionsBlockID = "opsbot_actions"
	// metadataEventType marks messages carrying an outbox key.
	metadataEventType = "opsbot_outbox"
)

var sevColor = map[chat.Severity]string{
	chat.SevInfo:     "#1D9BD1",
	chat.SevOK:       "#2EB67D",
	chat.SevWarning:  "#ECB22E",
	chat.SevCritical: "#E01E5A",
	chat.SevResolved: "#2EB67D",
}

var sevEmoji = map[chat.Severity]string{
	chat.SevInfo:     ":information_source:",
	chat.SevOK:       ":white_check_mark:",
	chat.SevWarning:  ":warning:",
	chat.SevCritical: ":rotating_light:",
	chat.SevResolved: ":large_green_circle:",
}

// wireMessage is a message as Slack reads it from a response_url, an
// inline slash-command answer or a Socket Mode ack payload.
type wireMessage struct {
	ResponseType string `json:"response_type,omitempty"`
	// ReplaceOriginal is sent whenever it is set, false included: a
	// refused click must say it leaves the message alone.
	ReplaceOriginal *bool              `json:"replace_original,omitempty"`
	DeleteOriginal  bool               `json:"delete_original,omitempty"`
	Text            string             `json:"text"`
	Blocks          []slack.Block      `json:"blocks,omitempty"`
	Attachments     []slack.Attachment `json:"attachments,omitempty"`
}

// rendered is a chat.Message in Block Kit: top-level blocks (the header),
// and the body in a coloured attachment when the message has a severity, so
// the colour bar sits beside it. Text is the notification fallback.
type rendered struct {
	Text   string
	Blocks []slack.Block
	Body   []slack.Block
	Color  string
}

func (r rendered) wire() wireMessage {
	w := wireMessage{Text: r.Text, Blocks: r.Blocks}
	if len(r.Body) > 0 {
		w.Attachments = []slack.Attachment{{Color: r.Color, Fallback: r.Text, Blocks: slack.Blocks{BlockSet: r.Body}}}
	}
	return w
}

// updateOptions are options for chat.update, which keeps blocks and
// attachments that are left out: empty ones are sent to clear them.
func (r rendered) updateOptions() []slack.MsgOption {
	opts := r.options()
	if len(r.Blocks) == 0 {
		opts = append(opts, slack.MsgOptionBlocks())
	}
	if len(r.Body) == 0 {
		opts = append(opts, slack.MsgOptionAttachments([]slack.Attachment{}...))
	}
	return opts
}

func (r rendered) options() []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(r.Text, false)}
	if len(r.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(r.Blocks...))
	}
	if len(r.Body) > 0 {
		opts = append(opts, slack.MsgOptionAttachments(slack.Attachment{Color: r.Color, Fallback: r.Text, Blocks: slack.Blocks{BlockSet: r.Body}}))
	}
	return opts
}

// Render turns a neutral message into Block Kit. Text from commands and logs
// is escaped, so a log line saying <!channel> pings nobody; mentions are
// rendered only from m.Mentions.
func Render(m chat.Message) rendered {
	m = chat.ValidText(m)
	var blocks []slack.Block
	emoji := sevEmoji[m.Severity]
	color := sevColor[m.Severity]
	var header slack.Block
	if m.Title != "" {
		title := m.Title
		if emoji != "" {
			title = emoji + " " + title
		}
		header = slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, clip(title, maxHeaderChars), true, false))
	}
	if len(m.Mentions) > 0 {
		blocks = append(blocks, mrkdwnSection(mentions(m.Mentions)))
	}
	esc := func(s string) string { return linkMentions(escape(s), m.Mentions) }
	if m.Text != "" {
		text := esc(m.Text)
		if m.Title == "" && emoji != "" {
			text = emoji + " " + text
		}
		for _, part := range splitText(text, maxSectionChars) {
			blocks = append(blocks, mrkdwnSection(part))
		}
	} else if m.Title == "" && emoji != "" && len(m.Fields) > 0 {
		blocks = append(blocks, mrkdwnSection(emoji))
	}
	blocks = append(blocks, fieldBlocks(m.Fields, esc)...)
	if m.Code != "" {
		blocks = append(blocks, codeBlocks(m.Code)...)
	}
	if m.Context != "" {
		blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, clip(esc(m.Context), maxSectionChars), false, false)))
	}
	if len(m.Buttons) > 0 {
		blocks = append(blocks, buttonBlock(m.Buttons))
	}
	r := rendered{Text: fallback(m), Color: color}
	if header != nil && color != "" {
		r.Blocks = []slack.Block{header}
		r.Body = capBlocks(blocks, maxBlocks-1)
	} else {
		if header != nil {
			blocks = append([]slack.Block{header}, blocks...)
		}
		r.Blocks = capBlocks(blocks, maxBlocks)
	}
	return r
}

func mrkdwnSection(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}

// fieldBlocks groups inline fields side by side (ten to a section) and
// gives every other field a section of its own.
func fieldBlocks(fields []chat.Field, escape func(string) string) []slack.Block {
	var out []slack.Block
	var row []*slack.TextBlockObject
	flush := func() {
		if len(row) > 0 {
			out = append(out, slack.NewSectionBlock(nil, row, nil))
			row = nil
		}
	}
	for _, f := range fields {
		text := clip("*"+escape(f.Name)+"*\n"+escape(f.Value), maxFieldChars)
		if !f.Inline {
			flush()
			out = append(out, mrkdwnSection(clip("*"+escape(f.Name)+"*\n"+escape(f.Value), maxSectionChars)))
			continue
		}
		row = append(row, slack.NewTextBlockObject(slack.MarkdownType, text, false, false))
		if len(row) == maxFieldsPerSect {
			flush()
		}
	}
	flush()
	return out
}

// codeBlocks splits code at line ends into fenced sections; past
// maxCodeBlocks the rest is cut with a note saying how much.
func codeBlocks(code string) []slack.Block {
	code = strings.TrimRight(escape(strings.ReplaceAll(code, "```", "ˋˋˋ")), "\n")
	const room = maxSectionChars - len("```\n\n```")
	parts := splitText(code, room)
	var out []slack.Block
	for i, p := range parts {
		if i == maxCodeBlocks {
			rest := strings.Join(parts[i:], "\n")
			note := fmt.Sprintf("… %d more lines (%d bytes) not shown", strings.Count(rest, "\n")+1, len(rest))
			out = append(out, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, note, false, false)))
			break
		}
		out = append(out, mrkdwnSection("```\n"+p+"\n```"))
	}
	return out
}

func buttonBlock(buttons []chat.Button) slack.Block {
	seen := map[string]int{}
	var els []slack.BlockElement
	for i, b := range buttons {
		if i == 25 {
			break
		}
		// action_id must be unique within a block: a second button of the
		// same id gets "#n", which the click handler strips.
		id := b.ID
		if seen[id] > 0 {
			id = fmt.Sprintf("%s#%d", b.ID, seen[b.ID])
		}
		seen[b.ID]++
		el := slack.NewButtonBlockElement(id, clip(b.Value, maxButtonValue), slack.NewTextBlockObject(slack.PlainTextType, clip(b.Label, maxButtonText), true, false))
		switch b.Style {
		case chat.StyleDanger:
			el = el.WithStyle(slack.StyleDanger)
		case chat.StylePrimary:
			el = el.WithStyle(slack.StylePrimary)
		}
		if b.Confirm != "" {
			dlg := slack.NewConfirmationBlockObject(
				slack.NewTextBlockObject(slack.PlainTextType, "Are you sure?", false, false),
				slack.NewTextBlockObject(slack.PlainTextType, clip(b.Confirm, maxConfirmText), false, false),
				slack.NewTextBlockObject(slack.PlainTextType, clip(b.Label, 30), false, false),
				slack.NewTextBlockObject(slack.PlainTextType, "Back", false, false),
			)
			if b.Style == chat.StyleDanger {
				dlg = dlg.WithStyle(slack.StyleDanger)
			}
			el = el.WithConfirm(dlg)
		}
		els = append(els, el)
	}
	return slack.NewActionBlock(actionsBlockID, els...)
}

// actionID undoes the "#n" suffix buttonBlock adds to repeated ids.
func actionID(id string) string {
	if i := strings.LastIndexByte(id, '#'); i > 0 {
		return id[:i]
	}
	return id
}

func mentions(ids []string) string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		switch {
		case id == "here" || id == "channel" || id == "everyone":
			out = append(out, "<!"+id+">")
		case strings.HasPrefix(id, "S"):
			out = append(out, "<!subteam^"+id+">")
		case id != "":
			out = append(out, "<@"+id+">")
		}
	}
	return strings.Join(out, " ")
}

// fallback is the plain text Slack shows in notifications and where blocks
// cannot be drawn; mentions in it are what actually notify.
func fallback(m chat.Message) string {
	var parts []string
	if len(m.Mentions) > 0 {
		parts = append(parts, mentions(m.Mentions))
	}
	if m.Title != "" {
		parts = append(parts, escape(m.Title))
	}
	if m.Text != "" {
		parts = append(parts, escape(m.Text))
	}
	if len(parts) == 0 && m.Code != "" {
		parts = append(parts, escape(firstLine(m.Code)))
	}
	return clip(strings.Join(parts, ": "), maxFallbackChars)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// userRef is a Slack user id written plainly in text (as @U123).
var userRef = regexp.MustCompile(`@([UW][A-Z0-9]{2,})\b`)

// linkMentions renders @U123 in escaped text as a real mention <@U123>,
// for the ids the message means to mention (m.Mentions) alone: text from
// users or logs cannot make a mention of anyone else.
func linkMentions(s string, ids []string) string {
	if len(ids) == 0 || !strings.Contains(s, "@") {
		return s
	}
	return userRef.ReplaceAllStringFunc(s, func(ref string) string {
		if slices.Contains(ids, ref[1:]) {
			return "<" + ref + ">"
		}
		return ref
	})
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes text safe for mrkdwn: no links, mentions or pings from it.
func escape(s string) string { return escaper.Replace(s) }

// clip cuts s to at most n bytes on a character boundary, marking the cut.
// Slack's limits are counted here in bytes, the strictest reading: a
// Chinese or emoji text never goes over, whatever Slack counts.
func clip(s string, n int) string { return textclip.Bytes(s, n, textclip.Ellipsis) }

// splitText cuts s into pieces of at most n bytes, preferring line ends and
// never inside a character.
func splitText(s string, n int) []string {
	var out []string
	s = textclip.Valid(s)
	for len(s) > n {
		cut := textclip.Bytes(s, n, "")
		if cut == "" {
			_, size := utf8.DecodeRuneInString(s) // n below one character: still move on
			cut = s[:size]
		}
		if i := strings.LastIndexByte(cut, '\n'); i > 0 {
			cut = cut[:i]
			out = append(out, cut)
			s = s[len(cut)+1:]
			continue
		}
		out = append(out, cut)
		s = s[len(cut):]
	}
	return append(out, s)
}

func capBlocks(b []slack.Block, n int) []slack.Block {
	if len(b) <= n {
		return b
	}
	out := append([]slack.Block(nil), b[:n-1]...)
	return append(out, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("… %d more blocks not shown", len(b)-n+1), false, false)))
}
