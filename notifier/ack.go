package notifier

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"opsbot/chat"
	"opsbot/locale"
	"opsbot/store"
)

// Ack records that by took alert id: its repeats and mentions stop and its
// messages show who took it. Acknowledging a resolved alert is refused.
func (n *Notifier) Ack(ctx context.Context, id int64, by string) (store.AlertRow, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.Now()
	var a store.AlertRow
	err := n.st.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		a, err = store.AlertByID(ctx, tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return invalidf("no alert #%d", id)
		}
		if err != nil {
			return err
		}
		if a.State == store.AlertResolved {
			return invalidf("alert #%d is already resolved", id)
		}
		if a.AckedBy != "" {
			return invalidf("alert #%d was already acknowledged by %s", id, a.AckedBy)
		}
		if err := store.AckAlert(ctx, tx, id, by, now); err != nil {
			return err
		}
		a.AckedBy, a.AckedAt = by, store.T(now)
		msgs, err := store.MessagesOfAlert(ctx, tx, id)
		if err != nil {
			return err
		}
		return n.rerender(ctx, tx, msgs, now)
	})
	if err != nil {
		return a, err
	}
	n.poke()
	return a, nil
}

// AckMessage acknowledges every firing, unacknowledged alert a grouped
// message (outbox row id) carries, and returns how many it took.
func (n *Notifier) AckMessage(ctx context.Context, outboxID int64, by string) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.Now()
	count := 0
	err := n.st.Tx(ctx, func(tx *sqlx.Tx) error {
		alerts, err := store.AlertsOfMessage(ctx, tx, outboxID)
		if err != nil {
			return err
		}
		if len(alerts) == 0 {
			return invalidf("no alert message %d", outboxID)
		}
		var ids []int64
		for _, a := range alerts {
			if a.State != store.AlertFiring || a.AckedBy != "" {
				continue
			}
			if err := store.AckAlert(ctx, tx, a.ID, by, now); err != nil {
				return err
			}
			ids = append(ids, a.ID)
		}
		count = len(ids)
		if count == 0 {
			return invalidf("every alert of that message is already acknowledged or resolved")
		}
		msgs, err := store.MessagesOfAlerts(ctx, tx, ids)
		if err != nil {
			return err
		}
		return n.rerender(ctx, tx, msgs, now)
	})
	if err != nil {
		return 0, err
	}
	n.poke()
	return count, nil
}

// AckButton handles a click on Acknowledge (value "42" or "msg:7") by
// user and returns the message as it should now look in channel.
func (n *Notifier) AckButton(ctx context.Context, channel, value, by string) (chat.Message, error) {
	if rest, ok := strings.CutPrefix(value, "msg:"); ok {
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return chat.Message{}, invalidf("bad acknowledge value %q", value)
		}
		if _, err := n.AckMessage(ctx, id, by); err != nil {
			return chat.Message{}, err
		}
		return n.currentMessage(ctx, id)
	}
	id, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return chat.Message{}, invalidf("bad acknowledge value %q", value)
	}
	if _, err := n.Ack(ctx, id, by); err != nil {
		return chat.Message{}, err
	}
	msgs, err := store.MessagesOfAlert(ctx, n.st.DB, id)
	if err != nil {
		return chat.Message{}, err
	}
	// The newest message of the alert in the clicked channel is the one
	// clicked, most likely (a repeat carries the button too).
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Channel == channel {
			return n.currentMessage(ctx, msgs[i].OutboxID)
		}
	}
	if len(msgs) > 0 {
		return n.currentMessage(ctx, msgs[len(msgs)-1].OutboxID)
	}
	return chat.Message{Text: n.printer(ctx, n.st.DB, channel).T("alert.acked_text", locale.Args{"ID": id, "User": by})}, nil
}

func (n *Notifier) currentMessage(ctx context.Context, outboxID int64) (chat.Message, error) {
	alerts, err := store.AlertsOfMessage(ctx, n.st.DB, outboxID)
	if err != nil {
		return chat.Message{}, err
	}
	if len(alerts) == 0 {
		return chat.Message{}, invalidf("no alert message %d", outboxID)
	}
	msgs, err := store.MessagesOfAlert(ctx, n.st.DB, alerts[0].ID)
	if err != nil {
		return chat.Message{}, err
	}
	role, channel := roleFirst, ""
	for _, m := range msgs {
		if m.OutboxID == outboxID {
			role, channel = m.Role, m.Channel
		}
	}
	sortAlerts(alerts)
	return n.render(n.printer(ctx, n.st.DB, channel), alerts, outboxID, role, "", n.Now(), false), nil
}

// Alert returns one alert episode by id.
func (n *Notifier) Alert(ctx context.Context, id int64) (store.AlertRow, error) {
	return store.AlertByID(ctx, n.st.DB, id)
}

// Firing lists firing alerts, newest first.
func (n *Notifier) Firing(ctx context.Context, limit int) ([]store.AlertRow, error) {
	return store.ListAlerts(ctx, n.st.DB, store.AlertFiring, limit)
}
