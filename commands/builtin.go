package commands

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"opsbot/chat"
	"opsbot/human"
	"opsbot/policy"
)

func (r *Registry) helpVerb() *Verb {
	return &Verb{
		Name:     "help",
		Access:   policy.Read,
		Summary:  "list the commands, or show one command's usage",
		Params:   []Param{{Name: "verb", Help: "a command to explain"}},
		Examples: []string{"/ops help", "/ops help logs"},
		Run: func(ctx context.Context, c *Call) (Response, error) {
			if name := c.Arg(0); name != "" {
				v := r.Lookup(name)
				if v == nil {
					return Response{}, r.UnknownVerb(name)
				}
				return Response{Message: chat.Message{Title: "/ops " + v.Name, Text: describe(r.Policy(), v, v.Name, r.targetNames())}, Ephemeral: true}, nil
			}
			var b strings.Builder
			for _, v := range r.Verbs() {
				mark := ""
				if isGuarded(v) {
					mark = " (guarded)"
				}
				fmt.Fprintf(&b, "%-13s %s%s\n", v.Name, v.Summary, mark)
			}
			return Response{Message: chat.Message{Title: "opsbot commands", Code: strings.TrimRight(b.String(), "\n"), Context: "`/ops help <command>` for usage and examples"}, Ephemeral: true}, nil
		},
	}
}

func isGuarded(v *Verb) bool {
	if v.Access == policy.Dangerous {
		return true
	}
	for _, s := range v.Subs {
		if isGuarded(s) {
			return true
		}
	}
	return false
}

