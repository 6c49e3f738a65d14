package store

import (
	"context"
	"fmt"
	"time"
)

// PendingInhibit: an inhibition rule mutes the alert while its source fires.
const PendingInhibit = "inhibit"

// FiringAlerts returns every firing alert (the inhibition stage's
// sources), with only what labels are made of: id, fingerprint, kind,
// rule, target, severity and labels.
func FiringAlerts(ctx context.Context, q DBTX) ([]AlertRow, error) {
	var out []AlertRow
	if err := qselect(ctx, q, &out, `SELECT id, fingerprint, kind, rule, target, severity, labels FROM alerts WHERE state = 'firing' ORDER BY id`); err != nil {
		return nil, fmt.Errorf("firing alerts: %w", err)
	}
	return out, nil
}

// SetAlertInhibited postpones routing of an alert muted by the alert with
// fingerprint by until routeAt (when it is looked at again).
func SetAlertInhibited(ctx context.Context, q DBTX, id int64, by string, routeAt time.Time) error {
	if _, err := qexec(ctx, q, `UPDATE alerts SET pending = ?, route_at = ?, inhibited_by = ?, silence_id = NULL WHERE id = ?`, PendingInhibit, Ms(routeAt), by, id); err != nil {
		return fmt.Errorf("inhibit alert: %w", err)
	}
	return nil
}

// ReleaseInhibited makes every inhibited alert due now (a source may have
// resolved).
func ReleaseInhibited(ctx context.Context, q DBTX, now time.Time) error {
	if _, err := qexec(ctx, q, `UPDATE alerts SET route_at = ? WHERE state = 'firing' AND routed_at IS NULL AND pending = ? AND route_at > ?`, Ms(now), PendingInhibit, Ms(now)); err != nil {
		return fmt.Errorf("release inhibited: %w", err)
	}
	return nil
}

// AlertEvent is one change of an alert's state beyond its columns.
type AlertEvent struct {
	ID      int64  `db:"id"`
	AlertID int64  `db:"alert_id"`
	At      Time   `db:"at"`
	State   string `db:"state"`
	Actor   string `db:"actor"`
	Note    string `db:"note"`
}

// AddAlertEvent records an event.
func AddAlertEvent(ctx context.Context, q DBTX, e AlertEvent) error {
	if _, err := qexec(ctx, q, `INSERT INTO alert_events (alert_id, at, state, actor, note) VALUES (?, ?, ?, ?, ?)`, e.AlertID, e.At, e.State, e.Actor, e.Note); err != nil {
		return fmt.Errorf("alert event: %w", err)
	}
	return nil
}

// AlertEvents returns an alert's events, oldest first.
func AlertEvents(ctx context.Context, q DBTX, alertID int64) ([]AlertEvent, error) {
	var out []AlertEvent
	if err := qselect(ctx, q, &out, `SELECT id, alert_id, at, state, actor, note FROM alert_events WHERE alert_id = ? ORDER BY id`, alertID); err != nil {
		return nil, fmt.Errorf("alert events: %w", err)
	}
	return out, nil
}

// AlertsSince returns alerts that started, or were still firing, at or
// after since, newest first.
func AlertsSince(ctx context.Context, q DBTX, since time.Time, limit int) ([]AlertRow, error) {
	var out []AlertRow
	if err := qselect(ctx, q, &out, `SELECT `+alertCols+` FROM alerts WHERE started_at >= ? OR resolved_at IS NULL OR resolved_at >= ? ORDER BY id DESC LIMIT ?`,
		Ms(since), Ms(since), limit); err != nil {
		return nil, fmt.Errorf("alerts since: %w", err)
	}
	return out, nil
}

// CurrentSilences returns silences in force at now or yet to start, by start.
func CurrentSilences(ctx context.Context, q DBTX, now time.Time) ([]SilenceRow, error) {
	var out []SilenceRow
	if err := qselect(ctx, q, &out, `SELECT `+silenceCols+` FROM silences WHERE removed_at IS NULL AND ends_at > ? ORDER BY starts_at, id`, Ms(now)); err != nil {
		return nil, fmt.Errorf("current silences: %w", err)
	}
	return out, nil
}
