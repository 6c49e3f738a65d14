package notifier

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/locale"
	"opsbot/routing"
	"opsbot/store"
)

// maxGroupDiagnose is how many Diagnose buttons (one per distinct
// symptom) a grouped message carries at most. With Acknowledge all and the
// three Silence buttons that stays within one Slack actions block (25
// elements) and two Discord rows (5 buttons each).
const maxGroupDiagnose = 4

// groupValuePrefix marks a Silence button's value as the group's ("msg:<n>:4h").
const groupValuePrefix = "msg:"

// groupButtons are the Silence and Diagnose buttons of a message carrying
// several alerts (outbox id outboxID): Silence silences the labels every
// firing alert of the message shares; Diagnose runs each distinct symptom
// once, on its most severe alert (alerts come sorted by severity).
func (n *Notifier) groupButtons(p locale.Printer, alerts []store.AlertRow, outboxID int64) []chat.Button {
	live := firingOf(alerts)
	var out []chat.Button
	if len(live) > 0 && selective(sharedMatchers(live)) {
		for _, d := range SilenceChoices {
			out = append(out, chat.Button{ID: SilenceAction, Label: p.T("alert.button_silence", locale.Args{"Dur": d}),
				Value: groupValuePrefix + strconv.FormatInt(outboxID, 10) + ":" + d})
		}
	}
	if n.symptomOf == nil || n.diagAction == "" {
		return out
	}
	type pick struct {
		symptom string
		id      int64
	}
	var picks []pick
	seen := map[string]bool{}
	for _, a := range live {
		var labels map[string]string
		if a.Labels != "" {
			_ = json.Unmarshal([]byte(a.Labels), &labels)
		}
		s, _ := n.symptomOf(a.Rule, a.Kind, labels)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		picks = append(picks, pick{s, a.ID})
		if len(picks) == maxGroupDiagnose {
			break
		}
	}
	for _, pk := range picks {
		label := p.T("alert.button_diagnose")
		if len(picks) > 1 {
			label += " " + pk.symptom
		}
		out = append(out, chat.Button{ID: n.diagAction, Label: label, Value: strconv.FormatInt(pk.id, 10)})
	}
	return out
}

func firingOf(alerts []store.AlertRow) []store.AlertRow {
	var out []store.AlertRow
	for _, a := range alerts {
		if a.State != store.AlertResolved {
			out = append(out, a)
		}
	}
	return out
}

// sharedMatchers are equality matchers for the labels every alert of as
// carries with the same value (the group's labels: its group_by labels and
// whatever else they have in common). The fingerprint is never shared by
// two alerts and is left out for one.
func sharedMatchers(as []store.AlertRow) routing.Matchers {
	if len(as) == 0 {
		return nil
	}
	shared := Labels(as[0])
	delete(shared, "fingerprint")
	for _, a := range as[1:] {
		ls := Labels(a)
		for k, v := range shared {
			if ls[k] != v {
				delete(shared, k)
			}
		}
	}
	return routing.Exactly(shared)
}

// groupSilence handles a click on a grouped message's Silence ("msg:7:4h").
func (n *Notifier) groupSilence(ctx context.Context, value, rest, by string, max time.Duration) (chat.Message, store.SilenceRow, error) {
	idText, dText, ok := strings.Cut(rest, ":")
	outboxID, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || outboxID <= 0 {
		return chat.Message{}, store.SilenceRow{}, invalidf("bad silence value %q", value)
	}
	d, err := ParseDuration(dText)
	if err != nil {
		return chat.Message{}, store.SilenceRow{}, err
	}
	alerts, err := store.AlertsOfMessage(ctx, n.st.DB, outboxID)
	if err != nil {
		return chat.Message{}, store.SilenceRow{}, err
	}
	live := firingOf(alerts)
	if len(live) == 0 {
		return chat.Message{}, store.SilenceRow{}, invalidf("no firing alert on message %d", outboxID)
	}
	ms := sharedMatchers(live)
	if !selective(ms) {
		return chat.Message{}, store.SilenceRow{}, invalidf("the alerts of message %d share no label to silence", outboxID)
	}
	s, err := n.AddSilence(ctx, SilenceRequest{Matchers: []string{ms.String()}, Duration: d, Max: max,
		Reason: fmt.Sprintf("from a message of %d alerts", len(live)), By: by})
	if err != nil {
		return chat.Message{}, s, err
	}
	m, err := n.currentMessage(ctx, outboxID)
	if err != nil {
		return chat.Message{}, s, err
	}
	pr := n.printer(ctx, n.st.DB, channelOf(ctx, n.st.DB, outboxID))
	note := pr.T("alert.silenced_note", locale.Args{"Dur": pr.Duration(d), "User": by, "ID": s.ID})
	m.Context = strings.TrimPrefix(m.Context+" · "+note, " · ")
	return m, s, nil
}
