package app

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"opsbot/commands"
)

// Every placeholder with a closed set of values lists them in help, and
// every id says where it comes from.
func TestHelpListsClosedSetsAndWhereIDsComeFrom(t *testing.T) {
	reg := registry(t)
	idName := regexp.MustCompile(`(^|-)id$`)
	var walk func(v *commands.Verb, path, help string)
	walk = func(v *commands.Verb, path, help string) {
		for _, p := range v.Params {
			for _, c := range p.Choices {
				if !strings.Contains(help, c) {
					t.Errorf("help of %s: <%s> does not list %q", path, p.Name, c)
				}
			}
			if idName.MatchString(p.Name) && !strings.Contains(p.Help, "/ops ") {
				t.Errorf("%s <%s>: help %q does not say where the id comes from", path, p.Name, p.Help)
			}
		}
		for _, f := range v.Flags {
			for _, c := range f.Choices {
				if !strings.Contains(help, c) {
					t.Errorf("help of %s: --%s does not list %q", path, f.Name, c)
				}
			}
		}
		for _, s := range v.Subs {
			walk(s, path+" "+s.Name, help)
		}
	}
	for _, v := range append(reg.Verbs(), reg.Declared()...) {
		walk(v, v.Name, reg.Describe(v))
	}
	// Help answers in the one usage form, whatever case it is asked in.
	r := reg.Handle(context.Background(), commands.Request{Platform: "console", User: "op", Local: true, Text: "HELP Status"})
	if !strings.Contains(r.Text, "usage: /ops status") {
		t.Errorf("help status:\n%s", r.Text)
	}
}
