package config

import (
	"fmt"
	"regexp"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
)

// Routing is where alerts go, in Alertmanager's shapes: a route tree,
// named receivers and inhibition rules. Chat subscriptions (/ops subscribe)
// join the tree as routes of their own under the root.
type Routing struct {
	Route     Route      `yaml:"route"`
	Receivers []Receiver `yaml:"receivers"`
	// InhibitRules are added to the defaults unless DefaultInhibitions is false.
	InhibitRules       []InhibitRule `yaml:"inhibit_rules"`
	DefaultInhibitions *bool         `yaml:"default_inhibitions"`
}

// Route is one node of the tree. Unset options are inherited from the
// parent; the root's come from notifier.group_wait and notifier.repeat.
type Route struct {
	Receiver string `yaml:"receiver"`
	// Matchers in Alertmanager's syntax, one per item: severity="critical",
	// target=~"api.*", kind!="backup", rule!~"disk_.*".
	Matchers []string `yaml:"matchers"`
	// GroupBy names the labels whose values split alerts into one message
	// each; ["..."] gives every alert its own; empty groups them all.
	GroupBy        []string      `yaml:"group_by"`
	GroupWait      time.Duration `yaml:"group_wait"`
	GroupInterval  time.Duration `yaml:"group_interval"`
	RepeatInterval time.Duration `yaml:"repeat_interval"`
	Continue       bool          `yaml:"continue"`
	Routes         []Route       `yaml:"routes"`
}

// Receiver is a named set of destinations. Channels are chat addresses
// (slack:C…, discord:…, console). More integrations (paging) add fields.
type Receiver struct {
	Name     string   `yaml:"name"`
	Channels []string `yaml:"channels"`
	// Oncall is mentioned on critical alerts until acknowledged.
	Oncall string `yaml:"oncall"`
	// PagingPolicy names an escalation policy (paging.policies) that
	// escalates the alerts routed here: routing decides, paging executes.
	PagingPolicy string `yaml:"paging_policy"`
}

// InhibitRule mutes alerts matching TargetMatchers while an alert matching
// SourceMatchers fires with the same values of the Equal labels.
type InhibitRule struct {
	Name           string   `yaml:"name"`
	SourceMatchers []string `yaml:"source_matchers"`
	TargetMatchers []string `yaml:"target_matchers"`
	Equal          []string `yaml:"equal"`
}

// DefaultsOn reports whether the built-in inhibition rules apply.
func (r Routing) DefaultsOn() bool { return r.DefaultInhibitions == nil || *r.DefaultInhibitions }

// DownRules are the health alerts meaning a target is down as a whole: while
// one fires, the target's other alerts are its consequences.
const DownRules = "api_down|health_down|host_down"

// DefaultInhibitRules are the built-in inhibitions: a warning is muted
// while the same alert on the same target is critical, and the target's
// service alerts (thresholds and its other health checks) are muted while
// the target is down. Security, backup and incident alerts (a spent restart
// budget asking for a human) are never muted by it. A down host (fleet)
// likewise mutes the service alerts its agent reported (label host).
func DefaultInhibitRules() []InhibitRule {
	return []InhibitRule{
		{Name: "critical_mutes_warning", SourceMatchers: []string{`severity="critical"`}, TargetMatchers: []string{`severity="warning"`}, Equal: []string{"rule", "target"}},
		{Name: "target_down", SourceMatchers: []string{`kind="health"`, `rule=~"` + DownRules + `"`}, TargetMatchers: []string{`kind=~"threshold|health"`, `rule!~"` + DownRules + `"`, `target!=""`}, Equal: []string{"target"}},
		{Name: "host_down", SourceMatchers: []string{`rule="host_down"`}, TargetMatchers: []string{`kind=~"threshold|health"`, `rule!="host_down"`, `host!=""`}, Equal: []string{"host"}},
	}
}

// AllInhibitRules returns the rules in force: the defaults (unless off) then
// the configured ones.
func (r Routing) AllInhibitRules() []InhibitRule {
	var out []InhibitRule
	if r.DefaultsOn() {
		out = DefaultInhibitRules()
	}
	return append(out, r.InhibitRules...)
}

func (r Routing) validate(p *Problems) {
	names := map[string]bool{}
	for i, rc := range r.Receivers {
		path := fmt.Sprintf("routing.receivers[%d]", i)
		switch {
		case rc.Name == "":
			p.add(path+".name", "empty")
		case names[rc.Name]:
			p.add(path+".name", "duplicate receiver %q", rc.Name)
		}
		names[rc.Name] = true
		if len(rc.Channels) == 0 {
			p.add(path+".channels", "name at least one channel")
		}
		for j, ch := range rc.Channels {
			if !validChannel(ch) {
				p.add(fmt.Sprintf("%s.channels[%d]", path, j), "bad channel %q (want slack:<id>, discord:<id> or console)", ch)
			}
		}
	}
	r.Route.validate("routing.route", names, p, true)
	rules := map[string]bool{}
	for i, ir := range r.InhibitRules {
		path := fmt.Sprintf("routing.inhibit_rules[%d]", i)
		if ir.Name != "" {
			if rules[ir.Name] {
				p.add(path+".name", "duplicate inhibit rule %q", ir.Name)
			}
			rules[ir.Name] = true
		}
		if len(ir.SourceMatchers) == 0 || len(ir.TargetMatchers) == 0 {
			p.add(path, "needs source_matchers and target_matchers")
		}
		checkMatchers(path+".source_matchers", ir.SourceMatchers, p)
		checkMatchers(path+".target_matchers", ir.TargetMatchers, p)
		for j, l := range ir.Equal {
			if !labelNameRE.MatchString(l) {
				p.add(fmt.Sprintf("%s.equal[%d]", path, j), "bad label name %q", l)
			}
		}
	}
}

func (rt Route) validate(path string, receivers map[string]bool, p *Problems, root bool) {
	if root && len(rt.Matchers) > 0 {
		p.add(path+".matchers", "the root route matches every alert: put matchers on its routes")
	}
	if rt.Receiver != "" && !receivers[rt.Receiver] {
		p.add(path+".receiver", "unknown receiver %q", rt.Receiver)
	}
	checkMatchers(path+".matchers", rt.Matchers, p)
	for j, l := range rt.GroupBy {
		if l != "..." && !labelNameRE.MatchString(l) {
			p.add(fmt.Sprintf("%s.group_by[%d]", path, j), "bad label name %q", l)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"group_wait", rt.GroupWait}, {"group_interval", rt.GroupInterval}, {"repeat_interval", rt.RepeatInterval}} {
		if d.v < 0 {
			p.add(path+"."+d.key, "must not be negative")
		}
	}
	for i, c := range rt.Routes {
		c.validate(fmt.Sprintf("%s.routes[%d]", path, i), receivers, p, false)
	}
}

func checkMatchers(path string, list []string, p *Problems) {
	for i, s := range list {
		if _, err := labels.ParseMatcher(s); err != nil {
			p.add(fmt.Sprintf("%s[%d]", path, i), "bad matcher %q: %v", s, err)
		}
	}
}

var labelNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Check validates the routing section alone (a reload checks it before it
// replaces the running tree).
func (r Routing) Check() Problems {
	var p Problems
	r.validate(&p)
	return p
}
