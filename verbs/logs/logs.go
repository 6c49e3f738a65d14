// Package logs holds the `logs search` and `logs tail` verbs. The work is
// done by ops/logs; this package parses flags and shapes replies that fit a
// chat (first matches, counts per file, the full list as an attachment).
// Lines are matched and shown redacted (the registry's redactor, which
// redacts the whole Response again), and replies go to the requester alone
// unless --public asks for the channel.
package logs

import (
	"context"
	"errors"
	"fmt"
	"opsbot/ops"
	"sort"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	oplogs "opsbot/ops/logs"
	"opsbot/policy"
	"opsbot/textclip"
)

// Searcher is what the verbs need of ops/logs (*oplogs.Logs).
type Searcher interface {
	Search(ctx context.Context, q oplogs.Query) (*oplogs.Result, error)
	Tail(ctx context.Context, target, name string, n int) (*oplogs.TailResult, error)
}

var _ Searcher = (*oplogs.Logs)(nil)

// Deps are what the verbs need.
type Deps struct {
	Config func() *config.Config
	Logs   Searcher
}

// What fits in one chat message.
const (
	shownMatches = 10
	shownChars   = 1800
	shownLine    = 300
	progressStep = 512 << 20
)

// Verbs returns the logs verb with its search and tail subcommands.
func Verbs(d Deps) []*commands.Verb {
	target := func(c *commands.Call) string { return commands.DefaultTarget(d.Config(), c.Flag("target")) }
	targetFlag := commands.Flag{Name: "target", Help: "target whose logs to read (default: the only one)"}
	publicFlag := commands.Flag{Name: "public", Bool: true, Help: "show the reply to the channel (by default only you see it: it quotes log lines)"}
	return []*commands.Verb{{
		Name:    "logs",
		Summary: "search or tail the served service's logs by name (app, error, access, llm, performance, security)",
		Subs: []*commands.Verb{{
			Name:    "search",
			Access:  policy.Read,
			Summary: "search logs (literal unless --regex), rotated and gzipped files included, oldest first",
			Params:  []commands.Param{{Name: "pattern", Required: true, Rest: true, Help: "text to find; quote it when it has spaces"}},
			Flags: []commands.Flag{
				{Name: "file", Help: "log names, comma-separated (default: every log)", Suggest: logNames(d.Config())},
				{Name: "regex", Bool: true, Help: "the pattern is an RE2 regular expression"},
				{Name: "ignore-case", Short: "i", Bool: true, Help: "match regardless of case"},
				{Name: "level", Help: "only lines of this level (ERROR, WARN, INFO, DEBUG, …)"},
				{Name: "since", Help: "from a duration ago (1h, 30m, 2d) or a time (2026-11-25T10:00, in the log's time zone)", Kind: "string"},
				{Name: "until", Help: "up to a duration ago or a time", Kind: "string"},
				{Name: "limit", Help: fmt.Sprintf("matching lines to return (default %d, at most %d)", oplogs.DefaultLimit, oplogs.MaxLimit), Kind: "int"},
				{Name: "context", Short: "C", Help: fmt.Sprintf("lines of context around each match (at most %d)", oplogs.MaxContext), Kind: "int"},
				{Name: "count", Bool: true, Help: "counts per file only"},
				targetFlag,
				publicFlag,
			},
			Examples: []string{
				`/ops logs search "LLM API Error" --since 1h`,
				`/ops logs search "ERROR|timeout" --regex --file app,error -C 2`,
				`/ops logs search " 502 " --file access --count`,
			},
			Slow:    true,
			Private: true,
			Target:  target,
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				return search(ctx, d, c)
			},
		}, {
			Name:    "tail",
			Access:  policy.Read,
			Summary: "the last lines of a log",
			Params: []commands.Param{
				{Name: "name", Required: true, Help: "log name (app, error, access, …)"},
				{Name: "n", Help: fmt.Sprintf("number of lines (default %d, at most %d)", oplogs.DefaultTail, oplogs.MaxTail), Kind: "int"},
			},
			Flags:    []commands.Flag{targetFlag, publicFlag},
			Examples: []string{"/ops logs tail error", "/ops logs tail access 50", "/ops logs tail error 5 --public"},
			Private:  true,
			Target:   target,
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				return tail(ctx, d, c)
			},
		}},
	}}
}

// userError turns ops/logs bad-input errors into messages shown as they are.
func userError(err error) error {
	if errors.Is(err, oplogs.ErrInput) {
		return commands.Errorf("%v", err)
	}
	return err
}

