// Package console is the terminal adapter: `opsbot shell` reads commands
// from a terminal or a pipe and shows replies, and the same Poster shows
// alerts and incident threads posted to the "console" channel.
package console

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"opsbot/chat"
)

// Poster prints messages to a writer. Replies in a thread are indented
// under their parent's number; updates are shown as such.
type Poster struct {
	mu      sync.Mutex
	w       io.Writer
	seq     int
	FileDir string // where attachments are written; "" keeps them in memory only
	// shown is what each recent message last showed, so an update can be
	// printed as the one line that changed.
	shown map[string][]string
	order []string
}

// maxShown bounds the messages whose text is kept for updates.
const maxShown = 200

var _ chat.Poster = (*Poster)(nil)

// NewPoster prints to w.
func NewPoster(w io.Writer) *Poster { return &Poster{w: w} }

// Post prints m as a new message.
func (p *Poster) Post(ctx context.Context, channel string, m chat.Message) (chat.Ref, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	id := strconv.Itoa(p.seq)
	text := p.render(m, "")
	p.remember(id, text)
	fmt.Fprintf(p.w, "[#%s] %s\n", id, text)
	return chat.Ref{Platform: "console", Channel: channel, ID: id}, nil
}

// Update prints the new version of a message.
func (p *Poster) Update(ctx context.Context, ref chat.Ref, m chat.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	text := p.render(m, "")
	old, known := p.shown[ref.ID]
	p.remember(ref.ID, text)
	if !known {
		fmt.Fprintf(p.w, "[#%s updated] %s\n", ref.ID, text)
		return nil
	}
	fmt.Fprintf(p.w, "[#%s updated] %s\n", ref.ID, change(old, strings.Split(text, "\n")))
	return nil
}

// change words an update as one line: its first line (tag and title),
// and the lines that are new, joined ("Stage: assessment · Elapsed: 4 min").
func change(old, now []string) string {
	head := now[0]
	was := map[string]bool{}
	for _, l := range old {
		was[l] = true
		for _, part := range contextParts(l) {
			was[part] = true
		}
	}
	var changed []string
	for _, l := range now[1:] {
		l = strings.TrimSpace(l)
		if l == "" || was[l] || strings.HasPrefix(l, "[") {
			continue
		}
		if parts := contextParts(l); parts != nil {
			// A context line changes with the clock ("as of …"); only
			// what it newly says counts ("acknowledged by …").
			for _, part := range parts {
				if !was[part] && !strings.HasPrefix(part, "as of ") {
					changed = append(changed, part)
				}
			}
			continue
		}
		changed = append(changed, l)
	}
	if len(changed) > 0 {
		return head + " — " + strings.Join(changed, " · ")
	}
	if len(old) > 0 && old[0] == head {
		return head + " (no visible change)"
	}
	return head
}

// contextParts splits a context line "(a · b)" into its parts; nil when l
// is not one.
func contextParts(l string) []string {
	if !strings.HasPrefix(l, "(") || !strings.HasSuffix(l, ")") {
		return nil
	}
	return strings.Split(l[1:len(l)-1], " · ")
}

func (p *Poster) remember(id, text string) {
	if p.shown == nil {
		p.shown = map[string][]string{}
	}
	if _, ok := p.shown[id]; !ok {
		p.order = append(p.order, id)
		if len(p.order) > maxShown {
			delete(p.shown, p.order[0])
			p.order = p.order[1:]
		}
	}
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	p.shown[id] = lines
}

// Reply prints m indented under its parent.
func (p *Poster) Reply(ctx context.Context, parent chat.Ref, m chat.Message) (chat.Ref, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	thread := parent.Thread
	if thread == "" {
		thread = parent.ID
	}
	p.seq++
	id := strconv.Itoa(p.seq)
	fmt.Fprintf(p.w, "    ↳ [#%s in #%s] %s\n", id, thread, p.render(m, "      "))
	return chat.Ref{Platform: "console", Channel: parent.Channel, ID: id, Thread: thread}, nil
}

// Write prints a command's response (no sequence number).
func (p *Poster) Write(m chat.Message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, p.render(m, ""))
}

func (p *Poster) writer() io.Writer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w
}

// setWriter sends the output to w until the returned func restores it.
func (p *Poster) setWriter(w io.Writer) (restore func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.w
	p.w = w
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.w = old
	}
}

// Prompt prints a prompt without a newline.
func (p *Poster) Prompt(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, s)
}

func (p *Poster) render(m chat.Message, indent string) string {
	var b strings.Builder
	line := func(s string) {
		for _, l := range strings.Split(s, "\n") {
			b.WriteString("\n" + indent + l)
		}
	}
	head, text := m.Title, m.Text
	tag := sevTag(m.Severity)
	if head == "" && tag != "" && text != "" {
		// No title: the tag leads the text's first line ("[WARNING] unknown
		// flag …"), not a line of its own.
		head, text, _ = strings.Cut(text, "\n")
	}
	if tag != "" {
		head = strings.TrimSpace(tag + " " + head)
	}
	if len(m.Mentions) > 0 {
		head += " " + strings.Join(m.Mentions, " ")
	}
	b.WriteString(head)
	if text != "" {
		if head == "" {
			b.WriteString(strings.ReplaceAll(text, "\n", "\n"+indent))
		} else {
			line(text)
		}
	}
	for _, f := range m.Fields {
		line(fmt.Sprintf("  %s: %s", f.Name, f.Value))
	}
	if m.Code != "" {
		line(m.Code)
	}
	if m.Context != "" {
		line("(" + m.Context + ")")
	}
	for _, f := range m.Files {
		line(p.saveFile(f))
	}
	for _, bt := range m.Buttons {
		line(fmt.Sprintf("[%s]", bt.Label))
	}
	return strings.TrimLeft(b.String(), "\n")
}

func (p *Poster) saveFile(f chat.File) string {
	if p.FileDir == "" {
		return fmt.Sprintf("attachment %s (%d bytes)", f.Name, len(f.Data))
	}
	if err := os.MkdirAll(p.FileDir, 0o750); err == nil {
		path := filepath.Join(p.FileDir, filepath.Base(f.Name))
		if err := os.WriteFile(path, f.Data, 0o640); err == nil {
			return fmt.Sprintf("attachment %s (%d bytes): %s", f.Name, len(f.Data), path)
		}
	}
	return fmt.Sprintf("attachment %s (%d bytes, not saved)", f.Name, len(f.Data))
}

func sevTag(s chat.Severity) string {
	switch s {
	case chat.SevCritical:
		return "[CRITICAL]"
	case chat.SevWarning:
		return "[WARNING]"
	case chat.SevResolved:
		return "[RESOLVED]"
	case chat.SevOK:
		return "[OK]"
	}
	return ""
}
