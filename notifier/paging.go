package notifier

import (
	"context"
	"time"

	"opsbot/chat"
	"opsbot/store"
)

// What escalation (package paging) writes through the notifier: in the
// caller's transaction, so a step's pages and its line in the alert's
// thread are recorded together with the step or not at all.

// SendTx queues m as owner's message in channel inside tx and returns its
// outbox id. Call Wake after the commit.
func (n *Notifier) SendTx(ctx context.Context, tx store.DBTX, channel, owner string, m chat.Message, now time.Time) (int64, error) {
	payload, err := encodeMessage(m)
	if err != nil {
		return 0, err
	}
	row := store.OutboxRow{Channel: channel, Op: store.OpPost, Owner: owner, Payload: payload, CreatedAt: store.T(now)}
	if err := store.EnqueueOutbox(ctx, tx, &row); err != nil {
		return 0, err
	}
	return row.ID, nil
}

// ReplyAlertTx queues, inside tx, a reply in the thread of the alert
// fingerprint's message in every channel it went to, rendered per channel
// (a mention is a Slack id in Slack, a Discord id in Discord). Before the
// alert's message exists the reply waits for it, as Reply's do.
func (n *Notifier) ReplyAlertTx(ctx context.Context, tx store.DBTX, fingerprint string, render func(channel string) chat.Message, now time.Time) error {
	owner := "alert:" + fingerprint
	parents, err := n.firstPosts(ctx, tx, owner)
	if err != nil {
		return err
	}
	if len(parents) == 0 {
		payload, err := encodeMessage(render(""))
		if err != nil {
			return err
		}
		return store.DeferReply(ctx, tx, fingerprint, payload, now)
	}
	for _, ch := range sortedKeys(parents) {
		parent := parents[ch]
		payload, err := encodeMessage(render(ch))
		if err != nil {
			return err
		}
		if err := store.EnqueueOutbox(ctx, tx, &store.OutboxRow{Channel: ch, Op: store.OpReply, Owner: owner, ParentID: &parent,
			Payload: payload, CreatedAt: store.T(now)}); err != nil {
			return err
		}
	}
	return nil
}

// ReplyTx queues, inside tx, m as a reply in the thread of owner's first
// message in every channel it went to (as Reply does in its own
// transaction). Call Wake after the commit.
func (n *Notifier) ReplyTx(ctx context.Context, tx store.DBTX, owner string, m chat.Message, now time.Time) error {
	payload, err := encodeMessage(m)
	if err != nil {
		return err
	}
	parents, err := n.firstPosts(ctx, tx, owner)
	if err != nil {
		return err
	}
	for _, ch := range sortedKeys(parents) {
		parent := parents[ch]
		if err := store.EnqueueOutbox(ctx, tx, &store.OutboxRow{Channel: ch, Op: store.OpReply, Owner: owner, ParentID: &parent,
			Payload: payload, CreatedAt: store.T(now)}); err != nil {
			return err
		}
	}
	return nil
}
