// Package notifier routes alerts to the channels subscribed to them and
// delivers every message through a durable outbox.
package notifier

import (
	"time"
)

// Kinds of alert a channel can subscribe to.
var Kinds = []string{"threshold", "security", "health", "backup", "incident", "external"}

// Status of an alert.
const (
	Firing   = "firing"
	Resolved = "resolved"
)

// Alert is what rules, scans, scheduled jobs and Alertmanager hand the
// notifier. Fingerprint is stable for one condition (rule + target + labels);
// a later Alert with the same fingerprint and Status "resolved" ends it.
type Alert struct {
	Fingerprint string            `json:"fingerprint"`
	Kind        string            `json:"kind"`     // one of Kinds
	Rule        string            `json:"rule"`     // e.g. cpu_high, health_down, login_failed_burst
	Target      string            `json:"target"`   // served target name, "" for host-wide
	Severity    string            `json:"severity"` // warning | critical
	Status      string            `json:"status"`   // firing | resolved
	Summary     string            `json:"summary"`
	Value       float64           `json:"value"`
	Labels      map[string]string `json:"labels,omitempty"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at,omitempty"`
}
