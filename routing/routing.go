// Package routing decides where an alert goes, with Prometheus
// Alertmanager's semantics: label matchers (=, !=, =~, !~, parsed by
// Alertmanager's own pkg/labels), a route tree walked as dispatch.Route.Match
// walks it (first matching child unless continue, the node itself when no
// child matches), inhibition rules as inhibit.Inhibitor.Mutes (source,
// target, equal labels; an alert matching both sides is not inhibited by
// another matching both) and silences. It is pure: no I/O, no clock.
package routing

import (
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/alertmanager/pkg/labels"
)

// Labels is an alert's label set. A missing label reads as "", as in
// Alertmanager (so name="" matches an alert without name).
type Labels map[string]string

// Matchers is a conjunction of label matchers.
type Matchers []*labels.Matcher

// ParseMatchers reads matchers in Alertmanager's syntax: one string holding
// a comma-separated list (`{a="b", c=~"d.*"}` or `a=b,c!=d`).
func ParseMatchers(s string) (Matchers, error) {
	ms, err := labels.ParseMatchers(s)
	if err != nil {
		return nil, err
	}
	return Matchers(ms), nil
}

// ParseMatcherList reads one matcher per element (the YAML form:
// matchers: ['severity="critical"', 'target=~"api.*"']).
func ParseMatcherList(list []string) (Matchers, error) {
	out := make(Matchers, 0, len(list))
	for i, s := range list {
		m, err := labels.ParseMatcher(s)
		if err != nil {
			return nil, fmt.Errorf("matcher %d (%q): %w", i+1, s, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Matches reports whether every matcher matches ls.
func (ms Matchers) Matches(ls Labels) bool {
	for _, m := range ms {
		if !m.Matches(ls[m.Name]) {
			return false
		}
	}
	return true
}

// String is the matchers in the syntax ParseMatchers reads.
func (ms Matchers) String() string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// Equal reports whether two matcher sets are the same set (order aside):
// a silence from a button matches exactly that alert's labels.
func (ms Matchers) Equal(o Matchers) bool {
	if len(ms) != len(o) {
		return false
	}
	a, b := ms.sorted(), o.sorted()
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (ms Matchers) sorted() []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	sort.Strings(out)
	return out
}

// Exactly returns equality matchers for every label of ls: what a silence
// from an alert's button holds.
func Exactly(ls Labels) Matchers {
	names := make([]string, 0, len(ls))
	for k, v := range ls {
		if v != "" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	out := make(Matchers, 0, len(names))
	for _, k := range names {
		m, err := labels.NewMatcher(labels.MatchEqual, k, ls[k])
		if err == nil {
			out = append(out, m)
		}
	}
	return out
}
