package config

import (
	"fmt"
	"net"
	"strings"

	"github.com/prometheus/alertmanager/pkg/labels"
)

// Alertmanager configures the /webhooks/alertmanager receiver. The webhook
// is closed (404) unless OPSBOT_ALERTMANAGER_TOKEN is set or, on a loopback
// listener only, AllowUnauthenticated is.
type Alertmanager struct {
	AllowUnauthenticated bool `yaml:"allow_unauthenticated"`
	// Actions map external alerts to automatic actions, first match wins.
	// An external alert runs an action only through this list, never by
	// its name matching one of opsbot's own rules.
	Actions []AlertAction `yaml:"actions"`
}

// AlertAction maps an Alertmanager alert (its alertname and label
// matchers) to an action on a target.
type AlertAction struct {
	Alertname string `yaml:"alertname"`
	// Matchers use Alertmanager's syntax: name="value", name!="value",
	// name=~"regexp", name!~"regexp" (regexps anchored at both ends).
	Matchers []string `yaml:"matchers"`
	Action   string   `yaml:"action"`
	// Target names a configured target; TargetLabel instead names the
	// alert label holding it (its value is a target name, the host:port of
	// a target's health_url, or a target name followed by :port).
	Target      string `yaml:"target"`
	TargetLabel string `yaml:"target_label"`
}

// AlertActions are the actions an external alert may be mapped to.
var AlertActions = []string{"restart", "cache_flush", "cleanup"}

// ParseMatchers compiles the mapping's matchers.
func (a AlertAction) ParseMatchers() (labels.Matchers, error) {
	out := make(labels.Matchers, 0, len(a.Matchers))
	for i, s := range a.Matchers {
		m, err := labels.ParseMatcher(s)
		if err != nil {
			return nil, fmt.Errorf("matchers[%d]: %w", i, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// IsLoopback reports whether a listener address (host:port) is reachable
// only from this machine. An empty host listens on every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (am Alertmanager) validate(c *Config, p *Problems) {
	if am.AllowUnauthenticated && !IsLoopback(c.HTTP.Addr) {
		p.add("alertmanager.allow_unauthenticated", "only with a loopback http.addr (127.0.0.1, ::1 or localhost), not %q; set OPSBOT_ALERTMANAGER_TOKEN instead", c.HTTP.Addr)
	}
	for i, a := range am.Actions {
		path := fmt.Sprintf("alertmanager.actions[%d]", i)
		if a.Alertname == "" {
			p.add(path+".alertname", "missing")
		}
		for j, s := range a.Matchers {
			if _, err := labels.ParseMatcher(s); err != nil {
				p.add(fmt.Sprintf("%s.matchers[%d]", path, j), "%v", err)
			}
		}
		if !contains(AlertActions, a.Action) {
			p.add(path+".action", "unknown action %q (want %s)", a.Action, strings.Join(AlertActions, ", "))
		}
		switch {
		case a.Target != "" && a.TargetLabel != "":
			p.add(path, "set target or target_label, not both")
		case a.Target == "" && a.TargetLabel == "":
			p.add(path, "set target (a target's name) or target_label (the alert label naming it)")
		case a.Target != "":
			if _, ok := c.Target(a.Target); !ok {
				p.add(path+".target", "unknown target %q", a.Target)
			}
		}
	}
}
