package commands

import (
	"fmt"
	"sort"

	"opsbot/config"
	"opsbot/policy"
)

// policyFor is the policy compiled for one configuration and the known
// verbs, with the rate limits resolved by the same names.
type policyFor struct {
	pol    *policy.Policy
	probs  []string
	limits []rateLimit
}

type rateLimit struct {
	name  string // canonical
	paths map[string]bool
	limit config.RateLimit
}

// Policy returns the policy in force: the current configuration's rules
// over the registered (and declared) verbs.
func (r *Registry) Policy() *policy.Policy { return r.compiled().pol }

// compiled compiles the policy for the configuration in force. It is not
// cached: compiling takes microseconds, and a decision never sees rules
// older than the configuration it runs under.
func (r *Registry) compiled() *policyFor {
	return r.compile(r.Config())
}

func (r *Registry) compile(cfg *config.Config) *policyFor {
	cat := r.Catalogue()
	pol, probs := policy.Compile(Rules(cfg), cat)
	pf := &policyFor{pol: pol}
	for _, p := range probs {
		pf.probs = append(pf.probs, p.String())
	}
	names := make([]string, 0, len(cfg.RateLimits.Verbs))
	for name := range cfg.RateLimits.Verbs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		canon, paths, err := cat.Resolve(name)
		if err != nil {
			pf.probs = append(pf.probs, fmt.Sprintf("rate_limits.verbs.%s: %v", name, err))
			continue
		}
		lim := rateLimit{name: canon, paths: map[string]bool{}, limit: cfg.RateLimits.Verbs[name]}
		for _, p := range paths {
			lim.paths[p] = true
		}
		pf.limits = append(pf.limits, lim)
	}
	sort.Strings(pf.probs)
	return pf
}

// Rules are the policy's inputs read from cfg: roles, channels.allow,
// channels.verbs and confirm.two_person.
func Rules(cfg *config.Config) policy.Rules {
	r := policy.Rules{Accept: cfg.Channels.Allow, Channels: cfg.Channels.Verbs, TwoPerson: cfg.Confirm.TwoPerson}
	for name, ro := range cfg.Roles {
		r.Roles = append(r.Roles, policy.Role{Name: name, Users: ro.Users, Verbs: ro.Verbs, SilenceMax: ro.SilenceMax})
	}
	return r
}

// CheckConfig checks the verb names cfg uses (roles, channels.verbs,
// confirm.two_person, rate_limits.verbs) against the verbs this registry
// knows, and returns the problems with their key paths and the notes
// worth saying once (no admin configured for chat).
func (r *Registry) CheckConfig(cfg *config.Config) (problems, notes []string) {
	pf := r.compile(cfg)
	return pf.probs, pf.pol.Notes()
}

// Entries returns the policy entry of every registered runnable verb path,
// sorted by path (parents with subcommands are their subcommands).
func (r *Registry) Entries() []policy.Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.entries()
}

func (r *Registry) entries() []policy.Entry {
	var out []policy.Entry
	for _, n := range r.order {
		entries(r.verbs[n], n, &out)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Catalogue is what the policy knows: the declared verbs, then the
// registered ones (which win for a path both have). It is built once per
// change of the verbs.
func (r *Registry) Catalogue() *policy.Catalogue {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cat == nil {
		var es []policy.Entry
		for _, v := range r.declared {
			entries(v, v.Name, &es)
		}
		r.cat = policy.NewCatalogue(append(es, r.entries()...))
	}
	return r.cat
}

func entries(v *Verb, path string, out *[]policy.Entry) {
	if len(v.Subs) == 0 {
		*out = append(*out, policy.Entry{Path: path, Class: v.Access})
		return
	}
	for _, s := range v.Subs {
		entries(s, path+" "+s.Name, out)
	}
}
