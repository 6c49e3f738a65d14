package commands

import (
	"errors"
	"maps"
	"opsbot/policy"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// userMessageProblem says what is wrong with msg as an error shown to a
// user ("" when nothing): one line of plain words in the house style, no
// trace of Go's formatting or internals. What the user wrote (quoted, or
// given as user) is left out of the search for internals: it may hold
// anything.
func userMessageProblem(msg string, user ...string) string {
	r, _ := utf8.DecodeRuneInString(msg)
	switch {
	case strings.TrimSpace(msg) == "":
		return "empty"
	case strings.ContainsAny(msg, "\r\n"):
		return "more than one line"
	case !utf8.ValidString(msg):
		return "invalid UTF-8"
	case unicode.IsUpper(r):
		return "starts with a capital"
	}
	ours := quoted.ReplaceAllString(msg, `""`)
	for _, u := range user {
		if u != "" {
			ours = strings.ReplaceAll(ours, u, "")
		}
	}
	for _, noise := range []string{"%!", "Go struct", "Go value", "runtime error", "goroutine", "reflect.", "<nil>"} {
		if strings.Contains(ours, noise) {
			return "Go internals: " + noise
		}
	}
	return ""
}

// quoted matches a Go-quoted string (%q) in a message.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// quoteWords is the printer of Split: words written so that Split reads
// them back as they are.
func quoteWords(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if w != "" && !strings.ContainsFunc(w, func(r rune) bool {
			return !(r < utf8.RuneSelf && (r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ':' || r == ',' || r == '@' || r == '%' || r == '+' ||
				'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'))
		}) {
			out[i] = w
			continue
		}
		out[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`
	}
	return strings.Join(out, " ")
}

// FuzzSplit: command text splits into words or gives a user error; the
// words printed back (quoted where needed) split into the same words; and
// text of plain words (no quotes, no backslashes) splits where its spaces
// are, whatever the words hold.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		`/ops logs search "LLM API Error" --file app -C 3`,
		`ops status api`,
		`incident note 42 deploy #42 rolled back`,
		`silence target=api 2h "noisy during migration"`,
		`logs search 'it''s' --regex`,
		`echo "unterminated`,
		`echo trailing\`,
		`capacity 1000 10% 12`,
		"status\tapi\n",
		`incident open "数据库 宕机" --sev critical`,
		`logs search "a \"quoted\" word" --ignore-case`,
		`logs search -- -v`,
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		words, err := Split(text)
		if err != nil {
			var ue *UserError
			if !errors.As(err, &ue) {
				t.Fatalf("Split(%q): %T is not a user error: %v", text, err, err)
			}
			if p := userMessageProblem(ue.Msg); p != "" {
				t.Fatalf("Split(%q) error %q: %s", text, ue.Msg, p)
			}
			return
		}
		printed := "/ops " + quoteWords(words)
		again, err := Split(printed)
		if err != nil || !slices.Equal(again, words) {
			t.Fatalf("Split(%q) = %q, printed %q, read back %q (%v)", text, words, printed, again, err)
		}
		if utf8.ValidString(text) && !strings.ContainsAny(text, `"'\`) {
			plain := strings.Fields(text)
			if len(plain) > 0 && (plain[0] == "/ops" || plain[0] == "ops") {
				plain = plain[1:]
			}
			if len(plain) == 0 {
				plain = nil
			}
			if len(words) == 0 {
				words = nil
			}
			if !slices.Equal(words, plain) {
				t.Fatalf("Split(%q) = %q, want the words as typed %q", text, words, plain)
			}
		}
	})
}

