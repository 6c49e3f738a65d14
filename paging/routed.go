package paging

import (
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/routing"
	"opsbot/store"
)

// One mechanism chooses who hears an alert: routing. A routing receiver
// may name an escalation policy (routing.receivers[].paging_policy); an
// alert routed to it is escalated by that policy. A policy with severity
// and kinds that no receiver names is the shorthand of a route matching
// those (kind and severity are labels of every alert), kept so a paging
// section without routes works as before.

// routedTree is the route tree of the configuration cfg, compiled once
// per configuration; nil when no receiver names a policy.
type routedTree struct {
	cfg  *config.Config
	tree *routing.Tree
}

// policyOf is the policy that escalates alert a: the first policy named
// by a receiver a is routed to, else the first shorthand policy matching
// its severity and kind.
func (e *Engine) policyOf(cfg *config.Config, a store.AlertRow) (config.EscalationPolicy, bool) {
	routed := cfg.Routing.RoutedPolicies()
	if len(routed) == 0 {
		return cfg.Paging.PolicyFor(a.Severity, a.Kind)
	}
	if e.routes.cfg != cfg {
		t, err := routing.Compile(cfg.Routing, nil, routing.Defaults{})
		if err != nil {
			// config check refuses such a tree; fall back to the shorthand.
			e.log.Error("route tree not compiled for paging", "err", err)
			t = nil
		}
		e.routes = routedTree{cfg: cfg, tree: t}
	}
	if e.routes.tree != nil {
		for _, name := range e.routes.tree.PagingPolicies(notifier.Labels(a)) {
			if pol, ok := cfg.Paging.Policy(name); ok {
				return pol, true
			}
		}
	}
	return cfg.Paging.PolicyForUnrouted(a.Severity, a.Kind, routed)
}
