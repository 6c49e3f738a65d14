package chat

import "time"

// Page actions, as PagerDuty's Events API names them.
const (
	PageTrigger     = "trigger"
	PageAcknowledge = "acknowledge"
	PageResolve     = "resolve"
)

// Page is what a paging integration (PagerDuty, e-mail, a signed webhook)
// is told of an alert: it rides on a Message written to the outbox for the
// integration, so a page is delivered, retried and parked like any other
// notification. Chat platforms ignore it.
type Page struct {
	Action   string `json:"action"`
	DedupKey string `json:"dedup_key"` // the alert's fingerprint
	AlertID  int64  `json:"alert_id"`
	Kind     string `json:"kind"`
	Rule     string `json:"rule"`
	Target   string `json:"target,omitempty"`
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	// State is the alert's: firing, acknowledged or resolved.
	State     string            `json:"state"`
	Labels    map[string]string `json:"labels,omitempty"`
	StartedAt time.Time         `json:"started_at"`
	// Links point at the alert's chat messages.
	Links []string `json:"links,omitempty"`
	// Step is the escalation step that paged (0 for acknowledge and resolve).
	Step int `json:"step"`
	// Person is who is paged: their name, e-mail address and phone.
	Person string `json:"person,omitempty"`
	Email  string `json:"email,omitempty"`
	Phone  string `json:"phone,omitempty"`
	By     string `json:"by,omitempty"` // who acknowledged
}
