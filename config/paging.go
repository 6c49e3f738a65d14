package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Paging is on-call and escalation: who is on call (people and rotations),
// how an unacknowledged alert escalates (policies), and the outgoing
// integrations that reach a phone (PagerDuty, e-mail, a signed webhook).
// Each integration's secret (a PagerDuty routing key, an SMTP password, a
// webhook's signing key) comes only from OPSBOT_PAGING_<NAME>_SECRET or
// its _FILE twin.
type Paging struct {
	// Channel gets a line at each handoff ("on call now: …"); empty: none.
	Channel      string                  `yaml:"channel"`
	People       map[string]Person       `yaml:"people"`
	Rotations    map[string]RotationSpec `yaml:"rotations"`
	Integrations map[string]Integration  `yaml:"integrations"`
	// Policies: the first whose severity and kinds match an alert escalates it.
	Policies []EscalationPolicy `yaml:"policies"`
}

// Person is someone who can be on call.
type Person struct {
	Slack   string `yaml:"slack"`   // Slack user id (U…)
	Discord string `yaml:"discord"` // Discord user id
	Email   string `yaml:"email"`
	Phone   string `yaml:"phone"` // E.164, for an SMS gateway behind a webhook
}

// RotationSpec is a rotation as configured.
type RotationSpec struct {
	Members  []string `yaml:"members"`  // names in paging.people, in shift order
	Length   string   `yaml:"length"`   // daily | weekly | a duration (12h)
	Handoff  string   `yaml:"handoff"`  // HH:MM in Timezone
	Timezone string   `yaml:"timezone"` // IANA name
	Start    string   `yaml:"start"`    // YYYY-MM-DD: the day the first member's first shift begins
}

// Integration is one outgoing paging integration.
type Integration struct {
	Type string `yaml:"type"` // pagerduty | email | webhook
	// URL: PagerDuty's Events API base (default https://events.pagerduty.com)
	// or the webhook's address.
	URL string `yaml:"url"`
	// E-mail: SMTP server host:port, TLS mode, sender, login, and fixed
	// recipients besides the person paged.
	SMTP     string   `yaml:"smtp"`
	TLS      string   `yaml:"tls"` // starttls (default) | tls | none (only to a loopback server)
	From     string   `yaml:"from"`
	Username string   `yaml:"username"`
	To       []string `yaml:"to"`
	// Timeout bounds one attempt.
	Timeout time.Duration `yaml:"timeout"`
}

// EscalationPolicy is a list of steps taken while an alert stays
// unacknowledged.
type EscalationPolicy struct {
	Name     string   `yaml:"name"`
	Severity string   `yaml:"severity"` // warning | critical | "" (any)
	Kinds    []string `yaml:"kinds"`    // empty: any
	Steps    []Step   `yaml:"steps"`
}

// Step notifies a rotation's current member or named people through some
// ways, After the alert was announced.
type Step struct {
	After    time.Duration `yaml:"after"`
	Rotation string        `yaml:"rotation"`
	People   []string      `yaml:"people"`
	// Via: "channel" (a mention in the alert's thread), "dm" (a direct
	// message with an Acknowledge button, on Slack and Discord), or the
	// name of an integration.
	Via []string `yaml:"via"`
}

// PagingTypes are the integration types.
var PagingTypes = []string{"pagerduty", "email", "webhook"}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// PagingSecretEnv is the variable that holds integration name's secret.
func PagingSecretEnv(name string) string {
	return "OPSBOT_PAGING_" + envPart(name) + "_SECRET"
}

// PagingWebhookSecretEnv is the variable that holds the signing secret of
// what integration name's service sends back (PagerDuty's webhook v3
// subscription: its acknowledgements and resolves).
func PagingWebhookSecretEnv(name string) string {
	return "OPSBOT_PAGING_" + envPart(name) + "_WEBHOOK_SECRET"
}

// WebhookSecretKey is where Secrets.Paging keeps integration name's
// inbound webhook secret (a name never holds a dot).
func WebhookSecretKey(name string) string { return name + ".webhook" }

func (pg *Paging) setDefaults() {
	for name, in := range pg.Integrations {
		if in.Timeout == 0 {
			in.Timeout = 10 * time.Second
		}
		if in.Type == "pagerduty" && in.URL == "" {
			in.URL = "https://events.pagerduty.com"
		}
		if in.Type == "email" && in.TLS == "" {
			in.TLS = "starttls"
		}
		pg.Integrations[name] = in
	}
}

