package routing

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"opsbot/config"
)

// InhibitRule is a compiled inhibition rule.
type InhibitRule struct {
	Name   string
	Source Matchers
	Target Matchers
	Equal  []string
}

// CompileInhibitRules compiles rules (config.Routing.AllInhibitRules).
func CompileInhibitRules(rules []config.InhibitRule) ([]InhibitRule, error) {
	out := make([]InhibitRule, 0, len(rules))
	for i, r := range rules {
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("inhibit_rules[%d]", i)
		}
		src, err := ParseMatcherList(r.SourceMatchers)
		if err != nil {
			return nil, fmt.Errorf("inhibit rule %s: source: %w", name, err)
		}
		tgt, err := ParseMatcherList(r.TargetMatchers)
		if err != nil {
			return nil, fmt.Errorf("inhibit rule %s: target: %w", name, err)
		}
		out = append(out, InhibitRule{Name: name, Source: src, Target: tgt, Equal: r.Equal})
	}
	return out, nil
}

// Firing is an alert that may inhibit others.
type Firing struct {
	Fingerprint string
	Labels      Labels
}

// Inhibitor answers whether an alert is muted by another firing alert,
// as Alertmanager's inhibit.Inhibitor.Mutes.
type Inhibitor struct {
	rules []InhibitRule
	// per rule: equal-label key → sources (fingerprint, and whether the
	// source also matches the rule's target side)
	sources []map[string][]source
}

type source struct {
	fp       string
	twoSided bool
}

// NewInhibitor indexes the firing alerts under each rule's source side.
func NewInhibitor(rules []InhibitRule, firing []Firing) *Inhibitor {
	in := &Inhibitor{rules: rules, sources: make([]map[string][]source, len(rules))}
	for i, r := range rules {
		idx := map[string][]source{}
		for _, f := range firing {
			if !r.Source.Matches(f.Labels) {
				continue
			}
			k := equalKey(r.Equal, f.Labels)
			idx[k] = append(idx[k], source{fp: f.Fingerprint, twoSided: r.Target.Matches(f.Labels)})
		}
		in.sources[i] = idx
	}
	return in
}

func equalKey(names []string, ls Labels) string {
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	for _, n := range names {
		b.WriteString(ls[n])
		b.WriteByte(0)
	}
	return b.String()
}

// Inhibited returns the rule and source fingerprint muting the alert, if
// any. An alert never mutes itself, and an alert matching both sides of a
// rule is muted only by a source that does not also match the target side
// (so two critical alerts do not mute each other).
func (in *Inhibitor) Inhibited(fingerprint string, ls Labels) (rule, by string, ok bool) {
	for i, r := range in.rules {
		if len(in.sources[i]) == 0 || !r.Target.Matches(ls) {
			continue
		}
		twoSided := r.Source.Matches(ls)
		for _, s := range in.sources[i][equalKey(r.Equal, ls)] {
			if s.fp == fingerprint || (twoSided && s.twoSided) {
				continue
			}
			return r.Name, s.fp, true
		}
	}
	return "", "", false
}

// Silence mutes alerts matching all its matchers between StartsAt and EndsAt.
type Silence struct {
	ID       int64
	Matchers Matchers
	StartsAt time.Time
	EndsAt   time.Time
}

// Active reports whether the silence is in force at now.
func (s Silence) Active(now time.Time) bool {
	return !now.Before(s.StartsAt) && now.Before(s.EndsAt)
}

// SilencedBy returns the active silence muting ls that ends last.
func SilencedBy(ss []Silence, ls Labels, now time.Time) (Silence, bool) {
	var best Silence
	found := false
	for _, s := range ss {
		if s.Active(now) && s.Matchers.Matches(ls) && (!found || s.EndsAt.After(best.EndsAt)) {
			best, found = s, true
		}
	}
	return best, found
}

// SilenceSet indexes the silences in force at one instant by one equality
// matcher of each (name="value"), so an alert is checked only against the
// silences that can match it: with hundreds of silences most alerts meet a
// handful. Silences without an equality matcher are checked always.
type SilenceSet struct {
	all     []Silence
	byLabel map[string]map[string][]int // name → value → indexes in all
	always  []int
}

// NewSilenceSet indexes the silences of ss active at now.
func NewSilenceSet(ss []Silence, now time.Time) *SilenceSet {
	set := &SilenceSet{byLabel: map[string]map[string][]int{}}
	for _, s := range ss {
		if !s.Active(now) {
			continue
		}
		i := len(set.all)
		set.all = append(set.all, s)
		key := -1
		for j, m := range s.Matchers {
			if m.Type == labels.MatchEqual && m.Value != "" {
				key = j
				break
			}
		}
		if key < 0 {
			set.always = append(set.always, i)
			continue
		}
		m := s.Matchers[key]
		if set.byLabel[m.Name] == nil {
			set.byLabel[m.Name] = map[string][]int{}
		}
		set.byLabel[m.Name][m.Value] = append(set.byLabel[m.Name][m.Value], i)
	}
	return set
}

// Len is the number of silences in force.
func (set *SilenceSet) Len() int { return len(set.all) }

// SilencedBy returns the silence muting ls that ends last.
func (set *SilenceSet) SilencedBy(ls Labels) (Silence, bool) {
	best, found := -1, false
	try := func(i int) {
		s := &set.all[i]
		if (best < 0 || s.EndsAt.After(set.all[best].EndsAt)) && s.Matchers.Matches(ls) {
			best, found = i, true
		}
	}
	for name, byValue := range set.byLabel {
		v, ok := ls[name]
		if !ok {
			continue
		}
		for _, i := range byValue[v] {
			try(i)
		}
	}
	for _, i := range set.always {
		try(i)
	}
	if !found {
		return Silence{}, false
	}
	return set.all[best], true
}
