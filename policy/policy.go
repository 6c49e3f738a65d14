package policy

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// The built-in roles. Configured without a verb list they grant their
// defaults: operator every verb that changes state, admin every verb.
const (
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// Default silence limits: operators (and any role that sets none) may
// silence for at most a day, admins for a week.
const (
	DefaultSilenceMax      = 24 * time.Hour
	DefaultAdminSilenceMax = 7 * 24 * time.Hour
)

// Everywhere commands are accepted, a user may ask for help and for what
// they may do, whatever the channel's verb list says.
var alwaysHere = map[string]bool{"help": true, "whoami": true}

// Role is a role as configured: roles.<name>.{users, verbs, silence_max}.
type Role struct {
	Name  string
	Users []string // slack:U123, discord:123, discord-role:789, shell:name
	// Verbs the role grants, named as Resolve reads them. Empty: the
	// built-in defaults for operator and admin, nothing for other roles.
	Verbs []string
	// SilenceMax bounds a silence by this role; 0 is the default.
	SilenceMax time.Duration
}

// Rules are the configured inputs of the policy.
type Rules struct {
	Roles []Role
	// Accept lists the channels where commands are accepted (channels.allow);
	// empty: every channel.
	Accept []string
	// Channels maps a channel to the verbs allowed there (channels.verbs);
	// a channel not named allows every verb.
	Channels map[string][]string
	// TwoPerson names the verbs whose confirmer must not be the requester.
	TwoPerson []string
}

// Problem is a name in the rules that the catalogue does not know, with
// the key path of the configuration that holds it.
type Problem struct{ Key, Msg string }

func (p Problem) String() string { return p.Key + ": " + p.Msg }

type role struct {
	name       string
	users      map[string]bool
	defaults   bool   // no verb list: the built-in defaults of its name
	grant      []bool // by catalogue index, when not defaults
	silenceMax time.Duration
}

// Policy is compiled rules over a catalogue. It is immutable and safe for
// concurrent use.
type Policy struct {
	cat          *Catalogue
	roles        []*role // by name
	byName       map[string]*role
	accept       map[string]bool
	channels     map[string]map[string]bool
	channelNames map[string][]string // canonical names, for whoami
	twoPerson    map[string]bool
	adminSilence time.Duration
}

// Compile checks every verb name of r against cat and compiles the rules.
// A name that does not resolve is reported and grants nothing.
func Compile(r Rules, cat *Catalogue) (*Policy, []Problem) {
	p := &Policy{cat: cat, byName: map[string]*role{}, accept: map[string]bool{}, channels: map[string]map[string]bool{},
		channelNames: map[string][]string{}, twoPerson: map[string]bool{}, adminSilence: DefaultAdminSilenceMax}
	var probs []Problem
	resolve := func(key, name string, into func(path string)) string {
		canon, paths, err := cat.Resolve(name)
		if err != nil {
			probs = append(probs, Problem{key, err.Error()})
			return ""
		}
		for _, path := range paths {
			into(path)
		}
		return canon
	}
	set := func(m map[string]bool) func(string) { return func(path string) { m[path] = true } }
	roles := append([]Role(nil), r.Roles...)
	sort.Slice(roles, func(i, j int) bool { return roles[i].Name < roles[j].Name })
	for _, cr := range roles {
		ro := &role{name: cr.Name, users: make(map[string]bool, len(cr.Users)), defaults: len(cr.Verbs) == 0, silenceMax: cr.SilenceMax}
		for _, u := range cr.Users {
			ro.users[u] = true
		}
		if !ro.defaults {
			ro.grant = make([]bool, len(cat.paths))
			for i, v := range cr.Verbs {
				resolve(fmt.Sprintf("roles.%s.verbs[%d]", cr.Name, i), v, func(path string) { ro.grant[cat.index[path]] = true })
			}
		}
		if ro.silenceMax <= 0 {
			ro.silenceMax = DefaultSilenceMax
			if cr.Name == RoleAdmin {
				ro.silenceMax = DefaultAdminSilenceMax
			}
		}
		if cr.Name == RoleAdmin {
			p.adminSilence = ro.silenceMax
		}
		p.roles = append(p.roles, ro)
		p.byName[ro.name] = ro
	}
	for _, ch := range r.Accept {
		p.accept[ch] = true
	}
	chans := make([]string, 0, len(r.Channels))
	for ch := range r.Channels {
		chans = append(chans, ch)
	}
	sort.Strings(chans)
	for _, ch := range chans {
		allowed := map[string]bool{}
		for i, v := range r.Channels[ch] {
			if canon := resolve(fmt.Sprintf("channels.verbs.%s[%d]", ch, i), v, set(allowed)); canon != "" {
				p.channelNames[ch] = append(p.channelNames[ch], canon)
			}
		}
		p.channels[ch] = allowed
	}
	for i, v := range r.TwoPerson {
		resolve(fmt.Sprintf("confirm.two_person[%d]", i), v, set(p.twoPerson))
	}
	return p, probs
}

// grants reports whether ro grants path.
func (p *Policy) grants(ro *role, path string) bool {
	if ro.defaults {
		return defaultGrant(ro.name, p.cat.class[path])
	}
	i, ok := p.cat.index[path]
	return ok && ro.grant[i]
}

// defaultGrant is what the built-in roles grant when they list no verbs.
func defaultGrant(role string, c Class) bool {
	switch role {
	case RoleOperator:
		return c == Read || c == Operate
	case RoleAdmin:
		return c != Unlisted
	}
	return false
}

// Subject is who asks, and where.
type Subject struct {
	Platform string
	User     string
	// Groups are the platform role ids the user has (Discord); roles name
	// them "<platform>-role:<id>".
	Groups []string
	// Channel is where, as configuration names it ("slack:C123"). Empty:
	// no channel rule applies (a click on a button the bot itself posted
	// there, such as Acknowledge on an alert).
	Channel string
	// Local is the user of `opsbot shell`, the machine's operator: admin.
	Local bool
}

func (s Subject) principals() []string {
	ps := []string{s.Platform + ":" + s.User}
	for _, g := range s.Groups {
		ps = append(ps, s.Platform+"-role:"+g)
	}
	return ps
}

// Refusal is the kind of a denial.
type Refusal uint8

const (
	Granted      Refusal = iota
	NoEntry              // the verb has no policy entry
	NotAccepted          // the channel accepts no commands (channels.allow)
	NotInChannel         // the channel's verb list lacks it (channels.verbs)
	NoRole               // no role of the subject grants it
)

// Decision is the policy's answer for one subject and one verb path.
type Decision struct {
	Path    string
	Class   Class
	Allowed bool
	Refusal Refusal
	// Reason says in one line why not, and which role would grant it.
	Reason string
	// Roles are the subject's roles that grant the path (for read-only
	// verbs, all of the subject's roles).
	Roles []string
	// Confirm: the verb runs only after a confirmation.
	Confirm bool
	// TwoPerson: the confirmer must not be the requester.
	TwoPerson bool
	// SilenceMax is the longest silence the granting roles allow.
	SilenceMax time.Duration
}

// Decide says whether s may run path.
func (p *Policy) Decide(s Subject, path string) Decision {
	d := Decision{Path: path, Class: p.cat.Class(path), TwoPerson: p.twoPerson[path]}
	if d.Class == Unlisted {
		d.Refusal, d.Reason = NoEntry, path+" has no policy entry, so nobody may run it"
		return d
	}
	d.Confirm = d.Class == Dangerous
	if s.Local {
		d.Allowed, d.Roles, d.SilenceMax = true, []string{RoleAdmin}, p.adminSilence
		return d
	}
	if s.Channel != "" {
		if len(p.accept) > 0 && !p.accept[s.Channel] {
			d.Refusal, d.Reason = NotAccepted, "commands are not accepted in this channel"
			return d
		}
		top, _, _ := strings.Cut(path, " ")
		if allowed, ok := p.channels[s.Channel]; ok && !allowed[path] && !alwaysHere[top] {
			d.Refusal = NotInChannel
			d.Reason = fmt.Sprintf("%s is not allowed in this channel (channels.verbs.%s); `/ops whoami` says what is", path, s.Channel)
			return d
		}
	}
	mine := p.rolesOf(s)
	if d.Class == Read {
		d.Allowed = true
		for _, ro := range mine {
			d.Roles = append(d.Roles, ro.name)
		}
		return d
	}
	for _, ro := range mine {
		if p.grants(ro, path) {
			d.Roles = append(d.Roles, ro.name)
			d.SilenceMax = max(d.SilenceMax, ro.silenceMax)
		}
	}
	if len(d.Roles) > 0 {
		d.Allowed = true
		return d
	}
	d.Refusal, d.Reason = NoRole, p.denial(path, mine)
	return d
}

func (p *Policy) rolesOf(s Subject) []*role {
	var out []*role
	for _, ro := range p.roles {
		for _, pr := range s.principals() {
			if ro.users[pr] {
				out = append(out, ro)
				break
			}
		}
	}
	return out
}

// denial names the roles that would grant path and the key to add to.
func (p *Policy) denial(path string, mine []*role) string {
	have := "none"
	if len(mine) > 0 {
		names := make([]string, len(mine))
		for i, ro := range mine {
			names[i] = ro.name
		}
		have = strings.Join(names, ", ")
	}
	grantors := p.Grantors(path)
	if len(grantors) == 0 {
		return fmt.Sprintf("%s is granted by no role; an admin can add it under roles.%s.verbs", path, RoleAdmin)
	}
	return fmt.Sprintf("%s needs role %s; you have %s — ask an admin to add you under roles.%s.users", path, joinOr(grantors), have, grantors[0])
}

// Grantors names the roles that grant path: the configured roles that do,
// and operator and admin by their defaults when they are not configured.
// Operator and admin come first, so the first is the one to suggest.
func (p *Policy) Grantors(path string) []string {
	c := p.cat.Class(path)
	var out []string
	for _, name := range []string{RoleOperator, RoleAdmin} {
		if ro, ok := p.byName[name]; ok {
			if p.grants(ro, path) {
				out = append(out, name)
			}
		} else if c != Read && defaultGrant(name, c) {
			out = append(out, name)
		}
	}
	for _, ro := range p.roles {
		if ro.name != RoleOperator && ro.name != RoleAdmin && p.grants(ro, path) {
			out = append(out, ro.name)
		}
	}
	return out
}

func joinOr(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Explanation is what `/ops whoami` shows.
type Explanation struct {
	Roles []string // the subject's roles
	// Decisions has one decision per verb path, in catalogue order.
	Decisions []Decision
	// Accept lists the channels that accept commands (empty: every one).
	Accept []string
	// Channels maps the channels with a verb list to it.
	Channels map[string][]string
}

// Explain decides every path for s.
func (p *Policy) Explain(s Subject) Explanation {
	var e Explanation
	if s.Local {
		e.Roles = []string{RoleAdmin}
	}
	for _, ro := range p.rolesOf(s) {
		if !s.Local {
			e.Roles = append(e.Roles, ro.name)
		}
	}
	for _, path := range p.cat.paths {
		e.Decisions = append(e.Decisions, p.Decide(s, path))
	}
	for ch := range p.accept {
		e.Accept = append(e.Accept, ch)
	}
	sort.Strings(e.Accept)
	e.Channels = map[string][]string{}
	for ch, names := range p.channelNames {
		e.Channels[ch] = append([]string(nil), names...)
	}
	return e
}

// Notes are facts about the rules worth saying once (at start and by
// `config check`) that are not errors.
func (p *Policy) Notes() []string {
	var dangerous []string
	for _, path := range p.cat.paths {
		if p.cat.class[path] == Dangerous {
			dangerous = append(dangerous, path)
		}
	}
	if len(dangerous) == 0 {
		return nil
	}
	for _, ro := range p.roles {
		chat := false
		for u := range ro.users {
			if strings.HasPrefix(u, "slack:") || strings.HasPrefix(u, "discord:") || strings.HasPrefix(u, "discord-role:") {
				chat = true
			}
		}
		for _, path := range dangerous {
			if chat && p.grants(ro, path) {
				return nil
			}
		}
	}
	return []string{fmt.Sprintf("no admin is configured for chat: nobody in Slack or Discord may run %s (only the local `opsbot shell` user may); add one under roles.admin.users, e.g. slack:U0123ABCD",
		strings.Join(dangerous, ", "))}
}
