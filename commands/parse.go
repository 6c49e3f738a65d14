package commands

import (
	"strings"

	"github.com/google/shlex"
)

// MaxCommandBytes bounds a command line; longer ones are refused unread.
const MaxCommandBytes = 4096

// Split splits command text like a shell (quotes group words) and drops a
// leading "/ops" or "ops".
func Split(text string) ([]string, error) {
	words, err := shlex.Split(text)
	if err != nil {
		return nil, Errorf("cannot read the command: %v", err)
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
