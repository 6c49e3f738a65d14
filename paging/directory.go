package paging

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"opsbot/config"
	"opsbot/oncall"
	"opsbot/store"
)

// person is someone to notify, as a step resolved them.
type person struct {
	name  string
	label string // "alice (primary)"
	config.Person
}

func (p person) idOn(platform string) string {
	switch platform {
	case "slack":
		return p.Slack
	case "discord":
		return p.Discord
	case "console":
		return "@" + p.name
	}
	return ""
}

// directory is who is on call: the configured rotations with the members
// an admin set from chat, and the overrides.
type directory struct {
	cfg       *config.Config
	rotations map[string]oncall.Rotation
	overrides map[string][]oncall.Override
}

// loadDirectory reads rotations and the overrides that end after now.
func loadDirectory(ctx context.Context, q store.DBTX, cfg *config.Config, now time.Time) (*directory, error) {
	d := &directory{cfg: cfg, rotations: map[string]oncall.Rotation{}, overrides: map[string][]oncall.Override{}}
	edited, err := store.RotationMembers(ctx, q)
	if err != nil {
		return nil, err
	}
	for name, spec := range cfg.Paging.Rotations {
		rule, err := config.ParseRotation(name, spec)
		if err != nil {
			return nil, fmt.Errorf("rotation %s: %w", name, err)
		}
		r := oncall.Rotation{Name: name, Members: rule.Members, Length: rule.Length, HandoffHour: rule.Hour, HandoffMinute: rule.Minute,
			Loc: rule.Loc, Start: rule.Start}
		if js, ok := edited[name]; ok {
			var members []string
			if err := json.Unmarshal([]byte(js), &members); err == nil {
				r.Members = members
			}
		}
		d.rotations[name] = r
	}
	ovs, err := store.Overrides(ctx, q, now)
	if err != nil {
		return nil, err
	}
	for _, o := range ovs {
		d.overrides[o.Rotation] = append(d.overrides[o.Rotation], oncall.Override{ID: o.ID, User: o.Person, Start: o.StartsAt.Time, End: o.EndsAt.Time})
	}
	return d, nil
}

func (d *directory) names() []string {
	out := make([]string, 0, len(d.rotations))
	for n := range d.rotations {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// at is who covers rotation name at t.
func (d *directory) at(name string, t time.Time) (oncall.Shift, error) {
	r, ok := d.rotations[name]
	if !ok {
		return oncall.Shift{}, fmt.Errorf("unknown rotation %q", name)
	}
	return r.At(t, d.overrides[name])
}

func (d *directory) next(name string, t time.Time) (oncall.Shift, error) {
	r, ok := d.rotations[name]
	if !ok {
		return oncall.Shift{}, fmt.Errorf("unknown rotation %q", name)
	}
	return r.Next(t, d.overrides[name])
}

func (d *directory) person(name, label string) person {
	return person{name: name, label: label, Person: d.cfg.Paging.People[name]}
}

// resolve is whom step st notifies at t: the rotation's current member and
// the named people.
func (d *directory) resolve(st config.Step, t time.Time) []person {
	var out []person
	seen := map[string]bool{}
	if st.Rotation != "" {
		if s, err := d.at(st.Rotation, t); err == nil && s.Member != "" {
			out = append(out, d.person(s.Member, s.Member+" ("+st.Rotation+")"))
			seen[s.Member] = true
		}
	}
	for _, p := range st.People {
		if !seen[p] {
			out = append(out, d.person(p, p))
			seen[p] = true
		}
	}
	return out
}
