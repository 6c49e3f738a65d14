package commands

import (
	"strconv"
	"strings"
	"time"
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
	if len(words) > 0 && (strings.EqualFold(words[0], "/ops") || strings.EqualFold(words[0], "ops")) {
		words = words[1:]
	}
	return words, nil
}

// bind resolves the verb path and parses flags (anywhere after the verb,
// "--flag value", "--flag=value", "-C 3") and positionals. Names of
// subcommands, flags and closed-set values are case-insensitive and may be
// aliases; a near miss is refused with a suggestion. targets are the
// configured target names, so a target named after a subcommand typo is
// still read as a target.
func bind(v *Verb, path string, words []string, targets []string) (*Verb, string, []string, map[string]string, error) {
	for len(v.Subs) > 0 {
		var sub *Verb
		if len(words) > 0 {
			sub = v.Sub(words[0])
		}
		switch {
		case sub != nil:
			words = words[1:]
		case len(words) > 0 && mistypedSub(v, words[0], targets):
			// "backup restor 1" is a typo of restore, never "backup create restor 1".
			return v, path, nil, nil, Errorf("unknown subcommand %q for %s; %s\n%s", clipWord(words[0]), opsForm(path), Hint(words[0], "subcommands", v.SubNames()), UsageLine(v, path))
		case v.Default != "":
			sub = v.Sub(v.Default)
		case len(words) == 0:
			return v, path, nil, nil, Errorf("%s needs a subcommand: %s\n%s", opsForm(path), strings.Join(v.SubNames(), ", "), UsageLine(v, path))
		default:
			return v, path, nil, nil, Errorf("unknown subcommand %q for %s; %s\n%s", clipWord(words[0]), opsForm(path), Hint(words[0], "subcommands", v.SubNames()), UsageLine(v, path))
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
			names := make([]string, len(v.Flags))
			for i, f := range v.Flags {
				names[i] = "--" + f.Name
			}
			hint := Hint("--"+strings.ToLower(name), "flags", names)
			if len(names) == 0 {
				hint = opsForm(path) + " takes no flags"
			}
			return v, path, nil, nil, Errorf("unknown flag %s for %s; %s\n%s", clipWord(w), opsForm(path), hint, UsageLine(v, path))
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
		if len(f.Choices) > 0 {
			c, ok := choice(f.Choices, f.Aliases, val)
			if !ok {
				return v, path, nil, nil, Errorf("--%s must be one of %s, got %q%s", f.Name, strings.Join(f.Choices, ", "), clipWord(val), nearOr(val, f.Choices))
			}
			val = c
		}
		flags[f.Name] = val
	}
	if err := swapped(v, path, pos, flags); err != nil {
		return v, path, nil, nil, err
	}
	// Positionals against params.
	var args []string
	for i, p := range v.Params {
		if p.Rest {
			if i < len(pos) {
				args = append(args, strings.Join(pos[i:], " "))
			} else if p.Required {
				return v, path, nil, nil, Errorf("%s needs <%s>\n%s", opsForm(path), p.Name, UsageLine(v, path))
			}
			pos = nil
			break
		}
		if i < len(pos) {
			val := pos[i]
			if len(p.Choices) > 0 {
				c, ok := choice(p.Choices, p.Aliases, val)
				if !ok {
					return v, path, nil, nil, Errorf("%s must be one of %s, got %q%s", p.Name, strings.Join(p.Choices, ", "), clipWord(val), nearOr(val, p.Choices))
				}
				val = c
			}
			args = append(args, val)
		} else if p.Required {
			return v, path, nil, nil, Errorf("%s needs <%s>\n%s", opsForm(path), p.Name, UsageLine(v, path))
		}
	}
	if len(pos) > len(v.Params) && (len(v.Params) == 0 || !v.Params[len(v.Params)-1].Rest) {
		return v, path, nil, nil, Errorf("too many arguments for %s: %q\n%s", opsForm(path), clipWord(pos[len(v.Params)]), UsageLine(v, path))
	}
	return v, path, args, flags, nil
}

// nearOr is the tail of a bad-choice error: "; did you mean x?" when one
// choice is near, else nothing (the choices are listed already).
func nearOr(val string, choices []string) string {
	if s, ok := Nearest(val, choices); ok {
		return "; did you mean " + s + "?"
	}
	return ""
}

// mistypedSub reports whether word, given where v expects a subcommand, is
// a near miss of one (and not a target name the default subcommand takes).
func mistypedSub(v *Verb, word string, targets []string) bool {
	if strings.HasPrefix(word, "-") || v.Default == "" {
		return false
	}
	for _, t := range targets {
		if strings.EqualFold(t, word) {
			return false
		}
	}
	var names []string
	for _, s := range v.Subs {
		names = append(names, s.Name)
		names = append(names, s.Aliases...)
	}
	_, ok := Nearest(word, names)
	return ok
}

// fits reports whether word is a valid value of p by its type alone.
func fits(p Param, word string) bool {
	if len(p.Choices) > 0 {
		_, ok := choice(p.Choices, p.Aliases, word)
		return ok
	}
	switch p.Kind {
	case "int":
		_, err := strconv.Atoi(strings.TrimPrefix(word, "#"))
		return err == nil
	case "number":
		_, err := strconv.ParseFloat(word, 64)
		return err == nil
	case "duration":
		return looksLikeDuration(word)
	case "user":
		return strings.HasPrefix(word, "@") || strings.HasPrefix(word, "<@")
	}
	return true
}

// typed reports whether p has a type that can tell words apart.
func typed(p Param) bool { return len(p.Choices) > 0 || p.Kind != "" }

// swapped recognises two adjacent positionals given in each other's place
// where their types make it clear ("logs tail 5 error"): it answers with
// the command as meant.
func swapped(v *Verb, path string, pos []string, flags map[string]string) error {
	for i := 0; i+1 < len(v.Params) && i+1 < len(pos); i++ {
		a, b := v.Params[i], v.Params[i+1]
		if a.Rest || b.Rest || (!typed(a) && !typed(b)) {
			continue
		}
		// Wrong as given, right the other way round; one of the two has
		// a type, so "the other way round" is told by it.
		if (!fits(a, pos[i]) || !fits(b, pos[i+1])) && fits(a, pos[i+1]) && fits(b, pos[i]) {
			fixed := append([]string(nil), pos...)
			fixed[i], fixed[i+1] = fixed[i+1], fixed[i]
			return Errorf("<%s> and <%s> are the other way round; did you mean `%s`?\n%s", a.Name, b.Name, commandLine(path, fixed, v, flags), UsageLine(v, path))
		}
	}
	return nil
}

// commandLine writes a call back as it would be typed.
func commandLine(path string, pos []string, v *Verb, flags map[string]string) string {
	parts := []string{opsForm(path)}
	for _, p := range pos {
		parts = append(parts, quoteWord(p))
	}
	for _, f := range v.Flags {
		val, ok := flags[f.Name]
		if !ok {
			continue
		}
		if f.Bool {
			parts = append(parts, "--"+f.Name)
		} else {
			parts = append(parts, "--"+f.Name, quoteWord(val))
		}
	}
	return strings.Join(parts, " ")
}

// quoteWord quotes a word that Split would otherwise cut or change.
func quoteWord(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t\"'\\") {
		return w
	}
	return strconv.Quote(w)
}

// looksLikeDuration accepts what the verbs read as a duration: Go's form
// (90s, 1h30m) and days (2d).
func looksLikeDuration(w string) bool {
	if _, err := time.ParseDuration(w); err == nil {
		return true
	}
	if n, ok := strings.CutSuffix(w, "d"); ok {
		_, err := strconv.Atoi(n)
		return err == nil
	}
	return false
}

func findFlag(v *Verb, name string, short bool) *Flag {
	for i := range v.Flags {
		f := &v.Flags[i]
		if strings.EqualFold(f.Name, name) || (short && f.Short != "" && f.Short == name) {
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