func describe(pol *policy.Policy, v *Verb, path string, targets []string) string {
	var b strings.Builder
	b.WriteString(v.Summary + "\n" + UsageLine(v, "/ops "+path) + "\n")
	type row struct{ name, help string }
	var rows []row
	for _, p := range v.Params {
		if h := PlaceholderHelp(p.Help, p.Choices, p.Aliases); h != "" {
			rows = append(rows, row{"<" + p.Name + ">", h})
		}
	}
	for _, f := range v.Flags {
		name := "--" + f.Name
		if f.Short != "" {
			name = "-" + f.Short + ", " + name
		}
		rows = append(rows, row{name, PlaceholderHelp(f.Help, f.Choices, f.Aliases)})
	}
	// One column for the verb's names, as wide as the longest.
	width := 14
	for _, r := range rows {
		width = max(width, len(r.name))
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s %s\n", width, r.name, r.help)
	}
	if len(v.Subs) == 0 {
		if who := whoMay(pol, v.Access, path); who != "" {
			b.WriteString("  " + who + "\n")
		}
	}
	for _, s := range v.Subs {
		b.WriteString("\n" + describe(pol, s, path+" "+s.Name, targets) + "\n")
	}
	if len(v.Examples) > 0 {
		if len(v.Subs) > 0 {
			b.WriteString("\n")
		}
		ex := make([]string, len(v.Examples))
		for i, e := range v.Examples {
			ex[i] = Example(e, targets)
		}
		b.WriteString("examples:\n  " + strings.Join(ex, "\n  ") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// PlaceholderHelp is a placeholder's help with its closed set of values,
// when it has one and the help does not list them already: "the stage to
// move to; one of: discovery, assessment, …". Aliases are named too.
func PlaceholderHelp(help string, choices []string, aliases map[string]string) string {
	if len(choices) == 0 {
		return help
	}
	listed := true
	for _, c := range choices {
		if !strings.Contains(help, c) {
			listed = false
			break
		}
	}
	out := help
	if !listed {
		if out != "" {
			out += "; "
		}
		out += "one of: " + strings.Join(choices, ", ")
	}
	if len(aliases) > 0 {
		byChoice := map[string][]string{}
		for a, c := range aliases {
			byChoice[c] = append(byChoice[c], a)
		}
		var parts []string
		for _, c := range choices {
			if as := byChoice[c]; len(as) > 0 {
				sort.Strings(as)
				parts = append(parts, strings.Join(as, "/")+" = "+c)
			}
		}
		if len(parts) > 0 {
			out += " (" + strings.Join(parts, ", ") + ")"
		}
	}
	return out
}

// exampleWord and exampleLabel find the target names examples are written
// with: a word api, api-1, api-2, or such a name or db after target= or
// --target (elsewhere "db" is a symptom).
var (
	exampleWord  = regexp.MustCompile(`(^|\s)(api(?:-[0-9])?)(\s|$)`)
	exampleLabel = regexp.MustCompile(`(target=~?"?|--target )(api(?:-[0-9])?|db)(\s|"|$)`)
)

// Example rewrites an example to the configured targets, so it can be run
// as shown: with only "demo" configured, "/ops status api-1" reads
// "/ops status demo". A name that is configured is kept.
func Example(ex string, targets []string) string {
	if len(targets) == 0 {
		return ex
	}
	known := map[string]bool{}
	for _, t := range targets {
		known[t] = true
	}
	for _, re := range []*regexp.Regexp{exampleWord, exampleLabel} {
		replace := func(m string) string {
			sm := re.FindStringSubmatch(m)
			pre, name, post := sm[1], sm[2], sm[3]
			if known[name] {
				return m
			}
			pick := targets[0]
			if strings.HasSuffix(name, "-2") && len(targets) > 1 {
				pick = targets[1]
			}
			return pre + pick + post
		}
		// Twice: a match takes the space after it, which the next one needs.
		ex = re.ReplaceAllStringFunc(re.ReplaceAllStringFunc(ex, replace), replace)
	}
	return ex
}

// whoMay says who may run a verb path, for help: "" for read-only verbs.
func whoMay(pol *policy.Policy, c policy.Class, path string) string {
	roles := pol.Grantors(path)
	needs := "needs role " + strings.Join(roles, " or ")
	if len(roles) == 0 {
		needs = "granted by no role"
	}
	switch c {
	case policy.Read:
		return ""
	case policy.Dangerous:
		return "guarded: " + needs + ", and a confirmation"
	case policy.Unlisted:
		return "no policy entry: nobody may run it"
	}
	return "restricted: " + needs
}

func (r *Registry) auditVerb() *Verb {
	return &Verb{
		Name:     "audit",
		Summary:  "show the latest commands and automatic actions",
		Params:   []Param{{Name: "n", Help: "how many rows (default 20, at most 200)"}},
		Access:   policy.Operate,
		Examples: []string{"/ops audit", "/ops audit 50"},
		Run: func(ctx context.Context, c *Call) (Response, error) {
			n := 20
			if a := c.Arg(0); a != "" {
				if _, err := fmt.Sscanf(a, "%d", &n); err != nil || n <= 0 || n > 200 || fmt.Sprint(n) != a {
					return Response{}, Errorf("n must be a whole number from 1 to 200, got %q", a)
				}
			}
			rows, err := r.Store.RecentAudit(ctx, n)
			if err != nil {
				return Response{}, err
			}
			var b strings.Builder
			// The verb column is as wide as its longest entry: never cut.
			vw := 4
			for _, row := range rows {
				vw = max(vw, utf8.RuneCountInString(row.Verb))
			}
			for _, row := range rows {
				who := row.Platform + ":" + row.UserID
				verb := row.Verb
				if verb == "" {
					verb = "-"
				}
				fmt.Fprintf(&b, "%s  %-22s %-*s %-9s %7s  %s\n", human.Time(row.At.Time, r.Zone()), truncate(who, 22), vw, verb, AuditResult(row.Result), human.Duration(time.Duration(row.DurationMS)*time.Millisecond), truncate(strings.ReplaceAll(row.Text, "\n", " "), 60))
			}
			if len(rows) == 0 {
				b.WriteString("no audit rows yet")
			}
			return Response{Message: chat.Message{Title: fmt.Sprintf("Audit: latest %d", len(rows)), Code: strings.TrimRight(b.String(), "\n")}, Ephemeral: true}, nil
		},
	}
}

// AuditResult is the word an audit row's result is shown as: ok, denied
// (by policy or a limit), invalid (bad input), failed (ran and failed), or
// the state of a confirmation. Rows written before these words were used
// are shown in them too.
func AuditResult(stored string) string {
	switch stored {
	case "error":
		return "failed"
	case "refused":
		return "invalid"
	case "rate-limited":
		return "denied"
	}
	return stored
}

func (r *Registry) whoamiVerb() *Verb {
	return &Verb{
		Name:     "whoami",
		Summary:  "your roles, and what you may run here",
		Access:   policy.Read,
		Examples: []string{"/ops whoami"},
		Run: func(ctx context.Context, c *Call) (Response, error) {
			pol := r.Policy()
			e := pol.Explain(subject(c.Req, true))
			roles := "none"
			if len(e.Roles) > 0 {
				roles = strings.Join(e.Roles, ", ")
			}
			if c.Req.Local {
				roles += " (the local shell user)"
			}
			var b strings.Builder
			row := func(name, value string) {
				if value != "" {
					fmt.Fprintf(&b, "%-16s %s\n", name, value)
				}
			}
			row("you", c.Actor())
			row("roles", roles)
			if !c.Req.Local {
				row("here", c.Req.Address())
			}
			tops := map[string]int{}
			for _, d := range e.Decisions {
				tops[strings.Fields(d.Path)[0]]++
			}
			var read, operate, confirm []string
			denied := map[string][]string{}
			var why []string
			for _, d := range e.Decisions {
				switch {
				case !d.Allowed:
					reason := d.Reason
					switch d.Refusal {
					case policy.NoRole:
						reason = "granted by no role"
						if gs := pol.Grantors(d.Path); len(gs) > 0 {
							reason = "needs role " + strings.Join(gs, " or ")
						}
					case policy.NotInChannel:
						reason = "not in this channel"
					case policy.NoEntry:
						reason = "no policy entry"
					}
					if _, ok := denied[reason]; !ok {
						why = append(why, reason)
					}
					denied[reason] = append(denied[reason], d.Path)
				case d.Confirm:
					confirm = append(confirm, d.Path)
				case d.Class == policy.Read:
					read = append(read, d.Path)
				default:
					operate = append(operate, d.Path)
				}
			}
			row("may run", compress(read, tops))
			ops := compress(operate, tops)
			for _, d := range e.Decisions {
				if d.Path == "silence" && d.Allowed && d.SilenceMax > 0 {
					ops = strings.Replace(ops, "silence", "silence (at most "+human.Duration(d.SilenceMax)+")", 1)
				}
			}
			row("with your roles", ops)
			row("after a confirm", compress(confirm, tops))
			sort.Strings(why)
			for _, reason := range why {
				row("may not", compress(denied[reason], tops)+" — "+reason)
			}
			if len(e.Accept) > 0 {
				row("commands in", strings.Join(e.Accept, ", "))
			}
			chans := make([]string, 0, len(e.Channels))
			for ch := range e.Channels {
				chans = append(chans, ch)
			}
			sort.Strings(chans)
			for _, ch := range chans {
				row("only in "+ch, strings.Join(e.Channels[ch], ", ")+", help, whoami")
			}
			return Response{Message: chat.Message{Title: "Who am I", Code: strings.TrimRight(b.String(), "\n"),
				Context: "roles are granted under roles.<name>.users; `/ops help <command>` says who may run it"}, Ephemeral: true}, nil
		},
	}
}

// compress names paths briefly: a verb whose every subcommand (two or
// more) is listed by its name alone ("incident"), else "backup list|verify".
func compress(paths []string, tops map[string]int) string {
	var out []string
	for i := 0; i < len(paths); {
		top := strings.Fields(paths[i])[0]
		j := i
		var subs []string
		for j < len(paths) && strings.Fields(paths[j])[0] == top {
			if _, sub, ok := strings.Cut(paths[j], " "); ok {
				subs = append(subs, sub)
			}
			j++
		}
		if len(subs) == 0 || (j-i == tops[top] && len(subs) > 1) {
			out = append(out, top)
		} else {
			out = append(out, top+" "+strings.Join(subs, "|"))
		}
		i = j
	}
	return strings.Join(out, ", ")
}