// fuzzVerbs are verbs shaped like the real ones: subcommands with a
// default, a rest parameter, flags with short names, booleans, choices.
func fuzzVerbs() map[string]*Verb {
	vs := []*Verb{
		{Name: "logs", Subs: []*Verb{
			{Name: "search", Params: []Param{{Name: "pattern", Required: true, Rest: true}}, Flags: []Flag{
				{Name: "file"}, {Name: "regex", Bool: true}, {Name: "ignore-case", Short: "i", Bool: true},
				{Name: "level", Choices: []string{"DEBUG", "INFO", "WARN", "ERROR"}}, {Name: "since"}, {Name: "until"},
				{Name: "limit", Kind: "int"}, {Name: "context", Short: "C", Kind: "int"}, {Name: "count", Bool: true},
			}},
			{Name: "tail", Params: []Param{{Name: "name", Required: true}, {Name: "n"}}},
		}},
		{Name: "backup", Default: "create", Subs: []*Verb{
			{Name: "create"}, {Name: "list"}, {Name: "verify", Params: []Param{{Name: "id"}}},
			{Name: "restore", Params: []Param{{Name: "id", Required: true}}, Access: policy.Dangerous},
		}},
		{Name: "capacity", Params: []Param{{Name: "users", Required: true}, {Name: "growth", Required: true}, {Name: "months", Required: true}}},
		{Name: "silence", Params: []Param{{Name: "matcher", Required: true}, {Name: "duration", Required: true}, {Name: "reason", Rest: true}}},
		{Name: "subscriptions", Params: []Param{{Name: "action", Choices: []string{"test"}}, {Name: "kind"}, {Name: "severity"}}, Flags: []Flag{{Name: "min-severity", Choices: []string{"warning", "critical"}}}},
		{Name: "monitor", Params: []Param{{Name: "target"}}, Flags: []Flag{{Name: "json", Bool: true}}},
		{Name: "cleanup", Flags: []Flag{{Name: "dry-run", Bool: true}}},
	}
	m := map[string]*Verb{}
	for _, v := range vs {
		m[v.Name] = v
	}
	return m
}

// printCall is the printer of bind: the explicit path, every flag as
// --name=value (or --name), then "--" and the positionals.
func printCall(path string, args []string, flags map[string]string, leaf *Verb) []string {
	words := strings.Fields(path)
	for _, name := range slices.Sorted(maps.Keys(flags)) {
		if f := findFlag(leaf, name, false); f != nil && f.Bool {
			words = append(words, "--"+name)
			continue
		}
		words = append(words, "--"+name+"="+flags[name])
	}
	return append(append(words, "--"), args...)
}

// FuzzBind: words bound to a verb give a call or a user error whose first
// line is the reason (further lines only the usage); a call printed back
// as words, and those as text, binds to the same call.
func FuzzBind(f *testing.F) {
	for _, s := range []string{
		`logs search "LLM API Error" --file app -C 3 --level ERROR`,
		`logs search --regex -i 'time(out)?' --since=1h --until 2026-11-25T10:00`,
		`logs search -- -v --count`,
		`logs search --limit`,
		`logs search x --level LOUD`,
		`logs tail app 50 extra`,
		`logs`,
		`logs frobnicate`,
		`backup`,
		`backup restore 12`,
		`backup restore`,
		`capacity 1000 10% 12`,
		`capacity 1000 -5 12`,
		`silence target=api 2h noisy during the migration`,
		`subscriptions test external critical --min-severity=warning`,
		`subscriptions retest`,
		`monitor api --json=yes`,
		`cleanup --dry-run --dry-run`,
		`cleanup --bogus`,
		`logs search "" -C=`,
	} {
		f.Add(s)
	}
	verbs := fuzzVerbs()
	f.Fuzz(func(t *testing.T, text string) {
		words, err := Split(text)
		if err != nil || len(words) == 0 {
			return
		}
		v := verbs[words[0]]
		if v == nil {
			return
		}
		leaf, path, args, flags, err := bind(v, v.Name, words[1:], nil)
		if err != nil {
			var ue *UserError
			if !errors.As(err, &ue) {
				t.Fatalf("bind(%q): %T is not a user error: %v", words, err, err)
			}
			reason, usage, _ := strings.Cut(ue.Msg, "\n")
			if p := userMessageProblem(reason, words...); p != "" {
				t.Fatalf("bind(%q) error %q: %s", words, ue.Msg, p)
			}
			if usage != "" && (!strings.HasPrefix(usage, "usage: ") || strings.Contains(usage, "\n")) {
				t.Fatalf("bind(%q) error %q: more than the reason and one usage line", words, ue.Msg)
			}
			return
		}
		printed := printCall(path, args, flags, leaf)
		leaf2, path2, args2, flags2, err := bind(v, v.Name, printed[1:], nil)
		if err != nil || leaf2 != leaf || path2 != path || !slices.Equal(args2, args) || !maps.Equal(flags2, flags) {
			t.Fatalf("bind(%q) = %s %q %v; printed %q binds to %s %q %v (%v)", words, path, args, flags, printed, path2, args2, flags2, err)
		}
		text2 := "/ops " + quoteWords(printed)
		if words2, err := Split(text2); err != nil || !slices.Equal(words2, printed) {
			t.Fatalf("printed words %q as text %q read back as %q (%v)", printed, text2, words2, err)
		}
	})
}
