package commands

import (
	"strings"
	"unicode"
)

// MaxCommandBytes bounds a command line; longer ones are refused unread.
const MaxCommandBytes = 4096

// Split splits command text like a shell and drops a leading "/ops" or
// "ops". Words are separated by any white space (an input method's
// ideographic space too). Double quotes group words, and a backslash in
// them escapes only '"' and itself, so a regexp such as "took \d+ms" reads
// as typed; single quotes take everything literally; a backslash outside
// quotes escapes the next character; quoted parts join the word they touch.
// Unlike a shell, "#" starts no comment: `note 42 fixed #123` keeps every
// word (Slack turns channel links into "#name", too). Bytes that are not
// UTF-8 become U+FFFD.
func Split(text string) ([]string, error) {
	var (
		words           []string
		cur             strings.Builder
		inWord, escaped bool
		quote           rune // '"' or '\'' while inside quotes
	)
	for i, r := range text {
		next := rune(0)
		if i+1 < len(text) {
			next = rune(text[i+1])
		}
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch {
			case r == '"':
				quote = 0
			case r == '\\' && (next == '"' || next == '\\'):
				escaped = true
			default:
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == '\\':
			escaped, inWord = true, true
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	switch {
	case quote != 0:
		return nil, Errorf("cannot read the command: a %c quote is not closed", quote)
	case escaped:
		return nil, Errorf("cannot read the command: nothing follows the last backslash")
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) > 0 && (words[0] == "/ops" || words[0] == "ops") {
		words = words[1:]
	}
	return words, nil
}

// bind resolves the verb path and parses flags (anywhere after the verb,
// "--flag value", "--flag=value", "-C 3") and positionals.
func bind(v *Verb, path string, words []string) (*Verb, string, []string, map[string]string, error) {
	for len(v.Subs) > 0 {
		var sub *Verb
		if len(words) > 0 {
			sub = v.Sub(words[0])
		}
		if sub != nil {
			words = words[1:]
		} else if v.Default != "" {
			sub = v.Sub(v.Default)
		} else if len(words) == 0 {
			return v, path, nil, nil, Errorf("%s needs a subcommand\n%s", path, UsageLine(v, path))
		} else {
			return v, path, nil, nil, Errorf("unknown subcommand %q for %s\n%s", words[0], path, UsageLine(v, path))
		}
		path += " " + sub.Name
		v = sub
	}
	flags := map[string]string{}
	var pos []string
	onlyPos := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" && !onlyPos {
			onlyPos = true
			continue
		}
		// A dash before a digit is a value (-5, -5m), never a flag name.
		if onlyPos || len(w) < 2 || w[0] != '-' || (w[1] >= '0' && w[1] <= '9') {
			pos = append(pos, w)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(w, "-"), "=")
		f := findFlag(v, name, !strings.HasPrefix(w, "--"))
		if f == nil {
			return v, path, nil, nil, Errorf("unknown flag %s for %s\n%s", w, path, UsageLine(v, path))
		}
		if f.Bool {
			if hasVal {
				return v, path, nil, nil, Errorf("--%s takes no value\n%s", f.Name, UsageLine(v, path))
			}
			flags[f.Name] = "true"
			continue
		}
		if !hasVal {
			if i+1 >= len(words) {
				return v, path, nil, nil, Errorf("--%s needs a value\n%s", f.Name, UsageLine(v, path))
			}
			i++
			val = words[i]
		}
		if len(f.Choices) > 0 && !contains(f.Choices, val) {
			return v, path, nil, nil, Errorf("--%s must be one of %s, got %q", f.Name, strings.Join(f.Choices, ", "), val)
		}
		flags[f.Name] = val
	}
	// Positionals against params.
	var args []string
	for i, p := range v.Params {
		if p.Rest {
			if i < len(pos) {
				args = append(args, strings.Join(pos[i:], " "))
			} else if p.Required {
				return v, path, nil, nil, Errorf("%s needs <%s>\n%s", path, p.Name, UsageLine(v, path))
			}
			pos = nil
			break
		}
		if i < len(pos) {
			if len(p.Choices) > 0 && !contains(p.Choices, pos[i]) {
				return v, path, nil, nil, Errorf("%s must be one of %s, got %q", p.Name, strings.Join(p.Choices, ", "), pos[i])
			}
			args = append(args, pos[i])
		} else if p.Required {
			return v, path, nil, nil, Errorf("%s needs <%s>\n%s", path, p.Name, UsageLine(v, path))
		}
	}
	if len(pos) > len(v.Params) && (len(v.Params) == 0 || !v.Params[len(v.Params)-1].Rest) {
		return v, path, nil, nil, Errorf("too many arguments for %s: %q\n%s", path, pos[len(v.Params)], UsageLine(v, path))
	}
	return v, path, args, flags, nil
}

func findFlag(v *Verb, name string, short bool) *Flag {
	for i := range v.Flags {
		f := &v.Flags[i]
		if f.Name == name || (short && f.Short != "" && f.Short == name) {
			return f
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
