package routing

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"opsbot/config"
)

// Receiver is where a route sends: chat channels now; paging integrations
// join as fields when they exist.
type Receiver struct {
	Name     string
	Channels []string
	Oncall   string
	// PagingPolicy is the escalation policy of the alerts routed here.
	PagingPolicy string
}

// Route is a compiled node of the route tree. Options are already
// inherited from the parent.
type Route struct {
	// Path names the node for people: "root", "root/1", "subscription slack:C1/security".
	Path           string
	Receiver       string
	Matchers       Matchers
	Continue       bool
	GroupBy        []string
	GroupByAll     bool
	GroupWait      time.Duration
	GroupInterval  time.Duration
	RepeatInterval time.Duration
	Routes         []*Route
	parent         *Route
}

// Match returns the routes an alert with ls goes to, as Alertmanager's
// dispatch.Route.Match: a node that does not match returns nothing; its
// children are tried in order, the first match ends the search unless
// that child has continue; when no child matches, the node itself does.
func (r *Route) Match(ls Labels) []*Route {
	if !r.Matchers.Matches(ls) {
		return nil
	}
	var all []*Route
	for _, c := range r.Routes {
		m := c.Match(ls)
		all = append(all, m...)
		if m != nil && !c.Continue {
			break
		}
	}
	if len(all) == 0 {
		all = append(all, r)
	}
	return all
}

// Trail is the node's path from the root ("root → routes[1] → routes[0]").
func (r *Route) Trail() []*Route {
	var out []*Route
	for n := r; n != nil; n = n.parent {
		out = append(out, n)
	}
	slices.Reverse(out)
	return out
}

// GroupKey is the key of the group an alert with ls joins on this route:
// the values of its group_by labels (the fingerprint when group_by is
// "...", nothing when empty: one group). Routes grouping by the same labels
// share groups, so a channel that several routes send to gets one message
// per group, not one per route.
func (r *Route) GroupKey(ls Labels, fingerprint string) string {
	if r.GroupByAll {
		return "fingerprint=" + fingerprint
	}
	var b strings.Builder
	for i, l := range r.GroupBy {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(l)
		b.WriteString("=")
		b.WriteString(strconv.Quote(ls[l]))
	}
	return b.String()
}

// Walk calls fn for r and every route under it, depth first.
func (r *Route) Walk(fn func(*Route)) {
	fn(r)
	for _, c := range r.Routes {
		c.Walk(fn)
	}
}

// Subscription is a chat channel's subscription, a route under the root.
type Subscription struct {
	Channel  string
	Kind     string
	Matchers Matchers // beyond kind: severity, target …
	Oncall   string
}

// Tree is the compiled route tree with its receivers.
type Tree struct {
	Root      *Route
	Receivers map[string]Receiver
}

// Defaults of the root when the configuration leaves them unset.
type Defaults struct {
	GroupWait      time.Duration
	GroupInterval  time.Duration
	RepeatInterval time.Duration
}

// Compile builds the tree: the configured route, and under its root one
// route per chat subscription (first, each with continue, so every
// subscribed channel gets its alerts and the configured routes still
// match after them). Matchers must parse (config validation checked).
func Compile(cfg config.Routing, subs []Subscription, d Defaults) (*Tree, error) {
	t := &Tree{Receivers: map[string]Receiver{}}
	for _, rc := range cfg.Receivers {
		t.Receivers[rc.Name] = Receiver{Name: rc.Name, Channels: rc.Channels, Oncall: rc.Oncall, PagingPolicy: rc.PagingPolicy}
	}
	root := &Route{Path: "root", Receiver: cfg.Route.Receiver, GroupWait: d.GroupWait, GroupInterval: d.GroupInterval, RepeatInterval: d.RepeatInterval}
	applyOpts(root, cfg.Route)
	for _, s := range subs {
		name := "subscription " + s.Channel + "/" + s.Kind
		if _, ok := t.Receivers[name]; !ok {
			t.Receivers[name] = Receiver{Name: name, Channels: []string{s.Channel}, Oncall: s.Oncall}
		}
		kind, err := ParseMatcherList([]string{fmt.Sprintf("kind=%q", s.Kind)})
		if err != nil {
			return nil, fmt.Errorf("subscription %s: %w", name, err)
		}
		c := inherit(root, name)
		c.Receiver, c.Continue, c.Matchers = name, true, append(kind, s.Matchers...)
		root.Routes = append(root.Routes, c)
	}
	for i, cr := range cfg.Route.Routes {
		c, err := compile(root, fmt.Sprintf("root/%d", i), cr)
		if err != nil {
			return nil, err
		}
		root.Routes = append(root.Routes, c)
	}
	t.Root = root
	return t, nil
}

func inherit(p *Route, path string) *Route {
	return &Route{Path: path, Receiver: p.Receiver, GroupBy: p.GroupBy, GroupByAll: p.GroupByAll,
		GroupWait: p.GroupWait, GroupInterval: p.GroupInterval, RepeatInterval: p.RepeatInterval, parent: p}
}

func applyOpts(r *Route, cr config.Route) {
	if cr.Receiver != "" {
		r.Receiver = cr.Receiver
	}
	if len(cr.GroupBy) > 0 {
		r.GroupBy, r.GroupByAll = nil, false
		for _, l := range cr.GroupBy {
			if l == "..." {
				r.GroupByAll = true
			} else {
				r.GroupBy = append(r.GroupBy, l)
			}
		}
		sort.Strings(r.GroupBy)
	}
	if cr.GroupWait > 0 {
		r.GroupWait = cr.GroupWait
	}
	if cr.GroupInterval > 0 {
		r.GroupInterval = cr.GroupInterval
	}
	if cr.RepeatInterval > 0 {
		r.RepeatInterval = cr.RepeatInterval
	}
	r.Continue = cr.Continue
}

func compile(parent *Route, path string, cr config.Route) (*Route, error) {
	r := inherit(parent, path)
	applyOpts(r, cr)
	ms, err := ParseMatcherList(cr.Matchers)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", path, err)
	}
	r.Matchers = ms
	for i, c := range cr.Routes {
		cc, err := compile(r, fmt.Sprintf("%s/%d", path, i), c)
		if err != nil {
			return nil, err
		}
		r.Routes = append(r.Routes, cc)
	}
	return r, nil
}

// Destination is one channel an alert goes to and the route that sent it.
type Destination struct {
	Channel string
	Oncall  string
	Route   *Route
}

// Destinations returns the channels an alert with ls goes to, each once
// (the first route naming it wins), in route order.
func (t *Tree) Destinations(ls Labels) []Destination {
	var out []Destination
	for _, r := range t.Root.Match(ls) {
		rc, ok := t.Receivers[r.Receiver]
		if !ok {
			continue
		}
		for _, ch := range rc.Channels {
			if slices.ContainsFunc(out, func(d Destination) bool { return d.Channel == ch }) {
				continue
			}
			out = append(out, Destination{Channel: ch, Oncall: rc.Oncall, Route: r})
		}
	}
	return out
}
