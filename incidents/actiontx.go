package incidents

import (
	"context"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/incident"
	"opsbot/store"
)

// txReplier is the outbox that can queue a thread reply inside the
// caller's transaction (the notifier).
type txReplier interface {
	ReplyTx(ctx context.Context, tx store.DBTX, owner string, m chat.Message, now time.Time) error
}

// RecordActionTx puts an automatic action into the timeline of every open
// incident on target, inside tx: the entry and its line in the incident's
// thread are written with the caller's other writes (an escalation step and
// its pages) or not at all. It takes no lock of the service's: the caller's
// transaction may already hold the store's write lock.
func (s *Service) RecordActionTx(ctx context.Context, tx store.DBTX, target, actor, text string, now time.Time) error {
	if target == "" {
		return nil
	}
	text = cutText(strings.Join(strings.Fields(s.redact(text)), " "), maxSummary)
	open, err := store.OpenIncidentsOn(ctx, tx, target)
	if err != nil {
		return err
	}
	for _, inc := range open {
		e := incident.Entry{At: now, Actor: actor, Kind: incident.KindAction, Text: text}
		if _, err := store.AddIncidentEventTx(ctx, tx, inc.ID, e); err != nil {
			return err
		}
		if r, ok := s.out.(txReplier); ok && inc.Channel != "" {
			if err := r.ReplyTx(ctx, tx, Owner(inc.ID), entryMessage(s.printerTx(ctx, tx, inc.Channel), inc, e), now); err != nil {
				return err
			}
		}
	}
	return nil
}
