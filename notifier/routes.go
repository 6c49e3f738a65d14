package notifier

import (
	"context"
	"slices"

	"opsbot/alert"

	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"opsbot/config"
	"opsbot/routing"
	"opsbot/store"
)

// inhibitRecheck is how soon an inhibited alert is looked at again when no
// alert resolved meanwhile (a resolve releases it at once).
const inhibitRecheck = time.Minute

// routingCache keeps what is compiled from one configuration: the inhibition
// rules, and the group intervals of groups announced recently.
type routingCache struct {
	mu      sync.Mutex
	cfg     *config.Config
	inhibit []routing.InhibitRule
	err     error
	// sent: channel + group key → when the group was last announced
	// (group_interval); the leader's copy of the store's route_groups,
	// read once per term (sentLoaded).
	sent       map[string]time.Time
	sentLoaded bool
}

// subscriptionRoute turns a chat subscription into a route under the root.
func subscriptionRoute(s store.Subscription) (routing.Subscription, error) {
	r := routing.Subscription{Channel: s.Channel, Kind: s.Kind, Oncall: s.Oncall}
	if s.MinSeverity != "" && s.MinSeverity != "warning" {
		ms, err := routing.ParseMatchers(fmt.Sprintf("severity=%q", s.MinSeverity))
		if err != nil {
			return r, err
		}
		r.Matchers = append(r.Matchers, ms...)
	}
	if strings.TrimSpace(s.Matchers) != "" {
		ms, err := routing.ParseMatchers(s.Matchers)
		if err != nil {
			return r, err
		}
		r.Matchers = append(r.Matchers, ms...)
	}
	return r, nil
}

// routeDefaults are the root's options where routing.route leaves them unset.
func routeDefaults(cfg *config.Config) routing.Defaults {
	return routing.Defaults{GroupWait: cfg.Notifier.GroupWait, RepeatInterval: cfg.Notifier.Repeat}
}

// tree compiles the route tree of the configuration in force and the
// stored subscriptions.
func (n *Notifier) tree(ctx context.Context, q store.DBTX) (*routing.Tree, error) {
	subs, err := store.SubscriptionsTx(ctx, q)
	if err != nil {
		return nil, err
	}
	rs := make([]routing.Subscription, 0, len(subs))
	for _, s := range subs {
		r, err := subscriptionRoute(s)
		if err != nil {
			n.log.Warn("subscription with bad matchers skipped", "channel", s.Channel, "kind", s.Kind, "err", err)
			continue
		}
		rs = append(rs, r)
	}
	cfg := n.cfg()
	t, err := routing.Compile(cfg.Routing, rs, routeDefaults(cfg))
	if err != nil {
		return nil, fmt.Errorf("route tree: %w", err)
	}
	return t, nil
}

// inhibitRules returns the compiled inhibition rules of the configuration in
// force (compiled once per configuration).
func (n *Notifier) inhibitRules() ([]routing.InhibitRule, error) {
	cfg := n.cfg()
	c := &n.routes
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg != cfg {
		c.cfg = cfg
		c.inhibit, c.err = routing.CompileInhibitRules(cfg.Routing.AllInhibitRules())
	}
	return c.inhibit, c.err
}

// inhibitor indexes the firing alerts under the inhibition rules (nil when
// there are none).
func (n *Notifier) inhibitor(ctx context.Context, q store.DBTX) (*routing.Inhibitor, error) {
	rules, err := n.inhibitRules()
	if err != nil || len(rules) == 0 {
		return nil, err
	}
	firing, err := store.FiringAlerts(ctx, q)
	if err != nil {
		return nil, err
	}
	fs := make([]routing.Firing, len(firing))
	for i, a := range firing {
		fs[i] = routing.Firing{Fingerprint: a.Fingerprint, Labels: Labels(a)}
	}
	return routing.NewInhibitor(rules, fs), nil
}

// groupOpen returns when the group (channel, key) may be announced again
// (zero: now), by its route's group_interval.
func (n *Notifier) groupOpen(key string, interval time.Duration) time.Time {
	if interval <= 0 {
		return time.Time{}
	}
	c := &n.routes
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.sent[key]; ok {
		return t.Add(interval)
	}
	return time.Time{}
}

func (n *Notifier) groupSent(keys []string, now time.Time) {
	c := &n.routes
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent == nil {
		c.sent = map[string]time.Time{}
	}
	for _, k := range keys {
		c.sent[k] = now
	}
	if len(c.sent) > 10000 {
		for k, t := range c.sent {
			if now.Sub(t) > 24*time.Hour {
				delete(c.sent, k)
			}
		}
	}
}

// RouteStep is one node an alert's labels pass on the way to a receiver.
type RouteStep struct {
	Path     string
	Matchers string
	Receiver string
	Channels []string
	Continue bool
	GroupBy  []string
}

// RouteTest answers where an alert with labels would go, as `amtool config
// routes test`: for each matched route its path from the root and its
// receiver, and whether silences or inhibitions would mute it now.
func (n *Notifier) RouteTest(ctx context.Context, words []string) (matched [][]RouteStep, muted string, err error) {
	ls := routing.Labels{}
	for _, w := range words {
		for _, part := range strings.Split(w, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"'`)
			if !ok || !labelName(k) {
				return nil, "", invalidf("bad label %q: want name=value, e.g. kind=threshold severity=critical target=api", part)
			}
			ls[k] = v
		}
	}
	if len(ls) == 0 {
		return nil, "", invalidf("name the alert's labels, e.g. kind=threshold severity=critical target=api")
	}
	if k, ok := ls["kind"]; ok && !slices.Contains(alert.Kinds, k) {
		return nil, "", invalidf("unknown kind %q (want %s)", k, strings.Join(alert.Kinds, ", "))
	}
	if s, ok := ls["severity"]; ok && !slices.Contains(alert.Severities, s) {
		return nil, "", invalidf("unknown severity %q (want %s)", s, strings.Join(alert.Severities, " or "))
	}
	if _, ok := ls["alertname"]; !ok && ls["rule"] != "" {
		ls["alertname"] = ls["rule"]
	}
	t, err := n.tree(ctx, n.st.DB)
	if err != nil {
		return nil, "", err
	}
	for _, r := range t.Root.Match(ls) {
		var steps []RouteStep
		for _, x := range r.Trail() {
			st := RouteStep{Path: x.Path, Receiver: x.Receiver, Continue: x.Continue, GroupBy: x.GroupBy}
			if len(x.Matchers) > 0 {
				st.Matchers = x.Matchers.String()
			}
			if x.GroupByAll {
				st.GroupBy = []string{"..."}
			}
			st.Channels = t.Receivers[x.Receiver].Channels
			steps = append(steps, st)
		}
		matched = append(matched, steps)
	}
	ss, err := n.activeSilences(ctx, n.st.DB, n.Now())
	if err != nil {
		return matched, "", err
	}
	if s, ok := ss.muting(ls); ok {
		muted = fmt.Sprintf("silenced now by #%d (%s)", s.ID, s.Matcher)
	}
	if muted == "" {
		if in, err := n.inhibitor(ctx, n.st.DB); err == nil && in != nil {
			if rule, by, ok := in.Inhibited("", ls); ok {
				muted = fmt.Sprintf("inhibited now by %s (rule %s)", by, rule)
			}
		}
	}
	return matched, muted, nil
}

func labelName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func sortedGroupKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
