package incidents

import (
	"fmt"
	"time"

	"opsbot/bot/forms"
	"opsbot/chat"
	"opsbot/human"
	"opsbot/incident"
)

// header is the incident's first message, edited in place on every change.
func header(inc incident.Incident, now time.Time) chat.Message {
	sev := chat.SevCritical
	if inc.Severity == incident.SevWarning {
		sev = chat.SevWarning
	}
	if !inc.RecoveredAt.IsZero() {
		sev = chat.SevOK
	}
	if inc.Stage == incident.Closed {
		sev = chat.SevResolved
	}
	stage := inc.Stage.String()
	if w := inc.Stage.WindowText(); w != "" {
		stage += " (" + w + ")"
	}
	if inc.Overdue(now) {
		stage += ", past its target"
	}
	lead := incident.LeadName(inc.Lead)
	var mentions []string
	if lead == "" {
		lead = fmt.Sprintf("nobody yet: /ops incident lead %d <user>", inc.ID)
	} else {
		// Shown as a real mention; editing a message notifies nobody again.
		mentions = []string{incident.MentionID(inc.Lead)}
	}
	var buttons []chat.Button
	if inc.Stage != incident.Closed {
		// Opens the note form for this incident.
		buttons = []chat.Button{{ID: forms.Button, Label: "Add note", Value: fmt.Sprintf("incident-note:%d", inc.ID)}}
	}
	return chat.Message{
		Buttons:  buttons,
		Mentions: mentions,
		Title:    fmt.Sprintf("Incident #%d: %s", inc.ID, inc.Title),
		Severity: sev,
		Fields: []chat.Field{
			{Name: "Stage", Value: stage, Inline: true},
			{Name: "Severity", Value: inc.Severity, Inline: true},
			{Name: "Lead", Value: lead, Inline: true},
			{Name: "Elapsed", Value: human.Duration(inc.Elapsed(now)), Inline: true},
			{Name: "Target", Value: orDefault(inc.Target, "every target"), Inline: true},
		},
		Context: fmt.Sprintf("opened %s by %s · as of %s · /ops incident show %d",
			inc.OpenedAt.UTC().Format("2006-01-02 15:04 UTC"), inc.OpenedBy, now.UTC().Format("15:04 UTC"), inc.ID),
	}
}

// entryMessage is a timeline entry as a reply in the incident's thread.
func entryMessage(inc incident.Incident, e incident.Entry) chat.Message {
	m := chat.Message{}
	who := " (" + e.Actor + ")"
	switch e.Kind {
	case incident.KindStage:
		m.Text = "Stage: " + e.Text + who
		if e.Stage == incident.Closed {
			m.Severity = chat.SevResolved
			m.Text = "Closed" + who
		}
	case incident.KindReopened:
		m.Severity = chat.SevWarning
		m.Text = "Reopened: " + e.Text + who
	case incident.KindNote:
		m.Text = "Note" + who + ": " + e.Text
	case incident.KindLead:
		m.Text = "Lead: " + incident.LeadName(inc.Lead) + who
		m.Mentions = []string{incident.MentionID(inc.Lead)}
	case incident.KindSeverity:
		m.Severity = chat.SevCritical
		m.Text = "Severity raised: " + e.Text + who
	case incident.KindAttach:
		m.Text = "Also: " + e.Text + who
	case incident.KindAlert:
		m.Severity = chat.SevWarning
		if e.Status == "resolved" {
			m.Severity = chat.SevResolved
		} else if len(e.Text) > 10 && e.Text[:10] == "[critical]" {
			m.Severity = chat.SevCritical
		}
		m.Text = "Alert " + e.Status + ": " + e.Text
	case incident.KindCommand:
		m.Text = "Command" + who + ": " + e.Text
	case incident.KindAction:
		// The bot is the actor of every automatic action: "Automatic
		// action (opsbot (automatic))" would say it twice.
		m.Text = "Automatic action: " + e.Text
	case incident.KindPostMortem:
		m.Text = "Post-mortem draft written" + who + ": fill in root cause and prevention."
	default:
		m.Text = e.Text + who
	}
	return m
}
