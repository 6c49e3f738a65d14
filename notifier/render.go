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
	"opsbot/locale"
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

func title(p locale.Printer, a store.AlertRow) string {
	rule := a.Rule
	if a.Kind == "external" {
		// The prefix keeps Alertmanager's names apart from opsbot's rules;
		// people know the alert by its alertname.
		rule = strings.TrimPrefix(rule, ExternalRulePrefix)
	}
	if a.Target != "" {
		return p.T("alert.title_on", locale.Args{"Rule": rule, "Target": a.Target})
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

func state(p locale.Printer, a store.AlertRow, now time.Time) string {
	dur := p.Duration(a.Duration(now))
	switch {
	case a.State == store.AlertResolved:
		return p.T("alert.state_resolved", locale.Args{"Dur": dur})
	case a.AckedBy != "":
		return p.T("alert.state_acked", locale.Args{"User": a.AckedBy, "Dur": dur})
	}
	return p.T("alert.state_firing", locale.Args{"Dur": dur})
}

func line(p locale.Printer, a store.AlertRow, now time.Time) string {
	s := fmt.Sprintf("#%d [%s] %s", a.ID, p.SeverityName(a.Severity), title(p, a))
	if a.Summary != "" {
		s += ": " + clip(a.Summary, 120)
	}
	return s + " — " + state(p, a, now) + " · fp " + a.Fingerprint
}

// fileLine is a row of the attached list: machine-readable, so in English.
func fileLine(a store.AlertRow, now time.Time) string {
	return strings.Join([]string{"#" + strconv.FormatInt(a.ID, 10), a.Severity, a.Kind, a.Rule, a.Target, a.Fingerprint,
		state(locale.Printer{}, a, now), strings.ReplaceAll(a.Summary, "\n", " ")}, "\t")
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
func (n *Notifier) render(p locale.Printer, alerts []store.AlertRow, outboxID int64, role, oncall string, now time.Time, post bool) chat.Message {
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
	repeat := role == roleRepeat && firing > 0
	still := func(t string) string {
		if repeat {
			return p.T("alert.still_firing", locale.Args{"Title": t})
		}
		return t
	}
	if len(alerts) == 1 {
		a := alerts[0]
		m.Title = still(title(p, a))
		m.Text = a.Summary
		if a.State == store.AlertResolved && a.EndSummary != "" && a.EndSummary != a.Summary {
			// Say what it is now, not what it was when it fired.
			m.Text = a.EndSummary
		}
		m.Fields = []chat.Field{
			{Name: p.T("alert.field_alert"), Value: "#" + strconv.FormatInt(a.ID, 10), Inline: true},
			{Name: p.T("alert.field_kind"), Value: a.Kind, Inline: true},
			{Name: p.T("alert.field_severity"), Value: p.SeverityName(a.Severity), Inline: true},
		}
		if a.Target != "" {
			m.Fields = append(m.Fields, chat.Field{Name: p.T("alert.field_target"), Value: a.Target, Inline: true})
		}
		switch {
		case a.Kind == "health" && a.Value != 0:
			// A health alert's value is its count of failed checks in a
			// row; "0 now" would say nothing.
			m.Fields = append(m.Fields, chat.Field{Name: p.T("alert.field_failed_checks"), Value: value(a.Value), Inline: true})
		case a.State == store.AlertResolved && a.EndValue != nil && *a.EndValue != a.Value:
			m.Fields = append(m.Fields, chat.Field{Name: p.T("alert.field_value"), Value: p.T("alert.value_now_was", locale.Args{"Now": value(*a.EndValue), "Was": value(a.Value)}), Inline: true})
		case a.Value != 0:
			m.Fields = append(m.Fields, chat.Field{Name: p.T("alert.field_value"), Value: value(a.Value), Inline: true})
		}
		if a.State == store.AlertResolved {
			m.Fields = append(m.Fields, chat.Field{Name: p.T("alert.field_duration"), Value: p.Duration(a.Duration(now)), Inline: true})
		} else {
			m.Fields = append(m.Fields, chat.Field{Name: p.T("alert.field_firing_for"), Value: p.Duration(a.Duration(now)), Inline: true})
		}
		if a.Detail != "" {
			// The cause leads in the text; the error chain is evidence.
			m.Fields = append(m.Fields, chat.Field{Name: p.T("alert.field_detail"), Value: clip(a.Detail, 300)})
		}
		ctx := []string{p.T("alert.ctx_fingerprint", locale.Args{"FP": a.Fingerprint})}
		if a.AckedBy != "" {
			ctx = append([]string{p.T("alert.ctx_acked_by", locale.Args{"User": a.AckedBy})}, ctx...)
		} else if a.State == store.AlertFiring {
			ctx = append(ctx, fmt.Sprintf("/ops ack %d", a.ID))
		}
		m.Context = strings.Join(ctx, " · ")
		if a.State == store.AlertFiring && a.AckedBy == "" {
			m.Buttons = []chat.Button{{ID: AckAction, Label: p.T("alert.button_ack"), Value: strconv.FormatInt(a.ID, 10), Style: chat.StylePrimary}}
			m.Buttons = append(m.Buttons, silenceButtons(p, a.ID)...)
			m.Buttons = append(m.Buttons, silenceFormButton(p, a))
		}
		n.decorate(&m, a)
	} else {
		switch {
		case firing == 0:
			m.Title = p.T("alert.n_resolved", locale.Args{"Count": len(alerts)})
		case resolved == 0:
			m.Title = still(p.T("alert.n_firing", locale.Args{"Count": len(alerts)}))
		default:
			m.Title = still(p.T("alert.n_mixed", locale.Args{"Count": len(alerts), "Firing": firing, "Resolved": resolved}))
		}
		inline := n.cfg().Notifier.InlineAlerts
		var b strings.Builder
		for i, a := range alerts {
			if i == inline {
				break
			}
			b.WriteString(line(p, a, now) + "\n")
		}
		name := fmt.Sprintf("alerts-%d.txt", outboxID)
		if len(alerts) > inline {
			b.WriteString(p.T("alert.listed_first", locale.Args{"Inline": inline, "Total": len(alerts), "File": name}))
			if post {
				m.Files = []chat.File{alertsFile(name, alerts, now)}
			}
		}
		m.Text = strings.TrimRight(b.String(), "\n")
		if open > 0 {
			m.Context = p.T("alert.ack_one_hint")
			m.Buttons = []chat.Button{{ID: AckAction, Label: p.T("alert.button_ack_all"), Value: "msg:" + strconv.FormatInt(outboxID, 10), Style: chat.StylePrimary}}
			m.Buttons = append(m.Buttons, n.groupButtons(p, alerts, outboxID)...)
		}
	}
	if post && oncall != "" && crit > 0 {
		m.Mentions = []string{oncall}
	}
	return m
}

func (n *Notifier) renderResolvedReply(p locale.Printer, alerts []store.AlertRow, parent int64, now time.Time) chat.Message {
	if len(alerts) == 1 {
		a := alerts[0]
		return chat.Message{Severity: chat.SevResolved, Title: p.T("alert.resolved_title", locale.Args{"Title": title(p, a)}),
			Text: resolvedText(p, a, now)}
	}
	m := chat.Message{Severity: chat.SevResolved, Title: p.T("alert.n_resolved", locale.Args{"Count": len(alerts)})}
	inline := n.cfg().Notifier.InlineAlerts
	var b strings.Builder
	for i, a := range alerts {
		if i == inline {
			name := fmt.Sprintf("resolved-%d-%d.txt", parent, now.UnixMilli())
			b.WriteString(p.T("alert.listed_first", locale.Args{"Inline": inline, "Total": len(alerts), "File": name}))
			m.Files = []chat.File{alertsFile(name, alerts, now)}
			break
		}
		b.WriteString(line(p, a, now) + "\n")
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
func resolvedText(p locale.Printer, a store.AlertRow, now time.Time) string {
	s := p.T("alert.resolved_text", locale.Args{"ID": a.ID, "Dur": p.Duration(a.Duration(now))})
	switch {
	case a.EndSummary != "" && a.EndSummary != a.Summary:
		s += ": " + clip(a.EndSummary, 200)
	case a.Kind != "health" && a.EndValue != nil && *a.EndValue != a.Value:
		s += p.T("alert.resolved_now_was", locale.Args{"Now": value(*a.EndValue), "Was": value(a.Value)})
	}
	if p.Lang == locale.ZhCN {
		return s + "。"
	}
	return s + "."
}
