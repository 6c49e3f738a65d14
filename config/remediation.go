package config

import (
	"fmt"
	"slices"
	"strings"
)

// RemediationActions are the actions a rule may name (remediation:), the
// pipeline's allowlist: the remediation queue runs these and nothing else.
var RemediationActions = []string{"restart", "cache_flush", "cleanup"}

// Unable says why t cannot run a remediation action ("" when it can).
func (t Target) Unable(action string) string {
	switch action {
	case "restart":
		if len(t.Restart) == 0 {
			return "no restart command configured"
		}
	case "cache_flush":
		if t.Redis.Addr == "" {
			return "no Redis cache configured"
		}
	case "cleanup":
		if t.Workdir == "" {
			return "no workdir configured"
		}
	}
	return ""
}

// validateRuleRemediation checks each rule's remediation: an action of the
// allowlist, that the target its alerts are about can run. A rule over a
// check's samples acts on that check's target; over a built-in signal, on
// the target the alert names (every target for a host-wide one), so at
// least one target must be able to.
func (c *Config) validateRuleRemediation(p *Problems) {
	owner := map[string]Check{}
	for _, ch := range c.Checks {
		for _, m := range CheckMetrics(ch) {
			owner[m] = ch
		}
	}
	for i, r := range c.Rules.Rules {
		if r.Remediation == "" {
			continue
		}
		path := fmt.Sprintf("rules.rules[%d].remediation", i)
		if !slices.Contains(RemediationActions, r.Remediation) {
			p.add(path, "unknown action %q (want %s)", r.Remediation, strings.Join(RemediationActions, ", "))
			continue
		}
		e, err := ParseExpr(r.Expr)
		if err != nil {
			continue // reported on expr
		}
		if ch, ok := owner[e.Metric]; ok {
			t, ok := c.Target(ch.Target)
			switch {
			case !ok:
				p.add(path, "%s: check %q has no configured target to act on", r.Remediation, ch.Name)
			case t.Unable(r.Remediation) != "":
				p.add(path, "%s is not allowed on target %q: %s", r.Remediation, t.Name, t.Unable(r.Remediation))
			}
			continue
		}
		able := false
		var why []string
		for _, t := range c.Targets {
			if u := t.Unable(r.Remediation); u == "" {
				able = true
			} else {
				why = append(why, t.Name+": "+u)
			}
		}
		if !able {
			p.add(path, "%s is not allowed on any target (%s)", r.Remediation, strings.Join(why, "; "))
		}
	}
}
