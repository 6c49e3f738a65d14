package config

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"
)

// Agent configures `opsbot agent`, the process on each host of a fleet:
// which host it is, how often it says so, and which actions it lets the
// shared queue run on its own targets (defence in depth: the bot can only
// ask; a target or action not listed here is refused by the agent).
type Agent struct {
	// Host names this host in the fleet and in addresses (api@web-2)
	// [the machine's hostname, lower-cased].
	Host string `yaml:"host"`
	// Labels describe the host (role, zone); they ride on its alerts.
	Labels map[string]string `yaml:"labels"`
	// HeartbeatInterval between two heartbeats [10s]; the leader raises
	// host_down after fleet.down_after intervals without one.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// SampleInterval between two host samples (CPU, memory, disk, each
	// target's health) [15s].
	SampleInterval time.Duration `yaml:"sample_interval"`
	// Allow maps a target of this host to the actions the queue may run on
	// it (restart, update, rollback, stop, start, cleanup, cache_flush).
	Allow map[string][]string `yaml:"allow"`
}

// Fleet configures the bot's side of a fleet of agents.
type Fleet struct {
	// Enabled turns on host addressing (api@web-2), the fleet view and
	// host_down; it needs the PostgreSQL store the agents share.
	Enabled bool `yaml:"enabled"`
	// MaxUnavailable is how many instances a rolling restart or update
	// takes down at once [1].
	MaxUnavailable int `yaml:"max_unavailable"`
	// DownAfter is how many heartbeat intervals without one make a host
	// down [3].
	DownAfter int `yaml:"down_after"`
}

// AgentActions are the actions an agent can be allowed to run.
var AgentActions = []string{"restart", "update", "rollback", "stop", "start", "cleanup", "cache_flush"}

// HostNameRE is the shape of a host name: it becomes part of a queue name.
var HostNameRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func (a *Agent) setDefaults() {
	a.HeartbeatInterval = 10 * time.Second
	a.SampleInterval = 15 * time.Second
}

func (f *Fleet) setDefaults() {
	f.MaxUnavailable = 1
	f.DownAfter = 3
}

// Allows reports whether the agent's configuration lets action run on target.
func (a Agent) Allows(target, action string) bool {
	return slices.Contains(a.Allow[target], action)
}

func (a Agent) validate(c *Config, p *Problems) {
	if a.Host != "" && (len(a.Host) > 58 || !HostNameRE.MatchString(a.Host)) {
		p.add("agent.host", "want lower-case letters, digits and single dashes, at most 58 characters, got %q", a.Host)
	}
	if a.HeartbeatInterval < 100*time.Millisecond {
		p.add("agent.heartbeat_interval", "must be at least 100ms, not %s", a.HeartbeatInterval)
	}
	if a.SampleInterval < 100*time.Millisecond {
		p.add("agent.sample_interval", "must be at least 100ms, not %s", a.SampleInterval)
	}
	names := make([]string, 0, len(a.Allow))
	for n := range a.Allow {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := c.Target(n); !ok {
			p.add("agent.allow."+n, "unknown target %q", n)
		}
		for i, act := range a.Allow[n] {
			if !slices.Contains(AgentActions, act) {
				p.add(fmt.Sprintf("agent.allow.%s[%d]", n, i), "unknown action %q (want one of %v)", act, AgentActions)
			}
		}
	}
}

func (f Fleet) validate(c *Config, p *Problems) {
	if f.MaxUnavailable < 1 {
		p.add("fleet.max_unavailable", "must be at least 1")
	}
	if f.DownAfter < 2 {
		p.add("fleet.down_after", "must be at least 2 heartbeat intervals")
	}
	if f.Enabled && c.Store.Driver != "postgres" {
		p.add("fleet.enabled", "a fleet needs the PostgreSQL store its agents share (store.driver: postgres)")
	}
}
