package incidents

import (
	"fmt"
	"time"

	"opsbot/bot/forms"
	"opsbot/chat"
	"opsbot/incident"
	"opsbot/locale"
)

// header is the incident's first message, edited in place on every change.
func header(p locale.Printer, inc incident.Incident, now time.Time) chat.Message {
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
	stage := p.StageName(inc.Stage.String())
	if w := windowText(p, inc.Stage); w != "" {
		stage += " (" + w + ")"
	}
	if inc.Overdue(now) {
		stage += ", " + p.T("incident.past_target")
	}
	lead := incident.LeadName(inc.Lead)
	var mentions []string
	if lead == "" {
		lead = p.T("incident.no_lead", locale.Args{"ID": inc.ID})
	} else {
		// Shown as a real mention; editing a message notifies nobody again.
		mentions = []string{incident.MentionID(inc.Lead)}
	}
	var buttons []chat.Button
	if inc.Stage != incident.Closed {
		// Opens the note form for this incident.
		buttons = []chat.Button{{ID: forms.Button, Label: p.T("incident.button_note"), Value: fmt.Sprintf("incident-note:%d", inc.ID)}}
	}
	return chat.Message{
		Buttons:  buttons,
		Mentions: mentions,
		Title:    p.T("incident.title", locale.Args{"ID": inc.ID, "Title": inc.Title}),
		Severity: sev,
		Fields: []chat.Field{
			{Name: p.T("incident.field_stage"), Value: stage, Inline: true},
			{Name: p.T("incident.field_severity"), Value: p.SeverityName(inc.Severity), Inline: true},
			{Name: p.T("incident.field_lead"), Value: lead, Inline: true},
			{Name: p.T("incident.field_elapsed"), Value: p.Duration(inc.Elapsed(now)), Inline: true},
			{Name: p.T("incident.field_target"), Value: orDefault(inc.Target, p.T("incident.every_target")), Inline: true},
		},
		Context: p.T("incident.context", locale.Args{"Opened": p.Time(inc.OpenedAt), "By": inc.OpenedBy, "Now": p.Clock(now), "ID": inc.ID}),
	}
}

// windowText is a stage's window on the incident clock for people.
func windowText(p locale.Printer, s incident.Stage) string {
	start, end := s.Window()
	switch {
	case s == incident.Closed || !s.Valid():
		return ""
	case s == incident.PostMortem:
		return p.T("incident.window_24h")
	}
	return p.T("incident.window", locale.Args{"From": int(start.Minutes()), "To": int(end.Minutes())})
}

// entryMessage is a timeline entry as a reply in the incident's thread.
func entryMessage(p locale.Printer, inc incident.Incident, e incident.Entry) chat.Message {
	m := chat.Message{}
	who := " (" + e.Actor + ")"
	switch e.Kind {
	case incident.KindStage:
		m.Text = p.T("incident.entry_stage", locale.Args{"Stage": stageText(p, e), "Who": who})
		if e.Stage == incident.Closed {
			m.Severity = chat.SevResolved
			m.Text = p.T("incident.entry_closed", locale.Args{"Who": who})
		}
	case incident.KindReopened:
		m.Severity = chat.SevWarning
		m.Text = p.T("incident.entry_reopened", locale.Args{"Text": e.Text, "Who": who})
	case incident.KindNote:
		m.Text = p.T("incident.entry_note", locale.Args{"Text": e.Text, "Who": who})
	case incident.KindLead:
		m.Text = p.T("incident.entry_lead", locale.Args{"Lead": incident.LeadName(inc.Lead), "Who": who})
		m.Mentions = []string{incident.MentionID(inc.Lead)}
	case incident.KindSeverity:
		m.Severity = chat.SevCritical
		m.Text = p.T("incident.entry_severity", locale.Args{"Text": e.Text, "Who": who})
	case incident.KindAttach:
		m.Text = p.T("incident.entry_attach", locale.Args{"Text": e.Text, "Who": who})
	case incident.KindAlert:
		m.Severity = chat.SevWarning
		if e.Status == "resolved" {
			m.Severity = chat.SevResolved
		} else if len(e.Text) > 10 && e.Text[:10] == "[critical]" {
			m.Severity = chat.SevCritical
		}
		m.Text = p.T("incident.entry_alert", locale.Args{"Status": alertStatus(p, e.Status), "Text": e.Text})
	case incident.KindCommand:
		m.Text = p.T("incident.entry_command", locale.Args{"Text": e.Text, "Who": who})
	case incident.KindAction:
		// The bot is the actor of every automatic action: "Automatic
		// action (opsbot (automatic))" would say it twice.
		m.Text = p.T("incident.entry_action", locale.Args{"Text": e.Text})
	case incident.KindPostMortem:
		m.Text = p.T("incident.entry_postmortem", locale.Args{"Who": who})
	default:
		m.Text = e.Text + who
	}
	return m
}

// stageText is a stage entry for people: the stored English text ("stage
// handling → recovery") in English, the stage entered otherwise.
func stageText(p locale.Printer, e incident.Entry) string {
	if p.Lang != "" && p.Lang != locale.En && e.Stage.Valid() {
		return p.StageName(e.Stage.String())
	}
	return e.Text
}

// alertStatus is an alert entry's status for people.
func alertStatus(p locale.Printer, status string) string {
	switch status {
	case "firing", "resolved":
		return p.T("incident.alert_" + status)
	}
	return status
}