func search(ctx context.Context, d Deps, c *commands.Call) (commands.Response, error) {
	q := oplogs.Query{
		Target:     c.Flag("target"),
		Pattern:    c.Arg(0),
		Regex:      c.Has("regex"),
		IgnoreCase: c.Has("ignore-case"),
		Level:      c.Flag("level"),
		Since:      c.Flag("since"),
		Until:      c.Flag("until"),
		CountOnly:  c.Has("count"),
		// Matched as shown: no pattern can probe a secret.
		Redactor: c.Redactor,
	}
	if f := c.Flag("file"); f != "" {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				q.Logs = append(q.Logs, name)
			}
		}
	}
	var err error
	if q.Limit, err = c.Int("limit", 0); err != nil {
		return commands.Response{}, err
	}
	if c.Has("limit") && q.Limit <= 0 {
		return commands.Response{}, commands.Errorf("--limit must be positive, got %d", q.Limit)
	}
	if q.Context, err = c.Int("context", 0); err != nil {
		return commands.Response{}, err
	}
	c.Progress("searching logs for %q…", textclip.Runes(q.Pattern, 80, textclip.Ellipsis))
	// One word per 512 MiB scanned, so a long search shows it is alive.
	next := int64(progressStep)
	q.Progress = func(n int64) {
		if n >= next {
			c.Progress("searching logs for %q: %s read…", textclip.Runes(q.Pattern, 80, textclip.Ellipsis), ops.Bytes(n))
			next = (n/progressStep + 1) * progressStep
		}
	}
	res, err := d.Logs.Search(ctx, q)
	stopped := ""
	if err != nil {
		if res == nil || ctx.Err() == nil {
			return commands.Response{}, userError(err)
		}
		stopped = "stopped early (" + ctx.Err().Error() + "): partial result"
	}
	return render(q, res, stopped), nil
}

// render shapes a result for chat: a summary, counts per log, the first
// matches, and every kept match as an attachment when they do not fit.
func render(q oplogs.Query, res *oplogs.Result, stopped string) commands.Response {
	title := fmt.Sprintf("logs search %q on %s", textclip.Runes(q.Pattern, 80, textclip.Ellipsis), res.Target)
	var fields []chat.Field
	for _, fc := range res.PerLog() {
		v := fmt.Sprintf("%d", fc.Count)
		if fc.Note != "" {
			v += " (" + fc.Note + ")"
		}
		fields = append(fields, chat.Field{Name: fc.Log, Value: v, Inline: true})
	}
	took := fmt.Sprintf("took %s, read %s", res.Elapsed.Round(time.Millisecond), ops.Bytes(res.Bytes))
	if stopped != "" {
		took += " · " + stopped
	}
	msg := chat.Message{Title: title, Fields: fields, Context: took}
	switch {
	case q.CountOnly:
		msg.Text = fmt.Sprintf("%d matching lines", res.Total)
		var b strings.Builder
		for _, fc := range res.Files {
			fmt.Fprintf(&b, "%-24s %10d", fc.Path, fc.Count)
			if fc.Note != "" {
				b.WriteString("  " + fc.Note)
			}
			b.WriteString("\n")
		}
		msg.Code = strings.TrimRight(b.String(), "\n")
	case res.Total == 0:
		msg.Text = "no matching lines"
	default:
		full := format(res.Matches, 0)
		shown := format(res.Matches[:min(shownMatches, len(res.Matches))], shownLine)
		shown = textclip.Bytes(shown, shownChars, "\n"+textclip.Ellipsis)
		msg.Code = shown
		n := min(shownMatches, len(res.Matches))
		msg.Text = fmt.Sprintf("%d matching lines; first %d below", res.Total, n)
		if n < len(res.Matches) || len(shown) < len(full) || res.Truncated {
			kept := fmt.Sprintf("%d", len(res.Matches))
			if res.Truncated {
				kept = fmt.Sprintf("the first %d (raise --limit for more)", len(res.Matches))
			}
			msg.Text += fmt.Sprintf("; %s attached", kept)
			msg.Files = []chat.File{{Name: "logs-search-" + res.Target + ".txt", Mime: "text/plain", Data: []byte(header(q, res) + full)}}
		}
	}
	return commands.Response{Message: msg}
}