func (pg Paging) validate(c *Config, p *Problems) {
	pg.validateRoutedPolicies(c.Routing, p)
	if pg.Channel != "" && !validChannel(pg.Channel) {
		p.add("paging.channel", "want slack:<id>, discord:<id> or console, got %q", pg.Channel)
	}
	for _, name := range sortedKeys(pg.People) {
		pp := "paging.people." + name
		per := pg.People[name]
		if !nameRE.MatchString(name) {
			p.add(pp, "a name is lower case letters, digits, - and _")
		}
		if per.Email != "" {
			if _, err := mail.ParseAddress(per.Email); err != nil {
				p.add(pp+".email", "not an e-mail address: %q", per.Email)
			}
		}
		if per.Phone != "" && !phoneRE.MatchString(per.Phone) {
			p.add(pp+".phone", "want E.164 (+4930123456), got %q", per.Phone)
		}
		if per.Slack == "" && per.Discord == "" && per.Email == "" && per.Phone == "" {
			p.add(pp, "no way to reach them (slack, discord, email or phone)")
		}
	}
	for _, name := range sortedKeys(pg.Rotations) {
		rp := "paging.rotations." + name
		r := pg.Rotations[name]
		if !nameRE.MatchString(name) {
			p.add(rp, "a name is lower case letters, digits, - and _")
		}
		if len(r.Members) == 0 {
			p.add(rp+".members", "nobody is in this rotation")
		}
		for i, m := range r.Members {
			if _, ok := pg.People[m]; !ok {
				p.add(fmt.Sprintf("%s.members[%d]", rp, i), "unknown person %q (not in paging.people)", m)
			}
		}
		if _, err := ParseRotation(name, r); err != nil {
			p.add(rp, "%v", err)
		}
	}
	for _, name := range sortedKeys(pg.Integrations) {
		ip := "paging.integrations." + name
		in := pg.Integrations[name]
		if !nameRE.MatchString(name) || name == "channel" || name == "dm" {
			p.add(ip, "a name is lower case letters, digits, - and _, and not channel or dm")
		}
		secret := c.Secrets.Paging[name]
		switch in.Type {
		case "pagerduty", "webhook":
			if u, err := url.Parse(in.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.add(ip+".url", "not an http(s) URL: %q", in.URL)
			}
			if secret == "" {
				what := "routing key"
				if in.Type == "webhook" {
					what = "signing key"
				}
				p.add(ip, "%s missing: set %s (or %s_FILE)", what, PagingSecretEnv(name), PagingSecretEnv(name))
			}
		case "email":
			host, port, err := net.SplitHostPort(in.SMTP)
			if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n <= 0 || n > 65535 {
				p.add(ip+".smtp", "not host:port: %q", in.SMTP)
			}
			switch in.TLS {
			case "starttls", "tls":
			case "none":
				if a := net.ParseIP(host); host != "localhost" && (a == nil || !a.IsLoopback()) {
					p.add(ip+".tls", "none is only allowed to a loopback server")
				}
			default:
				p.add(ip+".tls", "unknown mode %q (want starttls, tls or none)", in.TLS)
			}
			if _, err := mail.ParseAddress(in.From); err != nil {
				p.add(ip+".from", "not an e-mail address: %q", in.From)
			}
			for i, to := range in.To {
				if _, err := mail.ParseAddress(to); err != nil {
					p.add(fmt.Sprintf("%s.to[%d]", ip, i), "not an e-mail address: %q", to)
				}
			}
			if in.Username != "" && secret == "" {
				p.add(ip, "password missing: set %s (or %s_FILE)", PagingSecretEnv(name), PagingSecretEnv(name))
			}
		default:
			p.add(ip+".type", "unknown type %q (want %s)", in.Type, strings.Join(PagingTypes, ", "))
		}
		if in.Timeout <= 0 {
			p.add(ip+".timeout", "must be positive")
		}
	}
	names := map[string]bool{}
	for i, pol := range pg.Policies {
		pp := fmt.Sprintf("paging.policies[%d]", i)
		switch {
		case pol.Name == "":
			p.add(pp+".name", "missing")
		case names[pol.Name]:
			p.add(pp+".name", "duplicate policy %q", pol.Name)
		}
		names[pol.Name] = true
		switch pol.Severity {
		case "", "warning", "critical":
		default:
			p.add(pp+".severity", "unknown severity %q (want warning or critical)", pol.Severity)
		}
		if len(pol.Steps) == 0 {
			p.add(pp+".steps", "a policy needs at least one step")
		}
		var last time.Duration
		for j, st := range pol.Steps {
			sp := fmt.Sprintf("%s.steps[%d]", pp, j)
			if st.After < last {
				p.add(sp+".after", "steps must be in order of after")
			}
			last = st.After
			if st.Rotation == "" && len(st.People) == 0 {
				p.add(sp, "names nobody: set rotation or people")
			}
			if st.Rotation != "" {
				if _, ok := pg.Rotations[st.Rotation]; !ok {
					p.add(sp+".rotation", "unknown rotation %q", st.Rotation)
				}
			}
			for k, who := range st.People {
				if _, ok := pg.People[who]; !ok {
					p.add(fmt.Sprintf("%s.people[%d]", sp, k), "unknown person %q", who)
				}
			}
			if len(st.Via) == 0 {
				p.add(sp+".via", "empty: want channel, dm or an integration")
			}
			for k, v := range st.Via {
				if _, ok := pg.Integrations[v]; !ok && v != "channel" && v != "dm" {
					p.add(fmt.Sprintf("%s.via[%d]", sp, k), "unknown way %q (want channel, dm or one of paging.integrations)", v)
				}
			}
		}
	}
}

