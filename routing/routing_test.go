package routing

import (
	"strings"
	"testing"
	"time"

	"opsbot/config"
)

// Matcher semantics as Alertmanager documents them: regexps are anchored at
// both ends, a missing label reads as the empty string.
func TestMatcherSemantics(t *testing.T) {
	ls := Labels{"alertname": "cpu_high", "target": "api-2", "severity": "warning"}
	for _, c := range []struct {
		m    string
		want bool
	}{
		{`severity="warning"`, true},
		{`severity="critical"`, false},
		{`severity!="critical"`, true},
		{`target=~"api.*"`, true},
		{`target=~"api"`, false}, // anchored: api-2 is not api
		{`target=~"API.*"`, false},
		{`target=~"(?i)API.*"`, true},
		{`target!~"api-[0-9]"`, false},
		{`target!~"db.*"`, true},
		{`team=""`, true},   // missing label is ""
		{`team!=""`, false}, // so it is not set
		{`team=~".*"`, true},
		{`team!~".+"`, true},
		{`alertname=cpu_high`, true}, // unquoted values are accepted
		{`{alertname="cpu_high", severity=~"warn.*"}`, true},
		{`alertname="cpu_high",severity="critical"`, false},
	} {
		ms, err := ParseMatchers(c.m)
		if err != nil {
			t.Fatalf("%s: %v", c.m, err)
		}
		if got := ms.Matches(ls); got != c.want {
			t.Errorf("%s on %v = %v, want %v", c.m, ls, got, c.want)
		}
	}
	for _, bad := range []string{`target=~"api(("`, `=x`, `target~"x"`, `a="b`} {
		if _, err := ParseMatchers(bad); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

// The tree of Alertmanager's configuration documentation (routing example),
// expressed in opsbot's config.
func docTree(t *testing.T) *Tree {
	t.Helper()
	cfg := config.Routing{
		Receivers: []config.Receiver{
			{Name: "default-receiver", Channels: []string{"slack:CDEF"}},
			{Name: "database-pager", Channels: []string{"slack:CDB"}},
			{Name: "frontend-pager", Channels: []string{"slack:CFE"}},
			{Name: "team-X-mails", Channels: []string{"slack:CX"}},
			{Name: "team-X-pager", Channels: []string{"slack:CXP"}, Oncall: "@x"},
			{Name: "team-Y-mails", Channels: []string{"slack:CY"}},
			{Name: "team-DB-pager", Channels: []string{"slack:CDBP"}},
		},
		Route: config.Route{
			Receiver: "default-receiver", GroupBy: []string{"cluster", "alertname"},
			GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour,
			Routes: []config.Route{
				{Matchers: []string{`service=~"foo1|foo2|baz"`}, Receiver: "team-X-mails", Routes: []config.Route{
					{Matchers: []string{`severity="critical"`}, Receiver: "team-X-pager"},
				}},
				{Matchers: []string{`service="files"`}, Receiver: "team-Y-mails"},
				{Matchers: []string{`service="database"`}, Receiver: "team-DB-pager", GroupBy: []string{"alertname", "cluster", "database"}, Routes: []config.Route{
					{Matchers: []string{`owner="team-X"`}, Receiver: "team-X-pager", Continue: true},
					{Matchers: []string{`owner="team-Y"`}, Receiver: "team-Y-mails", GroupWait: 10 * time.Second},
				}},
				{Matchers: []string{`team="frontend"`}, Receiver: "frontend-pager", GroupBy: []string{"..."}},
			},
		},
	}
	if p := cfg.Check(); len(p) > 0 {
		t.Fatal(p)
	}
	tree, err := Compile(cfg, nil, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func receivers(rs []*Route) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Receiver)
	}
	return strings.Join(out, ",")
}

func TestRouteTreeAsDocumented(t *testing.T) {
	tree := docTree(t)
	for _, c := range []struct {
		ls        Labels
		receivers string
		path      string
		groupWait time.Duration
		groupBy   string
	}{
		// No child matches: the root itself.
		{Labels{"alertname": "x"}, "default-receiver", "root", 30 * time.Second, "alertname,cluster"},
		// First child; its child does not match: the child itself.
		{Labels{"service": "foo1"}, "team-X-mails", "root/0", 30 * time.Second, "alertname,cluster"},
		// Nested match wins over its parent.
		{Labels{"service": "baz", "severity": "critical"}, "team-X-pager", "root/0/0", 30 * time.Second, "alertname,cluster"},
		// Regexps are anchored: foo12 is not foo1.
		{Labels{"service": "foo12"}, "default-receiver", "root", 30 * time.Second, "alertname,cluster"},
		// First matching child ends the search (files matches root/1 only).
		{Labels{"service": "files", "team": "frontend"}, "team-Y-mails", "root/1", 30 * time.Second, "alertname,cluster"},
		// continue: team-X's pager and then the next sibling.
		{Labels{"service": "database", "owner": "team-X"}, "team-X-pager", "root/2/0", 30 * time.Second, "alertname,cluster,database"},
		{Labels{"service": "database", "owner": "team-Y"}, "team-Y-mails", "root/2/1", 10 * time.Second, "alertname,cluster,database"},
		{Labels{"service": "database"}, "team-DB-pager", "root/2", 30 * time.Second, "alertname,cluster,database"},
		{Labels{"team": "frontend"}, "frontend-pager", "root/3", 30 * time.Second, "..."},
	} {
		got := tree.Root.Match(c.ls)
		if r := receivers(got); r != c.receivers {
			t.Errorf("%v: receivers %s, want %s", c.ls, r, c.receivers)
			continue
		}
		r := got[0]
		gb := strings.Join(r.GroupBy, ",")
		if r.GroupByAll {
			gb = "..."
		}
		if r.Path != c.path || r.GroupWait != c.groupWait || gb != c.groupBy || r.RepeatInterval != 4*time.Hour {
			t.Errorf("%v: route %s wait %s by %s repeat %s; want %s %s %s 4h", c.ls, r.Path, r.GroupWait, gb, r.RepeatInterval, c.path, c.groupWait, c.groupBy)
		}
	}
}

func TestContinueCollectsEveryMatch(t *testing.T) {
	cfg := config.Routing{
		Receivers: []config.Receiver{{Name: "a", Channels: []string{"slack:CA"}}, {Name: "b", Channels: []string{"slack:CB"}}, {Name: "c", Channels: []string{"slack:CA", "slack:CC"}}},
		Route: config.Route{Receiver: "a", Routes: []config.Route{
			{Matchers: []string{`severity="critical"`}, Receiver: "b", Continue: true},
			{Matchers: []string{`target=~"api.*"`}, Receiver: "c"},
			{Matchers: []string{`target=~"api.*"`}, Receiver: "b"}, // never: c matched without continue
		}},
	}
	tree, err := Compile(cfg, nil, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	if got := receivers(tree.Root.Match(Labels{"severity": "critical", "target": "api"})); got != "b,c" {
		t.Errorf("critical api: %s, want b,c", got)
	}
	if got := receivers(tree.Root.Match(Labels{"severity": "critical", "target": "db"})); got != "b" {
		t.Errorf("critical db: %s, want b (a continue match alone still counts)", got)
	}
	d := tree.Destinations(Labels{"severity": "critical", "target": "api"})
	var chans []string
	for _, x := range d {
		chans = append(chans, x.Channel)
	}
	// slack:CA is named twice (root's a is not used; c names it): once.
	if strings.Join(chans, ",") != "slack:CB,slack:CA,slack:CC" {
		t.Errorf("destinations %v", chans)
	}
}

func TestSubscriptionsAreRoutes(t *testing.T) {
	sev, _ := ParseMatchers(`severity="critical",target=~"api.*"`)
	subs := []Subscription{
		{Channel: "slack:CSEC", Kind: "security", Matchers: sev},
		{Channel: "slack:CALL", Kind: "security"},
	}
	tree, err := Compile(config.Routing{}, subs, Defaults{GroupWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	chans := func(ls Labels) string {
		var out []string
		for _, d := range tree.Destinations(ls) {
			out = append(out, d.Channel)
		}
		return strings.Join(out, ",")
	}
	if got := chans(Labels{"kind": "security", "severity": "critical", "target": "api-1"}); got != "slack:CSEC,slack:CALL" {
		t.Errorf("critical api security: %q", got)
	}
	if got := chans(Labels{"kind": "security", "severity": "warning", "target": "api-1"}); got != "slack:CALL" {
		t.Errorf("warning: %q", got)
	}
	if got := chans(Labels{"kind": "threshold", "severity": "critical", "target": "api-1"}); got != "" {
		t.Errorf("threshold went to %q (the root has no receiver)", got)
	}
}

func TestInhibitionAsAlertmanager(t *testing.T) {
	rules, err := CompileInhibitRules(config.DefaultInhibitRules())
	if err != nil {
		t.Fatal(err)
	}
	down := Firing{"api_down:web1", Labels{"kind": "health", "rule": "api_down", "target": "web1", "severity": "critical"}}
	critCPU := Firing{"cpu:web2:c", Labels{"kind": "threshold", "rule": "cpu_high", "target": "web2", "severity": "critical"}}
	in := NewInhibitor(rules, []Firing{down, critCPU})
	for _, c := range []struct {
		fp   string
		ls   Labels
		want string
	}{
		{"api_down:web1", down.Labels, ""}, // never itself
		{"disk:web1", Labels{"kind": "threshold", "rule": "disk_high", "target": "web1", "severity": "warning"}, "target_down"},
		{"redis:web1", Labels{"kind": "health", "rule": "redis_down", "target": "web1", "severity": "critical"}, "target_down"},
		{"disk:web2", Labels{"kind": "threshold", "rule": "disk_high", "target": "web2", "severity": "warning"}, ""}, // other target
		{"cpu:web2:w", Labels{"kind": "threshold", "rule": "cpu_high", "target": "web2", "severity": "warning"}, "critical_mutes_warning"},
		{"cpu:web3:w", Labels{"kind": "threshold", "rule": "cpu_high", "target": "web3", "severity": "warning"}, ""}, // equal labels differ
		{"host:web1", Labels{"kind": "health", "rule": "health_down", "target": "web1", "severity": "critical"}, ""}, // a down alert is a source, not a target
	} {
		rule, _, ok := in.Inhibited(c.fp, c.ls)
		if (c.want != "") != ok || rule != c.want {
			t.Errorf("%s: inhibited=%v by %q, want %q", c.fp, ok, rule, c.want)
		}
	}
	// Alertmanager: an alert matching both sides is not muted by another
	// matching both (two critical alerts of a "critical mutes critical" rule).
	both, _ := CompileInhibitRules([]config.InhibitRule{{Name: "r", SourceMatchers: []string{`severity="critical"`}, TargetMatchers: []string{`severity="critical"`}, Equal: []string{"target"}}})
	a := Firing{"a", Labels{"severity": "critical", "target": "t"}}
	b := Firing{"b", Labels{"severity": "critical", "target": "t"}}
	in = NewInhibitor(both, []Firing{a, b})
	if _, _, ok := in.Inhibited("a", a.Labels); ok {
		t.Error("two-sided alerts muted each other")
	}
}

func TestSilences(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	m, _ := ParseMatchers(`target=~"api.*",severity!="critical"`)
	ss := []Silence{
		{ID: 1, Matchers: m, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)},
		{ID: 2, Matchers: m, StartsAt: now.Add(time.Hour), EndsAt: now.Add(5 * time.Hour)}, // future
	}
	ls := Labels{"target": "api-1", "severity": "warning"}
	if s, ok := SilencedBy(ss, ls, now); !ok || s.ID != 1 {
		t.Errorf("now: %v %v", s.ID, ok)
	}
	if s, ok := SilencedBy(ss, ls, now.Add(2*time.Hour)); !ok || s.ID != 2 {
		t.Errorf("later: %v %v", s.ID, ok)
	}
	if _, ok := SilencedBy(ss, Labels{"target": "api-1", "severity": "critical"}, now); ok {
		t.Error("critical silenced")
	}
	if _, ok := SilencedBy(ss, ls, now.Add(5*time.Hour)); ok {
		t.Error("silenced at its end")
	}
	ex := Exactly(Labels{"b": "2", "a": "1", "empty": ""})
	if ex.String() != `{a="1", b="2"}` {
		t.Errorf("exactly: %s", ex)
	}
	back, _ := ParseMatchers(ex.String())
	if !back.Equal(ex) {
		t.Error("round trip differs")
	}
}

// The index finds what the plain scan finds.
func TestSilenceSetAgreesWithScan(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	mk := func(id int64, s string, start time.Duration, d time.Duration) Silence {
		m, err := ParseMatchers(s)
		if err != nil {
			t.Fatal(err)
		}
		return Silence{ID: id, Matchers: m, StartsAt: now.Add(start), EndsAt: now.Add(start + d)}
	}
	ss := []Silence{
		mk(1, `target="api"`, -time.Hour, 2*time.Hour),
		mk(2, `target="api",severity="critical"`, -time.Hour, 5*time.Hour),
		mk(3, `target=~"db.*"`, -time.Hour, 2*time.Hour),
		mk(4, `rule!="x",team=""`, -time.Hour, 3*time.Hour),
		mk(5, `target="db1"`, time.Hour, 9*time.Hour), // not yet
	}
	set := NewSilenceSet(ss, now)
	if set.Len() != 4 {
		t.Fatalf("len %d", set.Len())
	}
	for _, ls := range []Labels{
		{"target": "api", "severity": "critical", "team": "a"},
		{"target": "api", "severity": "warning", "team": "a"},
		{"target": "db1", "team": "a"},
		{"target": "db1"},
		{"target": "web", "team": "b"},
	} {
		want, wok := SilencedBy(ss, ls, now)
		got, gok := set.SilencedBy(ls)
		if wok != gok || want.ID != got.ID {
			t.Errorf("%v: index %d %v, scan %d %v", ls, got.ID, gok, want.ID, wok)
		}
	}
}
