package notifier

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"opsbot/bot/forms"
	"opsbot/chat"
	"opsbot/locale"
	"opsbot/routing"
	"opsbot/store"
)

// SilenceAction is the button action id of Silence (the policy decides a
// click as the silence verb). Its value is "<alert id>:<duration>".
const SilenceAction = "silence"

// SilenceChoices are the durations a firing alert's message offers.
var SilenceChoices = []string{"1h", "4h", "24h"}

// silenceButtons are the Silence buttons of a firing alert.
func silenceButtons(p locale.Printer, id int64) []chat.Button {
	out := make([]chat.Button, len(SilenceChoices))
	for i, d := range SilenceChoices {
		out[i] = chat.Button{ID: SilenceAction, Label: p.T("alert.button_silence", locale.Args{"Dur": d}), Value: strconv.FormatInt(id, 10) + ":" + d}
	}
	return out
}

// maxFormValue is the most of a form button's value every platform keeps
// (Discord's custom_id holds 100 bytes, "form:" included).
const maxFormValue = 100 - len(forms.Button) - 1

// silenceFormButton opens the silence form prefilled with matchers of
// exactly a's labels; where those do not fit a button, with its
// fingerprint alone, a label no other alert carries.
func silenceFormButton(p locale.Printer, a store.AlertRow) chat.Button {
	ms := routing.Exactly(Labels(a))
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	v := "silence:" + strings.Join(parts, ",")
	if len(v) > maxFormValue {
		v = "silence:" + routing.Exactly(routing.Labels{"fingerprint": a.Fingerprint}).String()[1:]
		v = strings.TrimSuffix(v, "}")
	}
	return chat.Button{ID: forms.Button, Label: p.T("alert.button_silence_form"), Value: v}
}

// SilenceButton handles a click on Silence (value "42:4h") by user, at
// most max long: it silences exactly that alert's labels (every label, its
// fingerprint too, with =) and returns the message as it should now look
// in channel. On a grouped message ("msg:7:4h") it silences the labels the
// message's firing alerts share.
func (n *Notifier) SilenceButton(ctx context.Context, channel, value, by string, max time.Duration) (chat.Message, store.SilenceRow, error) {
	if rest, ok := strings.CutPrefix(value, groupValuePrefix); ok {
		return n.groupSilence(ctx, value, rest, by, max)
	}
	idText, dText, ok := strings.Cut(value, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 {
		return chat.Message{}, store.SilenceRow{}, invalidf("bad silence value %q", value)
	}
	d, err := ParseDuration(dText)
	if err != nil {
		return chat.Message{}, store.SilenceRow{}, err
	}
	a, err := store.AlertByID(ctx, n.st.DB, id)
	if errors.Is(err, store.ErrNotFound) {
		return chat.Message{}, store.SilenceRow{}, invalidf("no alert #%d", id)
	}
	if err != nil {
		return chat.Message{}, store.SilenceRow{}, err
	}
	s, err := n.AddSilence(ctx, SilenceRequest{Matchers: []string{routing.Exactly(Labels(a)).String()}, Duration: d, Max: max,
		Reason: fmt.Sprintf("from the message of alert #%d", id), By: by})
	if err != nil {
		return chat.Message{}, s, err
	}
	pr := n.printer(ctx, n.st.DB, channel)
	note := pr.T("alert.silenced_note", locale.Args{"Dur": pr.Duration(d), "User": by, "ID": s.ID})
	msgs, err := store.MessagesOfAlert(ctx, n.st.DB, id)
	if err != nil {
		return chat.Message{}, s, err
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Channel == channel || i == 0 {
			m, err := n.currentMessage(ctx, msgs[i].OutboxID)
			if err != nil {
				return chat.Message{}, s, err
			}
			m.Context = strings.TrimPrefix(m.Context+" · "+note, " · ")
			return m, s, nil
		}
	}
	return chat.Message{Text: pr.T("alert.silenced_text", locale.Args{"ID": id, "Note": note})}, s, nil
}
