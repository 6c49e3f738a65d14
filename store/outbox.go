package store

import (
	"context"
	"fmt"
	"time"
)

// Outbox operations.
const (
	OpPost   = "post"
	OpUpdate = "update"
	OpReply  = "reply"
)

// OutboxRow is one notification, written before it is sent.
type OutboxRow struct {
	ID          int64  `db:"id"`
	Channel     string `db:"channel"` // "slack:C123", "console"
	Op          string `db:"op"`
	Owner       string `db:"owner"`
	ParentID    *int64 `db:"parent_id"`
	Payload     string `db:"payload"`
	CreatedAt   Time   `db:"created_at"`
	NextAt      Time   `db:"next_at"`
	Attempts    int    `db:"attempts"`
	Failures    int    `db:"failures"`
	TriedAt     Time   `db:"tried_at"`
	LastError   string `db:"last_error"`
	DeliveredAt Time   `db:"delivered_at"`
	ParkedAt    Time   `db:"parked_at"`
	// ClaimedBy is the delivery lane sending the row now, until ClaimedUntil.
	ClaimedBy    string `db:"claimed_by"`
	ClaimedUntil Time   `db:"claimed_until"`
}

// EnqueueOutbox writes a notification and sets r.ID.
func EnqueueOutbox(ctx context.Context, q DBTX, r *OutboxRow) error {
	if r.NextAt.IsZero() {
		r.NextAt = r.CreatedAt
	}
	id, err := qinsert(ctx, q, `INSERT INTO outbox (channel, op, owner, parent_id, payload, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.Channel, r.Op, r.Owner, r.ParentID, r.Payload, r.CreatedAt, r.NextAt)
	if err != nil {
		return fmt.Errorf("enqueue outbox: %w", err)
	}
	r.ID = id
	return nil
}

// SetOutboxPayload replaces the payload of a row not yet tried.
func SetOutboxPayload(ctx context.Context, q DBTX, id int64, payload string) error {
	if _, err := qexec(ctx, q, `UPDATE outbox SET payload = ? WHERE id = ?`, payload, id); err != nil {
		return fmt.Errorf("set outbox payload: %w", err)
	}
	return nil
}

// OutboxByID returns one row.
func OutboxByID(ctx context.Context, q DBTX, id int64) (OutboxRow, error) {
	var r OutboxRow
	if err := qget(ctx, q, &r, `SELECT `+outboxCols+` FROM outbox WHERE id = ?`, id); err != nil {
		return r, fmt.Errorf("outbox %d: %w", id, err)
	}
	return r, nil
}

// OutboxHeads returns the oldest undelivered, unparked row of each channel:
// rows of one channel go out in order, so an edit never overtakes its post.
func OutboxHeads(ctx context.Context, q DBTX) ([]OutboxRow, error) {
	var out []OutboxRow
	if err := qselect(ctx, q, &out, `SELECT `+outboxCols+` FROM outbox WHERE id IN
		(SELECT MIN(id) FROM outbox WHERE delivered_at IS NULL AND parked_at IS NULL GROUP BY channel) ORDER BY id`); err != nil {
		return nil, fmt.Errorf("outbox heads: %w", err)
	}
	return out, nil
}

// OutboxHead returns the oldest undelivered, unparked row of channel
// (ErrNotFound when its lane is empty): what a delivery lane sends next.
func OutboxHead(ctx context.Context, q DBTX, channel string) (OutboxRow, error) {
	var r OutboxRow
	if err := qget(ctx, q, &r, `SELECT `+outboxCols+` FROM outbox WHERE channel = ? AND delivered_at IS NULL AND parked_at IS NULL
		ORDER BY id LIMIT 1`, channel); err != nil {
		return r, fmt.Errorf("outbox head of %s: %w", channel, err)
	}
	return r, nil
}

// OutboxPending counts rows not yet delivered nor parked.
func OutboxPending(ctx context.Context, q DBTX) (int, error) {
	var n int
	if err := qget(ctx, q, &n, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND parked_at IS NULL`); err != nil {
		return 0, fmt.Errorf("outbox pending: %w", err)
	}
	return n, nil
}

// MarkAttempt records, before a send, that an attempt starts: after a crash
// a row with attempts > 0 may already be on the platform.
func MarkAttempt(ctx context.Context, q DBTX, id int64, now time.Time) error {
	if _, err := qexec(ctx, q, `UPDATE outbox SET attempts = attempts + 1, tried_at = ? WHERE id = ?`, Ms(now), id); err != nil {
		return fmt.Errorf("mark attempt: %w", err)
	}
	return nil
}

// ClaimOutbox gives row id to holder until `until` when the row is still
// undelivered and unparked, due at now, and not claimed by another holder
// whose claim is current. One UPDATE decides, so of two processes claiming
// the same row at once exactly one gets it.
func ClaimOutbox(ctx context.Context, q DBTX, id int64, holder string, now, until time.Time) (bool, error) {
	res, err := qexec(ctx, q, `UPDATE outbox SET claimed_by = ?, claimed_until = ?
		WHERE id = ? AND delivered_at IS NULL AND parked_at IS NULL AND next_at <= ?
		AND (claimed_until IS NULL OR claimed_until <= ?)`, holder, Ms(until), id, Ms(now), Ms(now))
	if err != nil {
		return false, fmt.Errorf("claim outbox %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim outbox %d: %w", id, err)
	}
	return n == 1, nil
}

