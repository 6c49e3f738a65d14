package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// DBTX is what both the pool (s.DB) and a transaction offer, so one query
// function serves both. With SQLite inside a transaction pass only the
// transaction: the pool has a single connection.
type DBTX = sqlx.ExtContext

func qget(ctx context.Context, q DBTX, dest any, query string, args ...any) error {
	err := sqlx.GetContext(ctx, q, dest, q.Rebind(query), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func qselect(ctx context.Context, q DBTX, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, q, dest, q.Rebind(query), args...)
}

func qexec(ctx context.Context, q DBTX, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, q.Rebind(query), validArgs(args)...)
}

func qinsert(ctx context.Context, q DBTX, query string, args ...any) (int64, error) {
	var id int64
	if err := q.QueryRowxContext(ctx, q.Rebind(query+" RETURNING id"), validArgs(args)...).Scan(&id); err != nil {
		return 0, err
	}
	return id, nil
}

// Alert states.
const (
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// Why an alert is not yet routed.
const (
	PendingGroup   = "group"   // waiting for its group window to close
	PendingSilence = "silence" // matched a silence; looked at again when it ends
	PendingHold    = "hold"    // its target is in maintenance
)

// AlertRow is one firing episode of an alert.
type AlertRow struct {
	ID          int64    `db:"id"`
	Fingerprint string   `db:"fingerprint"`
	Kind        string   `db:"kind"`
	Rule        string   `db:"rule"`
	Target      string   `db:"target"`
	Severity    string   `db:"severity"`
	State       string   `db:"state"`
	Labels      string   `db:"labels"` // JSON object
	Summary     string   `db:"summary"`
	Value       float64  `db:"value"`
	StartedAt   Time     `db:"started_at"`
	LastSeenAt  Time     `db:"last_seen_at"`
	ResolvedAt  Time     `db:"resolved_at"`
	AckedBy     string   `db:"acked_by"`
	AckedAt     Time     `db:"acked_at"`
	Pending     string   `db:"pending"`
	RouteAt     Time     `db:"route_at"`
	RoutedAt    Time     `db:"routed_at"`
	SilenceID   *int64   `db:"silence_id"`
	AnnouncedAt Time     `db:"announced_at"`
	Detail      string   `db:"detail"`      // the evidence or error chain behind Summary
	EndValue    *float64 `db:"end_value"`   // the value that resolved it
	EndSummary  string   `db:"end_summary"` // what the resolving observation said
	// InhibitedBy is the firing alert muting it (pending inhibit).
	InhibitedBy string `db:"inhibited_by"`
}

// Duration is how long the alert fired (until now while it still fires).
func (a AlertRow) Duration(now time.Time) time.Duration {
	end := now
	if !a.ResolvedAt.IsZero() {
		end = a.ResolvedAt.Time
	}
	return end.Sub(a.StartedAt.Time)
}

// FiringAlert returns the firing episode of fingerprint (ErrNotFound when none).
func FiringAlert(ctx context.Context, q DBTX, fingerprint string) (AlertRow, error) {
	var a AlertRow
	err := qget(ctx, q, &a, `SELECT `+alertCols+` FROM alerts WHERE fingerprint = ? AND state = 'firing' ORDER BY id DESC LIMIT 1`, fingerprint)
	if err != nil {
		return a, fmt.Errorf("firing alert: %w", err)
	}
	return a, nil
}

// InsertAlert records a new firing episode and sets a.ID.
func InsertAlert(ctx context.Context, q DBTX, a *AlertRow) error {
	if a.Labels == "" {
		a.Labels = "{}"
	}
	id, err := qinsert(ctx, q, `INSERT INTO alerts (fingerprint, kind, rule, target, severity, state, labels, summary, detail, value,
		started_at, last_seen_at, pending, route_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.Fingerprint, a.Kind, a.Rule, a.Target, a.Severity, AlertFiring, a.Labels, a.Summary, a.Detail, a.Value,
		a.StartedAt, a.LastSeenAt, a.Pending, a.RouteAt)
	if err != nil {
		return fmt.Errorf("insert alert: %w", err)
	}
	a.ID = id
	a.State = AlertFiring
	return nil
}

// FiringAlertsOf returns the firing episodes of fingerprints, by fingerprint
// (absent when none fires).
func FiringAlertsOf(ctx context.Context, q DBTX, fingerprints []string) (map[string]AlertRow, error) {
	out := make(map[string]AlertRow, len(fingerprints))
	for len(fingerprints) > 0 {
		part := fingerprints[:min(500, len(fingerprints))]
		fingerprints = fingerprints[len(part):]
		query, args, err := sqlx.In(`SELECT `+alertCols+` FROM alerts WHERE state = 'firing' AND fingerprint IN (?)`, part)
		if err != nil {
			return nil, fmt.Errorf("firing alerts: %w", err)
		}
		var rows []AlertRow
		if err := qselect(ctx, q, &rows, query, args...); err != nil {
			return nil, fmt.Errorf("firing alerts: %w", err)
		}
		for _, r := range rows {
			out[r.Fingerprint] = r
		}
	}
	return out, nil
}

// InsertAlerts records new firing episodes, of distinct fingerprints, in
// multi-row inserts, and sets their IDs.
func InsertAlerts(ctx context.Context, q DBTX, rows []*AlertRow) error {
	for len(rows) > 0 {
		part := rows[:min(200, len(rows))]
		rows = rows[len(part):]
		var b strings.Builder
		args := make([]any, 0, 14*len(part))
		b.WriteString(`INSERT INTO alerts (fingerprint, kind, rule, target, severity, state, labels, summary, detail, value,
		started_at, last_seen_at, pending, route_at) VALUES `)
		for i, a := range part {
			if a.Labels == "" {
				a.Labels = "{}"
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, a.Fingerprint, a.Kind, a.Rule, a.Target, a.Severity, AlertFiring, a.Labels, a.Summary, a.Detail, a.Value,
				a.StartedAt, a.LastSeenAt, a.Pending, a.RouteAt)
		}
		b.WriteString(` RETURNING id, fingerprint`)
		var ids []struct {
			ID          int64  `db:"id"`
			Fingerprint string `db:"fingerprint"`
		}
		if err := qselect(ctx, q, &ids, b.String(), args...); err != nil {
			return fmt.Errorf("insert alerts: %w", err)
		}
		byFP := make(map[string]int64, len(ids))
		for _, r := range ids {
			byFP[r.Fingerprint] = r.ID
		}
		for _, a := range part {
			a.ID, a.State = byFP[a.Fingerprint], AlertFiring
		}
	}
	return nil
}

// TouchAlert records that a firing alert was seen again.
func TouchAlert(ctx context.Context, q DBTX, id int64, seen time.Time, value float64, summary string) error {
	if _, err := qexec(ctx, q, `UPDATE alerts SET last_seen_at = ?, value = ?, summary = ? WHERE id = ?`, Ms(seen), value, summary, id); err != nil {
		return fmt.Errorf("touch alert: %w", err)
	}
	return nil
}

// SetAlertSeverity records a firing alert's new severity (the same
// condition, worse or better).
func SetAlertSeverity(ctx context.Context, q DBTX, id int64, severity string) error {
	if _, err := qexec(ctx, q, `UPDATE alerts SET severity = ? WHERE id = ?`, severity, id); err != nil {
		return fmt.Errorf("set alert severity: %w", err)
	}
	return nil
}

// ResolveAlert ends a firing episode.
func ResolveAlert(ctx context.Context, q DBTX, id int64, at time.Time) error {
	if _, err := qexec(ctx, q, `UPDATE alerts SET state = 'resolved', resolved_at = ?, last_seen_at = ? WHERE id = ? AND state = 'firing'`, Ms(at), Ms(at), id); err != nil {
		return fmt.Errorf("resolve alert: %w", err)
	}
	return nil
}

// AlertByID returns one alert episode.
func AlertByID(ctx context.Context, q DBTX, id int64) (AlertRow, error) {
	var a AlertRow
	if err := qget(ctx, q, &a, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id); err != nil {
		return a, fmt.Errorf("alert %d: %w", id, err)
	}
	return a, nil
}

// LatestAlert returns the newest episode of fingerprint.
func LatestAlert(ctx context.Context, q DBTX, fingerprint string) (AlertRow, error) {
	var a AlertRow
	if err := qget(ctx, q, &a, `SELECT `+alertCols+` FROM alerts WHERE fingerprint = ? ORDER BY id DESC LIMIT 1`, fingerprint); err != nil {
		return a, fmt.Errorf("latest alert: %w", err)
	}
	return a, nil
}

// DueAlerts returns firing alerts not yet routed whose route time has come.
func DueAlerts(ctx context.Context, q DBTX, now time.Time) ([]AlertRow, error) {
	var out []AlertRow
	if err := qselect(ctx, q, &out, `SELECT `+alertCols+` FROM alerts WHERE state = 'firing' AND routed_at IS NULL AND route_at <= ? ORDER BY id`, Ms(now)); err != nil {
		return nil, fmt.Errorf("due alerts: %w", err)
	}
	return out, nil
}

// OpenGroupWindow returns when the group window now open closes, if one is open.
func OpenGroupWindow(ctx context.Context, q DBTX, now time.Time) (time.Time, bool, error) {
	var t Time
	if err := qget(ctx, q, &t, `SELECT MIN(route_at) FROM alerts WHERE state = 'firing' AND routed_at IS NULL AND pending = 'group' AND route_at > ?`, Ms(now)); err != nil {
		return time.Time{}, false, fmt.Errorf("group window: %w", err)
	}
	return t.Time, !t.IsZero(), nil
}

// NextRouteAt is the earliest route time of a pending firing alert.
func NextRouteAt(ctx context.Context, q DBTX) (time.Time, bool, error) {
	var t Time
	if err := qget(ctx, q, &t, `SELECT MIN(route_at) FROM alerts WHERE state = 'firing' AND routed_at IS NULL`); err != nil {
		return time.Time{}, false, fmt.Errorf("next route: %w", err)
	}
	return t.Time, !t.IsZero(), nil
}

// HeldAlerts returns firing alerts not yet routed because their target is
// in maintenance.
func HeldAlerts(ctx context.Context, q DBTX) ([]AlertRow, error) {
	var out []AlertRow
	if err := qselect(ctx, q, &out, `SELECT `+alertCols+` FROM alerts WHERE state = 'firing' AND routed_at IS NULL AND pending = ? ORDER BY id`, PendingHold); err != nil {
		return nil, fmt.Errorf("held alerts: %w", err)
	}
	return out, nil
}

// SetAlertPending postpones routing of an alert until routeAt.
func SetAlertPending(ctx context.Context, q DBTX, id int64, pending string, routeAt time.Time, silenceID *int64) error {
	if _, err := qexec(ctx, q, `UPDATE alerts SET pending = ?, route_at = ?, silence_id = ? WHERE id = ?`, pending, Ms(routeAt), silenceID, id); err != nil {
		return fmt.Errorf("postpone alert: %w", err)
	}
	return nil
}

// MarkRouted records that alerts were announced (or found nowhere to go).
func MarkRouted(ctx context.Context, q DBTX, ids []int64, now time.Time) error {
	return inChunks(ids, func(part []int64) error {
		query, args, err := sqlx.In(`UPDATE alerts SET routed_at = ?, announced_at = ?, pending = '', silence_id = NULL WHERE id IN (?)`, Ms(now), Ms(now), part)
		if err != nil {
			return err
		}
		if _, err := qexec(ctx, q, query, args...); err != nil {
			return fmt.Errorf("mark routed: %w", err)
		}
		return nil
	})
}

// SetAnnounced records a re-announcement of alerts.
func SetAnnounced(ctx context.Context, q DBTX, ids []int64, now time.Time) error {
	return inChunks(ids, func(part []int64) error {
		query, args, err := sqlx.In(`UPDATE alerts SET announced_at = ? WHERE id IN (?)`, Ms(now), part)
		if err != nil {
			return err
		}
		if _, err := qexec(ctx, q, query, args...); err != nil {
			return fmt.Errorf("set announced: %w", err)
		}
		return nil
	})
}

// RepeatDue returns routed, firing, unacknowledged alerts last announced at
// or before before.
func RepeatDue(ctx context.Context, q DBTX, before time.Time) ([]AlertRow, error) {
	var out []AlertRow
	if err := qselect(ctx, q, &out, `SELECT `+alertCols+` FROM alerts WHERE state = 'firing' AND routed_at IS NOT NULL AND acked_at IS NULL AND announced_at <= ? ORDER BY id`, Ms(before)); err != nil {
		return nil, fmt.Errorf("repeat due: %w", err)
	}
	return out, nil
}

// NextRepeatBase is the oldest announcement among alerts that may repeat.
func NextRepeatBase(ctx context.Context, q DBTX) (time.Time, bool, error) {
	var t Time
	if err := qget(ctx, q, &t, `SELECT MIN(announced_at) FROM alerts WHERE state = 'firing' AND routed_at IS NOT NULL AND acked_at IS NULL`); err != nil {
		return time.Time{}, false, fmt.Errorf("next repeat: %w", err)
	}
	return t.Time, !t.IsZero(), nil
}

// ErrAlreadyAcked is returned when an alert was acknowledged before.
var ErrAlreadyAcked = errors.New("already acknowledged")

// AckAlert records who took a firing alert, once.
func AckAlert(ctx context.Context, q DBTX, id int64, by string, at time.Time) error {
	res, err := qexec(ctx, q, `UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ? AND acked_at IS NULL`, by, Ms(at), id)
	if err != nil {
		return fmt.Errorf("ack alert: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := AlertByID(ctx, q, id); err != nil {
			return fmt.Errorf("ack alert: %w", err)
		}
		return fmt.Errorf("ack alert %d: %w", id, ErrAlreadyAcked)
	}
	return nil
}

// ListAlerts returns alerts in state ("" = any), newest first.
func ListAlerts(ctx context.Context, q DBTX, state string, limit int) ([]AlertRow, error) {
	var out []AlertRow
	var err error
	if state == "" {
		err = qselect(ctx, q, &out, `SELECT `+alertCols+` FROM alerts ORDER BY id DESC LIMIT ?`, limit)
	} else {
		err = qselect(ctx, q, &out, `SELECT `+alertCols+` FROM alerts WHERE state = ? ORDER BY id DESC LIMIT ?`, state, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return out, nil
}

// AlertMessage links an alert to a posted message that carries it.
type AlertMessage struct {
	AlertID  int64  `db:"alert_id"`
	OutboxID int64  `db:"outbox_id"`
	Channel  string `db:"channel"`
	Role     string `db:"role"` // first | repeat
}

// AddAlertMessages records that the message of outboxID carries alerts ids.
func AddAlertMessages(ctx context.Context, q DBTX, outboxID int64, channel, role string, ids []int64) error {
	return inChunks(ids, func(part []int64) error {
		var b strings.Builder
		args := make([]any, 0, 4*len(part))
		b.WriteString(`INSERT INTO alert_messages (alert_id, outbox_id, channel, role) VALUES `)
		for i, id := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?)")
			args = append(args, id, outboxID, channel, role)
		}
		if _, err := qexec(ctx, q, b.String(), args...); err != nil {
			return fmt.Errorf("add alert messages: %w", err)
		}
		return nil
	})
}

// AlertsOfMessage returns the alerts a message carries, in id order.
func AlertsOfMessage(ctx context.Context, q DBTX, outboxID int64) ([]AlertRow, error) {
	var out []AlertRow
	if err := qselect(ctx, q, &out, `SELECT `+alertColsA+` FROM alerts a JOIN alert_messages m ON m.alert_id = a.id WHERE m.outbox_id = ? ORDER BY a.id`, outboxID); err != nil {
		return nil, fmt.Errorf("alerts of message: %w", err)
	}
	return out, nil
}

// MessagesOfAlert returns the messages that carry an alert, oldest first.
func MessagesOfAlert(ctx context.Context, q DBTX, alertID int64) ([]AlertMessage, error) {
	var out []AlertMessage
	if err := qselect(ctx, q, &out, `SELECT `+alertMessageCols+` FROM alert_messages WHERE alert_id = ? ORDER BY outbox_id`, alertID); err != nil {
		return nil, fmt.Errorf("messages of alert: %w", err)
	}
	return out, nil
}

// MessagesOfAlerts returns the messages carrying any of ids, oldest first.
func MessagesOfAlerts(ctx context.Context, q DBTX, ids []int64) ([]AlertMessage, error) {
	var out []AlertMessage
	err := inChunks(ids, func(part []int64) error {
		query, args, err := sqlx.In(`SELECT `+alertMessageCols+` FROM alert_messages WHERE alert_id IN (?)`, part)
		if err != nil {
			return err
		}
		var rows []AlertMessage
		if err := qselect(ctx, q, &rows, query, args...); err != nil {
			return fmt.Errorf("messages of alerts: %w", err)
		}
		out = append(out, rows...)
		return nil
	})
	return out, err
}

func inChunks(ids []int64, fn func([]int64) error) error {
	const size = 500
	for len(ids) > 0 {
		n := min(size, len(ids))
		if err := fn(ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// ReleaseSilenced makes alerts held by silence id due for routing at now.
func ReleaseSilenced(ctx context.Context, q DBTX, silenceID int64, now time.Time) error {
	if _, err := qexec(ctx, q, `UPDATE alerts SET route_at = ? WHERE silence_id = ? AND routed_at IS NULL AND state = 'firing'`, Ms(now), silenceID); err != nil {
		return fmt.Errorf("release silenced alerts: %w", err)
	}
	return nil
}

// StateValue reads the raw JSON under a check_state key inside a
// transaction (GetState uses the pool, which a SQLite transaction holds).
func StateValue(ctx context.Context, q DBTX, key string) (string, error) {
	var raw string
	if err := qget(ctx, q, &raw, `SELECT value FROM check_state WHERE key = ?`, key); err != nil {
		return "", fmt.Errorf("state %s: %w", key, err)
	}
	return raw, nil
}

// SetAlertEnd records what the resolving observation said: the value that
// resolved the alert and its summary.
func SetAlertEnd(ctx context.Context, q DBTX, id int64, value float64, summary string) error {
	if _, err := qexec(ctx, q, `UPDATE alerts SET end_value = ?, end_summary = ? WHERE id = ?`, value, summary, id); err != nil {
		return fmt.Errorf("alert end: %w", err)
	}
	return nil
}

// SetAlertDetail records the evidence behind a firing alert's summary.
func SetAlertDetail(ctx context.Context, q DBTX, id int64, detail string) error {
	if _, err := qexec(ctx, q, `UPDATE alerts SET detail = ? WHERE id = ?`, detail, id); err != nil {
		return fmt.Errorf("alert detail: %w", err)
	}
	return nil
}

// DeferredFingerprints returns the fingerprints with replies waiting for
// their alert's first message.
func DeferredFingerprints(ctx context.Context, q DBTX) (map[string]bool, error) {
	var fps []string
	if err := qselect(ctx, q, &fps, `SELECT DISTINCT fingerprint FROM alert_replies`); err != nil {
		return nil, fmt.Errorf("deferred replies: %w", err)
	}
	out := make(map[string]bool, len(fps))
	for _, fp := range fps {
		out[fp] = true
	}
	return out, nil
}
