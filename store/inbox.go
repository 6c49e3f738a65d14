package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Observation is one row of the alert inbox: a producer's observation of
// one alert (its payload is the alert as JSON).
type Observation struct {
	ID          int64  `db:"id"`
	Source      string `db:"source"`
	Fingerprint string `db:"fingerprint"`
	ObservedAt  Time   `db:"observed_at"`
	Status      string `db:"status"`
	Payload     string `db:"payload"`
	CreatedAt   Time   `db:"created_at"`
	ProcessedAt Time   `db:"processed_at"`
}

const observationCols = `id, source, fingerprint, observed_at, status, payload, created_at, processed_at`

// AppendObservations adds observations to the inbox; one already there
// (same source, fingerprint and observation time) is ignored, so a
// producer that retries after an error cannot double it. It returns how
// many rows were new.
func AppendObservations(ctx context.Context, q DBTX, obs []Observation) (int, error) {
	added := 0
	// Multi-row inserts: one statement per 500 observations, not one each.
	for len(obs) > 0 {
		part := obs[:min(500, len(obs))]
		obs = obs[len(part):]
		var b strings.Builder
		args := make([]any, 0, 6*len(part))
		b.WriteString(`INSERT INTO alert_inbox (source, fingerprint, observed_at, status, payload, created_at) VALUES `)
		for i, o := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?)")
			args = append(args, o.Source, o.Fingerprint, o.ObservedAt, o.Status, o.Payload, o.CreatedAt)
		}
		b.WriteString(` ON CONFLICT (source, fingerprint, observed_at, status) DO NOTHING`)
		res, err := qexec(ctx, q, b.String(), args...)
		if err != nil {
			return added, fmt.Errorf("append observations: %w", err)
		}
		n, _ := res.RowsAffected()
		added += int(n)
	}
	return added, nil
}

// ClaimObservations marks up to limit unprocessed observations processed
// at now and returns them in the order they were appended. Rows another
// transaction claimed first are skipped (the UPDATE re-checks
// processed_at), so each observation is applied once even when two
// processes believe they lead. Call it inside the transaction that applies
// them.
func ClaimObservations(ctx context.Context, q DBTX, limit int, now time.Time) ([]Observation, error) {
	var ids []int64
	if err := qselect(ctx, q, &ids, `SELECT id FROM alert_inbox WHERE processed_at IS NULL ORDER BY id LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("claim observations: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var claimed []Observation
	err := inChunks(ids, func(chunk []int64) error {
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")
		args := []any{Ms(now)}
		for _, id := range chunk {
			args = append(args, id)
		}
		var rows []Observation
		if err := qselect(ctx, q, &rows, `UPDATE alert_inbox SET processed_at = ? WHERE processed_at IS NULL AND id IN (`+ph+`) RETURNING `+observationCols, args...); err != nil {
			return err
		}
		claimed = append(claimed, rows...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim observations: %w", err)
	}
	// RETURNING gives no order.
	sort.Slice(claimed, func(i, j int) bool { return claimed[i].ID < claimed[j].ID })
	return claimed, nil
}

// InboxPending reports whether an observation waits to be applied.
func InboxPending(ctx context.Context, q DBTX) (bool, error) {
	var ids []int64
	if err := qselect(ctx, q, &ids, `SELECT id FROM alert_inbox WHERE processed_at IS NULL LIMIT 1`); err != nil {
		return false, fmt.Errorf("inbox pending: %w", err)
	}
	return len(ids) > 0, nil
}

// InboxCounts counts observations waiting and applied.
func InboxCounts(ctx context.Context, q DBTX) (pending, processed int64, err error) {
	var row struct {
		Pending   int64 `db:"pending"`
		Processed int64 `db:"processed"`
	}
	err = qget(ctx, q, &row, `SELECT
		COALESCE(SUM(CASE WHEN processed_at IS NULL THEN 1 ELSE 0 END), 0) AS pending,
		COALESCE(SUM(CASE WHEN processed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS processed
		FROM alert_inbox`)
	if err != nil {
		return 0, 0, fmt.Errorf("inbox counts: %w", err)
	}
	return row.Pending, row.Processed, nil
}

// DeferredReply is a reply waiting for its alert's first message.
type DeferredReply struct {
	ID          int64  `db:"id"`
	Fingerprint string `db:"fingerprint"`
	Payload     string `db:"payload"`
	CreatedAt   Time   `db:"created_at"`
}

// DeferReply keeps a reply for the first message of fingerprint's alert.
func DeferReply(ctx context.Context, q DBTX, fingerprint, payload string, now time.Time) error {
	if _, err := qexec(ctx, q, `INSERT INTO alert_replies (fingerprint, payload, created_at) VALUES (?, ?, ?)`, fingerprint, payload, Ms(now)); err != nil {
		return fmt.Errorf("defer reply: %w", err)
	}
	return nil
}

// TakeDeferredReplies returns and deletes the replies waiting for
// fingerprint's first message, oldest first.
func TakeDeferredReplies(ctx context.Context, q DBTX, fingerprint string) ([]DeferredReply, error) {
	var rows []DeferredReply
	if err := qselect(ctx, q, &rows, `SELECT id, fingerprint, payload, created_at FROM alert_replies WHERE fingerprint = ? ORDER BY id`, fingerprint); err != nil {
		return nil, fmt.Errorf("deferred replies: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	if _, err := qexec(ctx, q, `DELETE FROM alert_replies WHERE fingerprint = ?`, fingerprint); err != nil {
		return nil, fmt.Errorf("deferred replies: %w", err)
	}
	return rows, nil
}

// alertWriterLock is the PostgreSQL advisory lock key of the alert writer.
const alertWriterLock = 0x6f707362 // "opsb"

// LockAlertWriter makes the calling transaction the only writer of alert
// state until it ends: on PostgreSQL an advisory transaction lock, so two
// processes that both believe they lead take turns instead of deadlocking
// on each other's rows; SQLite has one writer anyway.
func LockAlertWriter(ctx context.Context, tx *sqlx.Tx) error {
	if tx.DriverName() != "pgx" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, alertWriterLock); err != nil {
		return fmt.Errorf("lock alert writer: %w", err)
	}
	return nil
}
