// Package policy decides who may run which verb, and where: one place for
// the role grants, the channel rules, the confirmation and two-person rules
// and the per-role silence limit. It is a leaf: the command registry hands
// it the catalogue of verbs (each with its class, the verb's policy entry)
// and the rules read from the configuration, and asks it for decisions.
package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Class is a verb's policy entry: who may run it when no role says more.
type Class uint8

const (
	// Unlisted is a verb without a policy entry: nobody may run it, not even
	// the local shell user. A verb must say what it is.
	Unlisted Class = iota
	// Read verbs only look: everyone may run them.
	Read
	// Operate verbs change state (silence, ack, incident close …) or show
	// what only operators should see (audit): they need a role; operator
	// and admin grant them by default.
	Operate
	// Admin verbs are for admins only (demo fault injection).
	Admin
	// Dangerous verbs need admin and a confirmation (restart, update,
	// backup restore, cache flush).
	Dangerous
)

func (c Class) String() string {
	switch c {
	case Read:
		return "read-only"
	case Operate:
		return "operators"
	case Admin:
		return "admin only"
	case Dangerous:
		return "dangerous"
	}
	return "unlisted"
}

// Entry is one runnable verb path ("status", "backup restore") and its class.
type Entry struct {
	Path  string
	Class Class
}

// Catalogue is the set of verb paths that exist, with their classes. Names
// in the configuration (roles, channel rules, two-person rule, rate limits)
// are resolved against it by one rule, see Resolve.
type Catalogue struct {
	class map[string]Class
	paths []string            // sorted
	index map[string]int      // path → its place in paths
	tops  map[string][]string // top-level verb → its paths
	subs  map[string][]string // bare subcommand name → the paths ending in it
}

// NewCatalogue makes a catalogue of entries. A later entry for the same
// path replaces an earlier one.
func NewCatalogue(entries []Entry) *Catalogue {
	c := &Catalogue{class: map[string]Class{}, index: map[string]int{}, tops: map[string][]string{}, subs: map[string][]string{}}
	for _, e := range entries {
		if _, ok := c.class[e.Path]; !ok {
			c.paths = append(c.paths, e.Path)
		}
		c.class[e.Path] = e.Class
	}
	sort.Strings(c.paths)
	for i, p := range c.paths {
		c.index[p] = i
		top, sub, nested := strings.Cut(p, " ")
		c.tops[top] = append(c.tops[top], p)
		if nested {
			c.subs[sub] = append(c.subs[sub], p)
		}
	}
	return c
}

// Class returns the class of a path; Unlisted when the catalogue lacks it.
func (c *Catalogue) Class(path string) Class { return c.class[path] }

// Paths returns every path, sorted.
func (c *Catalogue) Paths() []string { return append([]string(nil), c.paths...) }

// Resolve reads a verb name as the configuration writes it and returns its
// canonical name and the paths it covers. The one rule:
//   - "*" is every verb;
//   - a verb ("backup") is all of its subcommands;
//   - a path as the grammar names it ("backup restore") is itself;
//   - a path may also be written with dots ("alerts.show", "backup.restore"),
//     the form that reads as one word in a YAML list;
//   - a bare subcommand name that is unique across verbs ("restore") is an
//     alias of its path ("backup restore"); one that is not ("list") is
//     refused with the paths it could mean, unless it is pinned (see
//     pinnedAliases).
//
// An unknown name is refused with the closest known name suggested.
func (c *Catalogue) Resolve(name string) (string, []string, error) {
	name = strings.Join(strings.Fields(strings.ReplaceAll(name, ".", " ")), " ")
	if name == "*" {
		return name, c.Paths(), nil
	}
	if ps, ok := c.tops[name]; ok {
		return name, append([]string(nil), ps...), nil
	}
	if _, ok := c.class[name]; ok {
		return name, []string{name}, nil
	}
	if !strings.Contains(name, " ") {
		switch ps := c.subs[name]; len(ps) {
		case 0:
		case 1:
			return ps[0], []string{ps[0]}, nil
		default:
			if p, ok := pinnedAliases[name]; ok && c.has(p) {
				return p, []string{p}, nil
			}
			return "", nil, fmt.Errorf("%q is ambiguous: name one of %s", name, strings.Join(ps, ", "))
		}
	}
	if s := c.suggest(name); s != "" {
		return "", nil, fmt.Errorf("unknown verb %q; did you mean %q?", name, s)
	}
	return "", nil, fmt.Errorf("unknown verb %q", name)
}

// pinnedAliases are bare subcommand names that configurations used while
// they were unique, kept on the path they meant when a later verb took the
// same name: "show" was incident show before alerts show existed, and a role
// granting "show" must not start failing nor silently grant the other. The
// later verb is named in full ("alerts show" or "alerts.show").
var pinnedAliases = map[string]string{"show": "incident show"}

func (c *Catalogue) has(path string) bool { _, ok := c.class[path]; return ok }

// suggest returns the known name closest to name (at most two edits, or
// the path whose last word is name's), or "".
func (c *Catalogue) suggest(name string) string {
	best, bestD := "", 3
	try := func(cand string) {
		if d := distance(name, cand); d < bestD {
			best, bestD = cand, d
		}
	}
	// In sorted order, so that a tie always suggests the same name.
	for _, top := range sortedKeys(c.tops) {
		try(top)
	}
	for _, p := range c.paths {
		try(p)
	}
	for _, sub := range sortedKeys(c.subs) {
		if ps := c.subs[sub]; len(ps) == 1 && distance(name, sub) < bestD {
			best, bestD = ps[0], distance(name, sub)
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
