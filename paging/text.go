package paging

// The user-visible strings of paging, in one place (a later change moves
// them into the message catalogue).
const (
	txtStep       = "Escalation step %d of %d (%s): %s"
	txtStepNobody = "Escalation step %d of %d (%s): nobody to notify (%s)."
	txtPaging     = "paging %s via %s."
	txtMention    = "%s, please acknowledge."
	txtAcked      = "Escalation stopped: acknowledged by %s after %d of %d steps."
	txtAckedPages = "Escalation stopped: acknowledged by %s after %d of %d steps; %s told."
	txtResolved   = "Escalation ended: resolved; %s told."
	// Acknowledged (or resolved) in an integration, as its webhook told.
	txtIntegAcked    = "Acknowledged in %s by %s: escalation stopped after %d of %d steps."
	txtIntegResolved = "Resolved in %s by %s: escalation stopped after %d of %d steps; the alert stays firing until its check passes."
	txtTold          = "; %s told."
	txtDelivered     = "Page via %s to %s: delivered."
	txtFollowed      = "%s via %s: delivered."
	txtParked        = "Page via %s to %s failed and was given up (%s). The next step still follows."
	txtParkedOther   = "%s via %s failed and was given up (%s)."
	txtHandoff       = "On call now: %s"
	txtNobody        = "nobody"
	txtPageTitle     = "[%s] %s"
	txtDM            = "direct message"
	txtDMText        = "You are on call: %s. Nobody has acknowledged this alert yet (step %d of %d, target %s)."
	txtAckButton     = "Acknowledge"
)
