package notifier

import (
	"opsbot/alert"
	"opsbot/human"

	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/store"
	"opsbot/textclip"
)

// AckAction is the button action id of Acknowledge. Its value is an alert
// id ("42"), or "msg:<n>" for every alert of grouped message n.
const AckAction = "ack"

func sortAlerts(as []store.AlertRow) {
	sort.SliceStable(as, func(i, j int) bool {
		if ri, rj := alert.SevRank(as[i].Severity), alert.SevRank(as[j].Severity); ri != rj {
			return ri > rj
		}
		return as[i].ID < as[j].ID
	})
}

func title(a store.AlertRow) string {
	rule := a.Rule
	if a.Kind == "external" {
		// The prefix keeps Alertmanager's names apart from opsbot's rules;
		// people know the alert by its alertname.
		rule = strings.TrimPrefix(rule, ExternalRulePrefix)
	}
	if a.Target != "" {
		return rule + " on " + a.Target
	}
	return rule
}

// short is how long, for people ("5 min", "1 h 30 min").
func short(d time.Duration) string { return human.Duration(d) }

// value renders an alert's number without noise.
func value(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func clip(s string, n int) string {
	return textclip.Runes(strings.ReplaceAll(s, "\n", " "), n, textclip.Ellipsis)
}

func state(a store.AlertRow, now time.Time) string {
	switch {
	case a.State == store.AlertResolved:
		return "resolved after " + short(a.Duration(now))
	case a.AckedBy != "":
		return "acknowledged by " + a.AckedBy + ", firing " + short(a.Duration(now))
	}
	return "firing " + short(a.Duration(now))
}

func line(a store.AlertRow, now time.Time) string {
	s := fmt.Sprintf("#%d [%s] %s", a.ID, a.Severity, title(a))
	if a.Summary != "" {
		s += ": " + clip(a.Summary, 120)
	}
	return s + " — " + state(a, now) + " · fp " + a.Fingerprint
}

func fileLine(a store.AlertRow, now time.Time) string {
	return strings.Join([]string{"#" + strconv.FormatInt(a.ID, 10), a.Severity, a.Kind, a.Rule, a.Target, a.Fingerprint,
		state(a, now), strings.ReplaceAll(a.Summary, "\n", " ")}, "\t")
}

func alertsFile(name string, alerts []store.AlertRow, now time.Time) chat.File {
	var b strings.Builder
	b.WriteString("id\tseverity\tkind\trule\ttarget\tfingerprint\tstate\tsummary\n")
	for _, a := range alerts {
		b.WriteString(fileLine(a, now) + "\n")
	}
	return chat.File{Name: name, Mime: "text/plain", Data: []byte(b.String())}
}

// render draws a message carrying alerts as they are now. Posts carry the
// attachment and mentions; edits cannot re-attach and must not re-page.
func (n *Notifier) render(alerts []store.AlertRow, outboxID int64, role, oncall string, now time.Time, post bool) chat.Message {
	var firing, crit, resolved, open int
	for _, a := range alerts {
		if a.State == store.AlertResolved {
			resolved++
			continue
		}
		firing++
		if a.AckedBy == "" {
			open++
			if a.Severity == "critical" {
				crit++
			}
		}
	}
	sev := chat.SevWarning
	for _, a := range alerts {
		if a.State == store.AlertFiring && a.Severity == "critical" {
			sev = chat.SevCritical
		}
	}
	if firing == 0 {
		sev = chat.SevResolved
	}
	var m chat.Message
	m.Severity = sev
	prefix := ""
	if role == roleRepeat && firing > 0 {
		prefix = "Still firing: "
	}
	if len(alerts) == 1 {
		a := alerts[0]
		m.Title = prefix + title(a)
		m.Text = a.Summary
		if a.State == store.AlertResolved && a.EndSummary != "" && a.EndSummary != a.Summary {
			// Say what it is now, not what it was when it fired.
			m.Text = a.EndSummary
		}
		m.Fields = []chat.Field{
			{Name: "Alert", Value: "#" + strconv.FormatInt(a.ID, 10), Inline: true},
			{Name: "Kind", Value: a.Kind, Inline: true},
			{Name: "Severity", Value: a.Severity, Inline: true},
		}
		if a.Target != "" {
			m.Fields = append(m.Fields, chat.Field{Name: "Target", Value: a.Target, Inline: true})
		}
		switch {
		case a.Kind == "health" && a.Value != 0:
			// A health alert's value is its count of failed checks in a
			// row; "0 now" would say nothing.
			m.Fields = append(m.Fields, chat.Field{Name: "Failed checks", Value: value(a.Value), Inline: true})
		case a.State == store.AlertResolved && a.EndValue != nil && *a.EndValue != a.Value:
			m.Fields = append(m.Fields, chat.Field{Name: "Value", Value: value(*a.EndValue) + " now (was " + value(a.Value) + ")", Inline: true})
		case a.Value != 0:
			m.Fields = append(m.Fields, chat.Field{Name: "Value", Value: value(a.Value), Inline: true})
		}
		if a.State == store.AlertResolved {
			m.Fields = append(m.Fields, chat.Field{Name: "Duration", Value: short(a.Duration(now)), Inline: true})
		} else {
			m.Fields = append(m.Fields, chat.Field{Name: "Firing for", Value: short(a.Duration(now)), Inline: true})
		}
		if a.Detail != "" {
			// The cause leads in the text; the error chain is evidence.
			m.Fields = append(m.Fields, chat.Field{Name: "Detail", Value: clip(a.Detail, 300)})
		}
		ctx := []string{"fingerprint " + a.Fingerprint}
		if a.AckedBy != "" {
			ctx = append([]string{"acknowledged by " + a.AckedBy}, ctx...)
		} else if a.State == store.AlertFiring {
			ctx = append(ctx, fmt.Sprintf("/ops ack %d", a.ID))
		}
		m.Context = strings.Join(ctx, " · ")
		if a.State == store.AlertFiring && a.AckedBy == "" {
			m.Buttons = []chat.Button{{ID: AckAction, Label: "Acknowledge", Value: strconv.FormatInt(a.ID, 10), Style: chat.StylePrimary}}
			m.Buttons = append(m.Buttons, silenceButtons(a.ID)...)
			m.Buttons = append(m.Buttons, silenceFormButton(a))
		}
		n.decorate(&m, a)
	} else {
		switch {
		case firing == 0:
			m.Title = fmt.Sprintf("%d alerts resolved", len(alerts))
		case resolved == 0:
			m.Title = prefix + fmt.Sprintf("%d alerts firing", len(alerts))
		default:
			m.Title = prefix + fmt.Sprintf("%d alerts: %d firing, %d resolved", len(alerts), firing, resolved)
		}
		inline := n.cfg().Notifier.InlineAlerts
		var b strings.Builder
		for i, a := range alerts {
			if i == inline {
				break
			}
			b.WriteString(line(a, now) + "\n")
		}
		name := fmt.Sprintf("alerts-%d.txt", outboxID)
		if len(alerts) > inline {
			fmt.Fprintf(&b, "Listed here: the first %d. All %d alerts, with fingerprints, are in the attached %s.", inline, len(alerts), name)
			if post {
				m.Files = []chat.File{alertsFile(name, alerts, now)}
			}
		}
		m.Text = strings.TrimRight(b.String(), "\n")
		if open > 0 {
			m.Context = "/ops ack <id> acknowledges one alert"
			m.Buttons = []chat.Button{{ID: AckAction, Label: "Acknowledge all", Value: "msg:" + strconv.FormatInt(outboxID, 10), Style: chat.StylePrimary}}
			m.Buttons = append(m.Buttons, n.groupButtons(alerts, outboxID)...)
		}
	}
	if post && oncall != "" && crit > 0 {
		m.Mentions = []string{oncall}
	}
	return m
}

func (n *Notifier) renderResolvedReply(alerts []store.AlertRow, parent int64, now time.Time) chat.Message {
	if len(alerts) == 1 {
		a := alerts[0]
		return chat.Message{Severity: chat.SevResolved, Title: "Resolved: " + title(a),
			Text: resolvedText(a, now)}
	}
	m := chat.Message{Severity: chat.SevResolved, Title: fmt.Sprintf("%d alerts resolved", len(alerts))}
	inline := n.cfg().Notifier.InlineAlerts
	var b strings.Builder
	for i, a := range alerts {
		if i == inline {
			name := fmt.Sprintf("resolved-%d-%d.txt", parent, now.UnixMilli())
			fmt.Fprintf(&b, "Listed here: the first %d. All %d, with fingerprints, are in the attached %s.", inline, len(alerts), name)
			m.Files = []chat.File{alertsFile(name, alerts, now)}
			break
		}
		b.WriteString(line(a, now) + "\n")
	}
	m.Text = strings.TrimRight(b.String(), "\n")
	return m
}

type filePayload struct {
	Name string `json:"name"`
	Mime string `json:"mime,omitempty"`
	Data []byte `json:"data"`
}

// payload is a message as stored in the outbox: files included.
type payload struct {
	chat.Message
	Files []filePayload `json:"files,omitempty"`
}

func encodeMessage(m chat.Message) (string, error) {
	p := payload{Message: m}
	p.Message.Files = nil
	for _, f := range m.Files {
		p.Files = append(p.Files, filePayload{Name: f.Name, Mime: f.Mime, Data: f.Data})
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode message: %w", err)
	}
	return string(b), nil
}

func decodeMessage(s string) (chat.Message, error) {
	var p payload
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return chat.Message{}, fmt.Errorf("decode message: %w", err)
	}
	m := p.Message
	m.Files = nil
	for _, f := range p.Files {
		m.Files = append(m.Files, chat.File{Name: f.Name, Mime: f.Mime, Data: f.Data})
	}
	return m, nil
}

// resolvedText says how long an alert fired and what resolved it.
func resolvedText(a store.AlertRow, now time.Time) string {
	s := fmt.Sprintf("#%d resolved after %s", a.ID, short(a.Duration(now)))
	switch {
	case a.EndSummary != "" && a.EndSummary != a.Summary:
		s += ": " + clip(a.EndSummary, 200)
	case a.Kind != "health" && a.EndValue != nil && *a.EndValue != a.Value:
		s += fmt.Sprintf(": now %s (was %s)", value(*a.EndValue), value(a.Value))
	}
	return s + "."
}
