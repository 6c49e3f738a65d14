package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// DBTXTx is the transaction handed to Tx callbacks.
type DBTXTx = *sqlx.Tx

// MessageRef is where a posted message landed. It outlives the outbox row
// (which retention prunes) so long-lived owners can still be edited.
type MessageRef struct {
	ID        int64  `db:"id"`
	OutboxID  int64  `db:"outbox_id"`
	Owner     string `db:"owner"`
	Address   string `db:"address"` // the channel as addressed: "slack:C123"
	Platform  string `db:"platform"`
	Channel   string `db:"channel"` // the platform's channel id
	MessageID string `db:"message_id"`
	ThreadID  string `db:"thread_id"`
	CreatedAt Time   `db:"created_at"`
}

// InsertRef records a message reference.
func InsertRef(ctx context.Context, q DBTX, r MessageRef) error {
	if _, err := qexec(ctx, q, `INSERT INTO message_refs (outbox_id, owner, address, platform, channel, message_id, thread_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.OutboxID, r.Owner, r.Address, r.Platform, r.Channel, r.MessageID, r.ThreadID, r.CreatedAt); err != nil {
		return fmt.Errorf("insert message ref: %w", err)
	}
	return nil
}

// RefOf returns where the post of outbox row id landed (ErrNotFound while
// it is not delivered).
func RefOf(ctx context.Context, q DBTX, outboxID int64) (MessageRef, error) {
	var r MessageRef
	if err := qget(ctx, q, &r, `SELECT `+refCols+` FROM message_refs WHERE outbox_id = ?`, outboxID); err != nil {
		return r, fmt.Errorf("message ref of %d: %w", outboxID, err)
	}
	return r, nil
}

// RefsOfOwner returns every delivered message of owner, oldest first.
func RefsOfOwner(ctx context.Context, q DBTX, owner string) ([]MessageRef, error) {
	var out []MessageRef
	if err := qselect(ctx, q, &out, `SELECT `+refCols+` FROM message_refs WHERE owner = ? ORDER BY outbox_id`, owner); err != nil {
		return nil, fmt.Errorf("message refs of %s: %w", owner, err)
	}
	return out, nil
}
