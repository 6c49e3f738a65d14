package commands

import (
	"context"
	"fmt"
	"strings"

	"opsbot/chat"
)

func (r *Registry) helpVerb() *Verb {
	return &Verb{
		Name:     "help",
		Summary:  "list the commands, or show one command's usage",
		Params:   []Param{{Name: "verb", Help: "a command to explain"}},
		Examples: []string{"/ops help", "/ops help logs"},
		Run: func(ctx context.Context, c *Call) (Response, error) {
			if name := c.Arg(0); name != "" {
				v := r.Lookup(name)
				if v == nil {
					return Response{}, Errorf("unknown command %q; try `/ops help`", truncate(name, 40))
				}
				return Response{Message: chat.Message{Title: "/ops " + v.Name, Text: describe(v, v.Name)}, Ephemeral: true}, nil
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
	if v.Dangerous {
		return true
	}
	for _, s := range v.Subs {
		if isGuarded(s) {
			return true
		}
	}
	return false
}

func describe(v *Verb, path string) string {
	var b strings.Builder
	b.WriteString(v.Summary + "\n" + UsageLine(v, "/ops "+path) + "\n")
	type row struct{ name, help string }
	var rows []row
	for _, p := range v.Params {
		if p.Help != "" {
			rows = append(rows, row{"<" + p.Name + ">", p.Help})
		}
	}
	for _, f := range v.Flags {
		name := "--" + f.Name
		if f.Short != "" {
			name = "-" + f.Short + ", " + name
		}
		rows = append(rows, row{name, f.Help})
	}
	// One column for the verb's names, as wide as the longest.
	width := 14
	for _, r := range rows {
		width = max(width, len(r.name))
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s %s\n", width, r.name, r.help)
	}
	if v.Dangerous {
		b.WriteString("  guarded: needs a role and a confirmation\n")
	} else if v.Restricted {
		b.WriteString("  restricted: needs a role\n")
	}
	for _, s := range v.Subs {
		b.WriteString("\n" + describe(s, path+" "+s.Name) + "\n")
	}
	if len(v.Examples) > 0 {
		if len(v.Subs) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("examples:\n  " + strings.Join(v.Examples, "\n  ") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func (r *Registry) auditVerb() *Verb {
	return &Verb{
		Name:       "audit",
		Summary:    "show the latest commands and automatic actions",
		Params:     []Param{{Name: "n", Help: "how many rows (default 20, at most 200)"}},
		Restricted: true,
		Examples:   []string{"/ops audit", "/ops audit 50"},
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
			for _, row := range rows {
				who := row.Platform + ":" + row.UserID
				fmt.Fprintf(&b, "%s  %-22s %-14s %-12s %5dms  %s\n", row.At.UTC().Format("01-02 15:04:05"), truncate(who, 22), truncate(row.Verb, 14), row.Result, row.DurationMS, truncate(strings.ReplaceAll(row.Text, "\n", " "), 60))
			}
			if len(rows) == 0 {
				b.WriteString("no audit rows yet")
			}
			return Response{Message: chat.Message{Title: fmt.Sprintf("Audit: latest %d", len(rows)), Code: strings.TrimRight(b.String(), "\n")}, Ephemeral: true}, nil
		},
	}
}