// format writes matches as grep -C does: "file:line" for matches,
// "file-line" for context, "--" between groups; context shared by close
// matches is written once.
func format(ms []oplogs.Match, lineMax int) string {
	var b strings.Builder
	lastPath, lastOff, lastEnd := "", int64(-1), int64(-1)
	write := func(path string, l oplogs.Line, sep byte) {
		if path == lastPath && l.Off <= lastOff {
			return
		}
		lastEnd = l.Off + int64(len(l.Text)) + 1
		b.WriteString(path)
		b.WriteByte(sep)
		if lineMax > 0 {
			b.WriteString(textclip.Bytes(l.Text, lineMax, textclip.Ellipsis))
		} else {
			b.WriteString(l.Text)
		}
		b.WriteByte('\n')
		lastPath, lastOff = path, l.Off
	}
	for i, m := range ms {
		grouped := len(m.Before) > 0 || len(m.After) > 0
		if grouped && i > 0 {
			first := m.Line
			if len(m.Before) > 0 {
				first = m.Before[0]
			}
			if m.Path != lastPath || first.Off > lastEnd {
				// A gap: the groups do not touch.
				b.WriteString("--\n")
			}
		}
		for _, l := range m.Before {
			write(m.Path, l, '-')
		}
		write(m.Path, m.Line, ':')
		for _, l := range m.After {
			write(m.Path, l, '-')
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func header(q oplogs.Query, res *oplogs.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# logs search %q on %s", q.Pattern, res.Target)
	for _, f := range []struct {
		on bool
		s  string
	}{{q.Regex, "--regex"}, {q.IgnoreCase, "--ignore-case"}} {
		if f.on {
			b.WriteString(" " + f.s)
		}
	}
	for _, f := range [][2]string{{"level", q.Level}, {"since", q.Since}, {"until", q.Until}} {
		if f[1] != "" {
			fmt.Fprintf(&b, " --%s %s", f[0], f[1])
		}
	}
	fmt.Fprintf(&b, "\n# %d matching lines, %d below\n", res.Total, len(res.Matches))
	for _, fc := range res.Files {
		fmt.Fprintf(&b, "#   %-24s %d", fc.Path, fc.Count)
		if fc.Note != "" {
			b.WriteString("  (" + fc.Note + ")")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func tail(ctx context.Context, d Deps, c *commands.Call) (commands.Response, error) {
	n := 0
	if s := c.Arg(1); s != "" {
		var err error
		if _, err = fmt.Sscanf(s, "%d", &n); err != nil || fmt.Sprint(n) != s {
			return commands.Response{}, commands.Errorf("the number of lines must be a whole number, got %q", textclip.Runes(s, 20, textclip.Ellipsis))
		}
		if n <= 0 {
			return commands.Response{}, commands.Errorf("the number of lines must be between 1 and %d, got %d", oplogs.MaxTail, n)
		}
	}
	res, err := d.Logs.Tail(ctx, c.Flag("target"), c.Arg(0), n)
	if err != nil {
		return commands.Response{}, userError(err)
	}
	msg := chat.Message{Title: fmt.Sprintf("logs tail %s on %s (%s)", res.Log, res.Target, res.Path)}
	if len(res.Lines) == 0 {
		msg.Text = "the log is empty"
		return commands.Response{Message: msg}, nil
	}
	// Redacted before anything is cut, so no cut can split a secret out of
	// sight of the redactor; whole, so a private key's block is one mask.
	full := c.Redactor.Redact(strings.Join(res.Lines, "\n"))
	lines := strings.Split(full, "\n")
	// The newest lines matter most: when they do not fit, show the last ones.
	shown := make([]string, 0, len(lines))
	size := 0
	for i := len(lines) - 1; i >= 0; i-- {
		l := textclip.Bytes(lines[i], shownLine, textclip.Ellipsis)
		if size+len(l)+1 > shownChars {
			break
		}
		shown = append(shown, l)
		size += len(l) + 1
	}
	for i, j := 0, len(shown)-1; i < j; i, j = i+1, j-1 {
		shown[i], shown[j] = shown[j], shown[i]
	}
	msg.Code = strings.Join(shown, "\n")
	msg.Text = fmt.Sprintf("last %d lines", len(res.Lines))
	if len(msg.Code) < len(full) {
		msg.Text = fmt.Sprintf("last %d lines; the newest %d below, all attached", len(res.Lines), len(shown))
		msg.Files = []chat.File{{Name: "logs-tail-" + res.Log + ".txt", Mime: "text/plain", Data: []byte(full + "\n")}}
	}
	if res.Cut {
		msg.Context = "lines too long: the tail stops at the last 8 MiB"
	}
	return commands.Response{Message: msg}, nil
}

// logNames are the configured log names of every target, for platforms that
// offer choices.
func logNames(cfg *config.Config) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range cfg.Targets {
		for n := range t.Logs {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}