// validateRoutedPolicies checks that each routing receiver's
// paging_policy names a policy.
func (pg Paging) validateRoutedPolicies(r Routing, p *Problems) {
	for i, rc := range r.Receivers {
		if rc.PagingPolicy == "" {
			continue
		}
		if _, ok := pg.Policy(rc.PagingPolicy); !ok {
			p.add(fmt.Sprintf("routing.receivers[%d].paging_policy", i), "unknown paging policy %q (not in paging.policies)", rc.PagingPolicy)
		}
	}
}

// Policy returns the policy called name.
func (pg Paging) Policy(name string) (EscalationPolicy, bool) {
	for _, pol := range pg.Policies {
		if pol.Name == name {
			return pol, true
		}
	}
	return EscalationPolicy{}, false
}

// RoutedPolicies are the names of the policies routing receivers name:
// those are chosen by routing only, never by their severity and kinds.
func (r Routing) RoutedPolicies() map[string]bool {
	out := map[string]bool{}
	for _, rc := range r.Receivers {
		if rc.PagingPolicy != "" {
			out[rc.PagingPolicy] = true
		}
	}
	return out
}

var phoneRE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// RotationRule is a rotation read from its spec, ready for package oncall.
type RotationRule struct {
	Name         string
	Members      []string
	Length       time.Duration
	Hour, Minute int
	Loc          *time.Location
	Start        time.Time
}

// ParseRotation reads spec; the error names the first bad field.
func ParseRotation(name string, spec RotationSpec) (RotationRule, error) {
	r := RotationRule{Name: name, Members: spec.Members}
	var err error
	switch spec.Length {
	case "daily":
		r.Length = 24 * time.Hour
	case "weekly":
		r.Length = 7 * 24 * time.Hour
	default:
		if r.Length, err = time.ParseDuration(spec.Length); err != nil || r.Length < time.Hour {
			return r, fmt.Errorf("length %q: want daily, weekly or a duration of at least 1h", spec.Length)
		}
	}
	h, m, ok := strings.Cut(spec.Handoff, ":")
	if ok {
		r.Hour, err = strconv.Atoi(h)
		if err == nil {
			r.Minute, err = strconv.Atoi(m)
		}
	}
	if !ok || err != nil || len(m) != 2 || r.Hour < 0 || r.Hour > 23 || r.Minute < 0 || r.Minute > 59 {
		return r, fmt.Errorf("handoff %q: want HH:MM", spec.Handoff)
	}
	tz := spec.Timezone
	if tz == "" {
		tz = "UTC"
	}
	if r.Loc, err = time.LoadLocation(tz); err != nil {
		return r, fmt.Errorf("unknown time zone %q", spec.Timezone)
	}
	if r.Start, err = time.ParseInLocation("2006-01-02", spec.Start, r.Loc); err != nil {
		return r, fmt.Errorf("start %q: want YYYY-MM-DD", spec.Start)
	}
	return r, nil
}

// PolicyFor returns the first policy matching an alert's severity and kind
// (the shorthand of a route; policies a routing receiver names are left
// to routing: see paging.Engine).
func (pg Paging) PolicyFor(severity, kind string) (EscalationPolicy, bool) {
	return pg.policyFor(severity, kind, nil)
}

// PolicyForUnrouted is PolicyFor skipping the policies in routed.
func (pg Paging) PolicyForUnrouted(severity, kind string, routed map[string]bool) (EscalationPolicy, bool) {
	return pg.policyFor(severity, kind, routed)
}

func (pg Paging) policyFor(severity, kind string, routed map[string]bool) (EscalationPolicy, bool) {
	for _, pol := range pg.Policies {
		if routed[pol.Name] {
			continue
		}
		if pol.Severity != "" && pol.Severity != severity {
			continue
		}
		if len(pol.Kinds) > 0 && !contains(pol.Kinds, kind) {
			continue
		}
		return pol, true
	}
	return EscalationPolicy{}, false
}

// PersonOf returns the person a chat principal ("slack:U1") or name is.
func (pg Paging) PersonOf(who string) (string, bool) {
	if _, ok := pg.People[who]; ok {
		return who, true
	}
	kind, id, _ := strings.Cut(who, ":")
	names := sortedKeys(pg.People)
	sort.Strings(names)
	for _, name := range names {
		per := pg.People[name]
		if (kind == "slack" && per.Slack == id && id != "") || (kind == "discord" && per.Discord == id && id != "") {
			return name, true
		}
	}
	return "", false
}
