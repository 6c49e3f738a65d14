package notifier

import (
	"opsbot/alert"

	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"opsbot/chat"
	"opsbot/locale"
	"opsbot/store"
)

// sevChange is an announced alert whose severity changed (from the old one).
type sevChange struct {
	id   int64
	from string
}

// announceSeverity shows a changed severity of announced alerts: every
// message carrying them is edited in place. A rise (warning → critical) is
// also told: a reply in the thread of each first message, mentioning the
// channel's on-call when the alert is now critical and nobody took it, and
// a first message in channels whose minimum severity the alert now meets.
// A silenced alert, or a health alert of a target in maintenance, is only
// edited. It returns the alerts whose rise was announced.
func (n *Notifier) announceSeverity(ctx context.Context, tx store.DBTX, changes []sevChange, now time.Time) ([]store.AlertRow, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(changes))
	for i, c := range changes {
		ids[i] = c.id
	}
	msgs, err := store.MessagesOfAlerts(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	if err := n.rerender(ctx, tx, msgs, now); err != nil {
		return nil, err
	}
	silences, err := n.activeSilences(ctx, tx, now)
	if err != nil {
		return nil, err
	}
	var rises []store.AlertRow
	from := map[int64]string{}
	for _, c := range changes {
		a, err := store.AlertByID(ctx, tx, c.id)
		if err != nil {
			return nil, err
		}
		if alert.SevRank(a.Severity) <= alert.SevRank(c.from) {
			continue
		}
		if _, ok := silencedBy(silences, a); ok {
			continue
		}
		if a.Kind == "health" && a.Target != "" {
			until, err := maintenanceUntil(ctx, tx, a.Target)
			if err != nil {
				return nil, err
			}
			if until.After(now) {
				continue
			}
		}
		rises = append(rises, a)
		from[a.ID] = c.from
	}
	if len(rises) == 0 {
		return nil, nil
	}
	// Where each alert already is: its first message per channel.
	first := map[string]map[int64]int64{} // channel → alert → first message
	for _, m := range msgs {
		if m.Role != roleFirst {
			continue
		}
		if first[m.Channel] == nil {
			first[m.Channel] = map[int64]int64{}
		}
		if _, ok := first[m.Channel][m.AlertID]; !ok {
			first[m.Channel][m.AlertID] = m.OutboxID
		}
	}
	subs, err := store.SubscriptionsTx(ctx, tx)
	if err != nil {
		return nil, err
	}
	oncall := map[string]string{}
	fresh := map[string][]store.AlertRow{}    // channel → alerts it gets for the first time
	replies := map[string]map[int64][]int64{} // channel → first message → risen alerts
	for _, s := range subs {
		for _, a := range rises {
			if a.Kind != s.Kind || alert.SevRank(a.Severity) < alert.SevRank(s.MinSeverity) {
				continue
			}
			if s.Oncall != "" && oncall[s.Channel] == "" {
				oncall[s.Channel] = s.Oncall
			}
			parent, ok := first[s.Channel][a.ID]
			if !ok {
				if !slices.ContainsFunc(fresh[s.Channel], func(x store.AlertRow) bool { return x.ID == a.ID }) {
					fresh[s.Channel] = append(fresh[s.Channel], a)
				}
				continue
			}
			if replies[s.Channel] == nil {
				replies[s.Channel] = map[int64][]int64{}
			}
			if !slices.Contains(replies[s.Channel][parent], a.ID) {
				replies[s.Channel][parent] = append(replies[s.Channel][parent], a.ID)
			}
		}
	}
	byID := map[int64]store.AlertRow{}
	for _, a := range rises {
		byID[a.ID] = a
	}
	for _, ch := range sortedKeys(replies) {
		parents := replies[ch]
		for _, parent := range slices.Sorted(maps.Keys(parents)) {
			post, err := store.OutboxByID(ctx, tx, parent)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			if !post.ParkedAt.IsZero() {
				continue // never delivered: nothing to thread under
			}
			var as []store.AlertRow
			for _, id := range parents[parent] {
				as = append(as, byID[id])
			}
			sortAlerts(as)
			payload, err := encodeMessage(n.renderRise(n.printer(ctx, tx, ch), as, from, oncall[ch]))
			if err != nil {
				return nil, err
			}
			p := parent
			if err := store.EnqueueOutbox(ctx, tx, &store.OutboxRow{Channel: ch, Op: store.OpReply, ParentID: &p, Payload: payload, CreatedAt: store.T(now)}); err != nil {
				return nil, err
			}
		}
	}
	for _, ch := range sortedKeys(fresh) {
		as := fresh[ch]
		sortAlerts(as)
		if err := n.enqueueAlertPost(ctx, tx, ch, as, roleFirst, oncall[ch], now); err != nil {
			return nil, err
		}
	}
	riseIDs := make([]int64, len(rises))
	for i, a := range rises {
		riseIDs[i] = a.ID
	}
	// A rise is an announcement: the repeat interval starts again.
	if err := store.SetAnnounced(ctx, tx, riseIDs, now); err != nil {
		return nil, err
	}
	return rises, nil
}

// renderRise is the thread reply telling that alerts rose in severity.
func (n *Notifier) renderRise(p locale.Printer, alerts []store.AlertRow, from map[int64]string, oncall string) chat.Message {
	m := chat.Message{Severity: chat.SevWarning}
	open := false
	for _, a := range alerts {
		if a.Severity == "critical" {
			m.Severity = chat.SevCritical
			if a.AckedBy == "" {
				open = true
			}
		}
	}
	if len(alerts) == 1 {
		a := alerts[0]
		m.Title = p.T("alert.rise_title", locale.Args{"Severity": p.SeverityName(a.Severity), "Title": title(p, a)})
		m.Text = p.T("alert.rise_text", locale.Args{"ID": a.ID, "From": p.SeverityName(from[a.ID]), "To": p.SeverityName(a.Severity)})
		if a.Summary != "" {
			m.Text += " " + clip(a.Summary, 200)
		}
	} else {
		m.Title = p.T("alert.n_rose", locale.Args{"Count": len(alerts)})
		for i, a := range alerts {
			if i > 0 {
				m.Text += "\n"
			}
			m.Text += fmt.Sprintf("#%d %s → %s: %s", a.ID, p.SeverityName(from[a.ID]), p.SeverityName(a.Severity), title(p, a))
		}
	}
	if oncall != "" && open {
		m.Mentions = []string{oncall}
	}
	return m
}