// ExtendClaim keeps holder's claim on row id until `until` while a send
// lasts. It reports false when the claim is no longer holder's.
func ExtendClaim(ctx context.Context, q DBTX, id int64, holder string, until time.Time) (bool, error) {
	res, err := qexec(ctx, q, `UPDATE outbox SET claimed_until = ? WHERE id = ? AND claimed_by = ? AND claimed_until IS NOT NULL
		AND delivered_at IS NULL AND parked_at IS NULL`, Ms(until), id, holder)
	if err != nil {
		return false, fmt.Errorf("extend outbox claim %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("extend outbox claim %d: %w", id, err)
	}
	return n == 1, nil
}

// ReleaseClaim gives holder's claim on row id back without an outcome (the
// send was not made, or its outcome is unknown at shutdown).
func ReleaseClaim(ctx context.Context, q DBTX, id int64, holder string) error {
	if _, err := qexec(ctx, q, `UPDATE outbox SET claimed_by = '', claimed_until = NULL WHERE id = ? AND claimed_by = ?`, id, holder); err != nil {
		return fmt.Errorf("release outbox claim %d: %w", id, err)
	}
	return nil
}

// MarkRetry schedules the next attempt and ends the claim; failure says
// whether this one counts towards parking (a platform's retry-after does not).
func MarkRetry(ctx context.Context, q DBTX, id int64, next time.Time, errText string, failure bool) error {
	inc := 0
	if failure {
		inc = 1
	}
	if _, err := qexec(ctx, q, `UPDATE outbox SET next_at = ?, last_error = ?, failures = failures + ?, claimed_by = '', claimed_until = NULL WHERE id = ?`,
		Ms(next), errText, inc, id); err != nil {
		return fmt.Errorf("mark retry: %w", err)
	}
	return nil
}

// Park gives up on a row (dead letter) and ends its claim.
func Park(ctx context.Context, q DBTX, id int64, now time.Time, errText string) error {
	if _, err := qexec(ctx, q, `UPDATE outbox SET parked_at = ?, last_error = ?, failures = failures + 1, claimed_by = '', claimed_until = NULL WHERE id = ?`,
		Ms(now), errText, id); err != nil {
		return fmt.Errorf("park outbox: %w", err)
	}
	return nil
}

// MarkDelivered records where a post landed (when ref is given) and marks
// the row delivered, in one transaction so neither happens without the other.
func (s *Store) MarkDelivered(ctx context.Context, r OutboxRow, ref *MessageRef, now time.Time) error {
	return s.Tx(ctx, func(tx DBTXTx) error {
		if ref != nil {
			ref.OutboxID, ref.Owner, ref.Address, ref.CreatedAt = r.ID, r.Owner, r.Channel, T(now)
			if err := InsertRef(ctx, tx, *ref); err != nil {
				return err
			}
		}
		res, err := qexec(ctx, tx, `UPDATE outbox SET delivered_at = ?, last_error = '' WHERE id = ? AND delivered_at IS NULL`, Ms(now), r.ID)
		if err != nil {
			return fmt.Errorf("mark delivered: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("mark delivered %d: %w", r.ID, ErrConflict)
		}
		return nil
	})
}

// ParkedOutbox returns parked rows, newest first.
func ParkedOutbox(ctx context.Context, q DBTX, limit int) ([]OutboxRow, error) {
	var out []OutboxRow
	if err := qselect(ctx, q, &out, `SELECT `+outboxCols+` FROM outbox WHERE parked_at IS NOT NULL ORDER BY parked_at DESC, id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("parked outbox: %w", err)
	}
	return out, nil
}

// CountParked counts dead letters.
func CountParked(ctx context.Context, q DBTX) (int, error) {
	var n int
	if err := qget(ctx, q, &n, `SELECT COUNT(*) FROM outbox WHERE parked_at IS NOT NULL`); err != nil {
		return 0, fmt.Errorf("count parked: %w", err)
	}
	return n, nil
}

// PendingUpdate returns an update of parent not yet tried, so a newer
// rendering can replace it instead of queueing another edit.
func PendingUpdate(ctx context.Context, q DBTX, parentID int64) (OutboxRow, error) {
	var r OutboxRow
	err := qget(ctx, q, &r, `SELECT `+outboxCols+` FROM outbox WHERE parent_id = ? AND op = 'update' AND attempts = 0
		AND delivered_at IS NULL AND parked_at IS NULL ORDER BY id DESC LIMIT 1`, parentID)
	if err != nil {
		return r, fmt.Errorf("pending update: %w", err)
	}
	return r, nil
}

// FirstPosts returns, per channel, the first post made for owner (delivered
// or still queued, not parked): the message Update edits and Reply threads under.
func FirstPosts(ctx context.Context, q DBTX, owner string) (map[string]int64, error) {
	type row struct {
		Address string `db:"address"`
		ID      int64  `db:"id"`
	}
	var rows []row
	if err := qselect(ctx, q, &rows, `SELECT address, MIN(id) AS id FROM (
			SELECT address, outbox_id AS id FROM message_refs WHERE owner = ?
			UNION ALL
			SELECT channel AS address, id FROM outbox WHERE owner = ? AND op = 'post' AND parked_at IS NULL
		) x GROUP BY address`, owner, owner); err != nil {
		return nil, fmt.Errorf("first posts of %s: %w", owner, err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Address] = r.ID
	}
	return out, nil
}
