// Package alert is the alert model every producer and the pipeline share:
// an alert, its fingerprint, kind, severity and state, and the observation a
// producer makes of it. It has no I/O and imports nothing of this module.
package alert

import (
	"context"
	"slices"
	"time"
)

// Kinds of alert a channel can subscribe to.
var Kinds = []string{"threshold", "security", "health", "backup", "incident", "external"}

// Severities an alert may have, lowest first.
var Severities = []string{"warning", "critical"}

// SevRank orders severities (-1 for an unknown one).
func SevRank(s string) int { return slices.Index(Severities, s) }

// Status of an observation.
const (
	Firing   = "firing"
	Resolved = "resolved"
)

// State of an alert episode, as Prometheus' rule states: inactive (no row),
// pending (seen, not yet announced: group window, hold or silence), firing
// (announced), resolved. Acknowledged is a firing alert someone took.
type State string

// States an alert row moves through.
const (
	StateInactive     State = "inactive"
	StatePending      State = "pending"
	StateFiring       State = "firing"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved"
)

// Alert is one observation of a condition: rules, scans, health checks,
// scheduled jobs and Alertmanager hand these to the pipeline's inbox.
// Fingerprint is stable for one condition (rule + target + labels); a later
// Alert with the same fingerprint and Status "resolved" ends it.
type Alert struct {
	Fingerprint string            `json:"fingerprint"`
	Kind        string            `json:"kind"`     // one of Kinds
	Rule        string            `json:"rule"`     // e.g. cpu_high, health_down, login_failed_burst
	Target      string            `json:"target"`   // served target name, "" for host-wide
	Severity    string            `json:"severity"` // warning | critical
	Status      string            `json:"status"`   // firing | resolved
	Summary     string            `json:"summary"`
	Detail      string            `json:"detail,omitempty"` // the error chain or evidence behind the summary
	Value       float64           `json:"value"`
	Labels      map[string]string `json:"labels,omitempty"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at,omitempty"`
	// Remediation is the action its rule asks for while it fires (a
	// configured rule's remediation:), run through the remediation
	// queue's allowlist; "" leaves it to the built-in mapping.
	Remediation string `json:"remediation,omitempty"`
}

// Sink takes observations. Producers hold one; they never read or write
// alert state themselves.
type Sink interface {
	Notify(ctx context.Context, alerts ...Alert) error
}
