package policy

import (
	"strings"
	"testing"
)

// "show" meant incident show before alerts show existed: it keeps that
// meaning, the later verb is named in full or with dots, and a name that
// is ambiguous without a pin still is.
func TestPinnedAliasAndDottedNames(t *testing.T) {
	c := NewCatalogue([]Entry{
		{"incident show", Read}, {"incident list", Read}, {"incident close", Operate},
		{"alerts show", Read}, {"alerts list", Read}, {"backup list", Read},
	})
	for name, want := range map[string]string{
		"show":          "incident show",
		"alerts show":   "alerts show",
		"alerts.show":   "alerts show",
		"incident.show": "incident show",
		"incident.":     "incident",
	} {
		canon, paths, err := c.Resolve(name)
		if err != nil || canon != want {
			t.Errorf("%q: %q %v %v, want %q", name, canon, paths, err, want)
		}
	}
	if _, paths, _ := c.Resolve("show"); strings.Join(paths, ",") != "incident show" {
		t.Errorf("show covers %v, want only incident show", paths)
	}
	if _, _, err := c.Resolve("list"); err == nil || err.Error() != `"list" is ambiguous: name one of alerts list, backup list, incident list` {
		t.Errorf("list: %v", err)
	}
	// The pin applies only where its path exists.
	c2 := NewCatalogue([]Entry{{"alerts show", Read}, {"db show", Read}})
	if _, _, err := c2.Resolve("show"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("show without incident show: %v", err)
	}
	// A role granting show and one granting alerts.show grant what they say.
	p, probs := Compile(Rules{Roles: []Role{
		{Name: "viewer", Users: []string{"slack:U1"}, Verbs: []string{"show"}},
		{Name: "alerter", Users: []string{"slack:U2"}, Verbs: []string{"alerts.show"}},
	}}, c)
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	for _, tc := range []struct {
		user, path string
		ok         bool
	}{{"U1", "incident show", true}, {"U1", "alerts show", false}, {"U2", "alerts show", true}, {"U2", "incident show", false}} {
		if got := p.grants(p.byName[map[string]string{"U1": "viewer", "U2": "alerter"}[tc.user]], tc.path); got != tc.ok {
			t.Errorf("%s %s: %v, want %v", tc.user, tc.path, got, tc.ok)
		}
	}
}
