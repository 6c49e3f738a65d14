package notifier

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"opsbot/chat"
	"opsbot/routing"
	"opsbot/store"
)

// States an alert is shown in by /ops alerts.
const (
	ShowPending   = "pending"
	ShowFiring    = "firing"
	ShowAcked     = "acked"
	ShowSilenced  = "silenced"
	ShowInhibited = "inhibited"
	ShowHeld      = "held"
	ShowResolved  = "resolved"
)

// ShownState is the state of an alert as history shows it.
func ShownState(a store.AlertRow) string {
	switch {
	case a.State == store.AlertResolved:
		return ShowResolved
	case !a.RoutedAt.IsZero() && a.AckedBy != "":
		return ShowAcked
	case !a.RoutedAt.IsZero():
		return ShowFiring
	case a.Pending == store.PendingSilence:
		return ShowSilenced
	case a.Pending == store.PendingInhibit:
		return ShowInhibited
	case a.Pending == store.PendingHold:
		return ShowHeld
	}
	return ShowPending
}

// AlertFilter selects alerts for /ops alerts.
type AlertFilter struct {
	State    string // "" (any), firing (firing or acked), silenced, inhibited
	Since    time.Time
	Matchers routing.Matchers
	Limit    int
}

// AlertView is one alert in a list, with where its first message landed.
type AlertView struct {
	store.AlertRow
	Shown   string
	Message string // "slack:C1 message 1700000000.000100", "" when never posted
}

// Alerts lists alerts active at or since f.Since, newest first.
func (n *Notifier) Alerts(ctx context.Context, f AlertFilter) ([]AlertView, error) {
	if f.Limit <= 0 {
		f.Limit = 20
	}
	rows, err := store.AlertsSince(ctx, n.st.DB, f.Since, 5000)
	if err != nil {
		return nil, err
	}
	var out []AlertView
	for _, a := range rows {
		shown := ShownState(a)
		switch f.State {
		case "":
		case ShowFiring:
			if shown != ShowFiring && shown != ShowAcked {
				continue
			}
		default:
			if shown != f.State {
				continue
			}
		}
		if len(f.Matchers) > 0 && !f.Matchers.Matches(Labels(a)) {
			continue
		}
		v := AlertView{AlertRow: a, Shown: shown}
		if v.Message, err = n.firstMessage(ctx, a.ID); err != nil {
			return nil, err
		}
		out = append(out, v)
		if len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

func (n *Notifier) firstMessage(ctx context.Context, id int64) (string, error) {
	msgs, err := store.MessagesOfAlert(ctx, n.st.DB, id)
	if err != nil {
		return "", err
	}
	for _, m := range msgs {
		if m.Role != roleFirst {
			continue
		}
		ref, err := store.RefOf(ctx, n.st.DB, m.OutboxID)
		if errors.Is(err, store.ErrNotFound) {
			return m.Channel + " (not delivered yet)", nil
		}
		if err != nil {
			return "", err
		}
		where := ref.Address + " message " + ref.MessageID
		if l, ok := n.poster.(chat.Linker); ok {
			if u := l.Link(ref.Address, ref.MessageID); u != "" {
				where += " " + u
			}
		}
		return where, nil
	}
	return "", nil
}

// HistoryEntry is one state change of an alert.
type HistoryEntry struct {
	At    time.Time
	State string
	Actor string
	Note  string
}

// History returns an alert and its state changes, oldest first: pending
// (first seen), silenced or inhibited, firing (announced), acked,
// resolved.
func (n *Notifier) History(ctx context.Context, id int64) (AlertView, []HistoryEntry, error) {
	a, err := store.AlertByID(ctx, n.st.DB, id)
	if errors.Is(err, store.ErrNotFound) {
		return AlertView{}, nil, invalidf("no alert #%d", id)
	}
	if err != nil {
		return AlertView{}, nil, err
	}
	v := AlertView{AlertRow: a, Shown: ShownState(a)}
	if v.Message, err = n.firstMessage(ctx, id); err != nil {
		return v, nil, err
	}
	h := []HistoryEntry{{At: a.StartedAt.Time, State: ShowPending, Note: a.Summary}}
	evs, err := store.AlertEvents(ctx, n.st.DB, id)
	if err != nil {
		return v, nil, err
	}
	for _, e := range evs {
		h = append(h, HistoryEntry{At: e.At.Time, State: e.State, Actor: e.Actor, Note: e.Note})
	}
	if !a.RoutedAt.IsZero() {
		note := ""
		if v.Message != "" {
			note = "posted " + v.Message
		}
		h = append(h, HistoryEntry{At: a.RoutedAt.Time, State: ShowFiring, Note: note})
	}
	if !a.AckedAt.IsZero() {
		h = append(h, HistoryEntry{At: a.AckedAt.Time, State: ShowAcked, Actor: a.AckedBy})
	}
	if !a.ResolvedAt.IsZero() {
		note := ""
		if a.EndSummary != "" {
			note = a.EndSummary
		}
		h = append(h, HistoryEntry{At: a.ResolvedAt.Time, State: ShowResolved, Note: note})
	}
	sort.SliceStable(h, func(i, j int) bool { return h[i].At.Before(h[j].At) })
	return v, h, nil
}

// String is a one-line form for logs and tests.
func (e HistoryEntry) String() string {
	s := fmt.Sprintf("%s %s", e.At.UTC().Format("15:04:05"), e.State)
	if e.Actor != "" {
		s += " by " + e.Actor
	}
	if e.Note != "" {
		s += " — " + e.Note
	}
	return s
}
