package store

import (
	"context"
	"fmt"
	"time"
)

// Escalation states.
const (
	EscActive   = "active"
	EscAcked    = "acked"
	EscResolved = "resolved"
)

// Escalation is one alert episode under an escalation policy.
type Escalation struct {
	AlertID     int64  `db:"alert_id"`
	Fingerprint string `db:"fingerprint"`
	Policy      string `db:"policy"`
	Severity    string `db:"severity"`
	State       string `db:"state"`
	NextStep    int    `db:"next_step"`
	NextAt      Time   `db:"next_at"`
	StartedAt   Time   `db:"started_at"`
	StoppedAt   Time   `db:"stopped_at"`
	StoppedBy   string `db:"stopped_by"`
}

// Page is one page written to the outbox through an integration.
type Page struct {
	OutboxID    int64  `db:"outbox_id"`
	AlertID     int64  `db:"alert_id"`
	Integration string `db:"integration"`
	Action      string `db:"action"`
	Whom        string `db:"whom"`
	CreatedAt   Time   `db:"created_at"`
	ReportedAt  Time   `db:"reported_at"`
	DeliveredAt Time   `db:"delivered_at"`
}

// PageOutcome is a page whose outbox row was delivered or parked.
type PageOutcome struct {
	Page
	SentAt    Time   `db:"sent_at"`
	ParkedAt  Time   `db:"parked_at"`
	LastError string `db:"last_error"`
}

// Override is someone covering a rotation from StartsAt to EndsAt.
type Override struct {
	ID        int64  `db:"id"`
	Rotation  string `db:"rotation"`
	Person    string `db:"person"`
	StartsAt  Time   `db:"starts_at"`
	EndsAt    Time   `db:"ends_at"`
	CreatedBy string `db:"created_by"`
	CreatedAt Time   `db:"created_at"`
}

var (
	escalationCols = columnsOf(Escalation{}, "")
	pageCols       = columnsOf(Page{}, "p")
	overrideCols   = columnsOf(Override{}, "")
)

// EscalationCandidates are announced, firing, unacknowledged alerts that
// have no escalation yet.
func EscalationCandidates(ctx context.Context, q DBTX, limit int) ([]AlertRow, error) {
	var out []AlertRow
	if err := qselect(ctx, q, &out, `SELECT `+alertCols+` FROM alerts WHERE state = 'firing' AND routed_at IS NOT NULL AND acked_by = ''
		AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.alert_id = alerts.id) ORDER BY id LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("escalation candidates: %w", err)
	}
	return out, nil
}

// StartEscalation records e unless the alert has one; it reports whether it did.
func StartEscalation(ctx context.Context, q DBTX, e Escalation) (bool, error) {
	res, err := qexec(ctx, q, `INSERT INTO escalations (alert_id, fingerprint, policy, severity, state, next_step, next_at, started_at, stopped_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING`, e.AlertID, e.Fingerprint, e.Policy, e.Severity, e.State, e.NextStep, e.NextAt, e.StartedAt, e.StoppedAt)
	if err != nil {
		return false, fmt.Errorf("start escalation: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// EscalationOf returns the escalation of alert id.
func EscalationOf(ctx context.Context, q DBTX, alertID int64) (Escalation, error) {
	var e Escalation
	if err := qget(ctx, q, &e, `SELECT `+escalationCols+` FROM escalations WHERE alert_id = ?`, alertID); err != nil {
		return e, fmt.Errorf("escalation %d: %w", alertID, err)
	}
	return e, nil
}

// DueEscalations are active escalations whose next step is due at now.
func DueEscalations(ctx context.Context, q DBTX, now time.Time, limit int) ([]Escalation, error) {
	var out []Escalation
	if err := qselect(ctx, q, &out, `SELECT `+escalationCols+` FROM escalations WHERE state = 'active' AND next_at IS NOT NULL AND next_at <= ?
		ORDER BY next_at, alert_id LIMIT ?`, Ms(now), limit); err != nil {
		return nil, fmt.Errorf("due escalations: %w", err)
	}
	return out, nil
}

// NextEscalationAt is when the next step of any active escalation is due.
func NextEscalationAt(ctx context.Context, q DBTX) (time.Time, bool, error) {
	var ms *int64
	if err := qget(ctx, q, &ms, `SELECT MIN(next_at) FROM escalations WHERE state = 'active'`); err != nil {
		return time.Time{}, false, fmt.Errorf("next escalation: %w", err)
	}
	if ms == nil {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(*ms), true, nil
}

// StoppingEscalations are escalations whose alert was acknowledged or
// resolved since: active ones of an acked or resolved alert, acked ones of
// a resolved alert.
func StoppingEscalations(ctx context.Context, q DBTX, limit int) ([]Escalation, error) {
	var out []Escalation
	if err := qselect(ctx, q, &out, `SELECT `+columnsOf(Escalation{}, "e")+` FROM escalations e JOIN alerts a ON a.id = e.alert_id
		WHERE (e.state = 'active' AND (a.acked_by <> '' OR a.state = 'resolved')) OR (e.state = 'acked' AND a.state = 'resolved')
		ORDER BY e.alert_id LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("stopping escalations: %w", err)
	}
	return out, nil
}

// AdvanceEscalation moves alert id's escalation from step `from` to `to`
// (next due at next; zero: no more steps). It reports false when the
// escalation is not active at step `from` any more (another process took it).
func AdvanceEscalation(ctx context.Context, q DBTX, alertID int64, policy string, from, to int, next time.Time) (bool, error) {
	res, err := qexec(ctx, q, `UPDATE escalations SET next_step = ?, next_at = ? WHERE alert_id = ? AND state = 'active' AND policy = ? AND next_step = ?`,
		to, T(next), alertID, policy, from)
	if err != nil {
		return false, fmt.Errorf("advance escalation %d: %w", alertID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// StopEscalation moves alert id's escalation from state `from` to `to`; false
// when it was not in `from`.
func StopEscalation(ctx context.Context, q DBTX, alertID int64, from, to string, at time.Time, by string) (bool, error) {
	res, err := qexec(ctx, q, `UPDATE escalations SET state = ?, stopped_at = ?, stopped_by = ?, next_at = NULL WHERE alert_id = ? AND state = ?`,
		to, Ms(at), by, alertID, from)
	if err != nil {
		return false, fmt.Errorf("stop escalation %d: %w", alertID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RecordStep records step of alert id as taken; a second record of the
// same step fails on the key.
func RecordStep(ctx context.Context, q DBTX, alertID int64, policy string, step int, at time.Time, whom, via string) error {
	if _, err := qexec(ctx, q, `INSERT INTO escalation_steps (alert_id, policy, step, taken_at, whom, via) VALUES (?, ?, ?, ?, ?, ?)`,
		alertID, policy, step, Ms(at), whom, via); err != nil {
		return fmt.Errorf("record step %d of %d: %w", step, alertID, err)
	}
	return nil
}

// StepsTaken counts the steps taken for alert id (under every policy it had).
func StepsTaken(ctx context.Context, q DBTX, alertID int64) (int, error) {
	var n int
	if err := qget(ctx, q, &n, `SELECT COUNT(*) FROM escalation_steps WHERE alert_id = ?`, alertID); err != nil {
		return 0, fmt.Errorf("steps of %d: %w", alertID, err)
	}
	return n, nil
}

// AddPage records a page written to the outbox.
func AddPage(ctx context.Context, q DBTX, p Page) error {
	if _, err := qexec(ctx, q, `INSERT INTO pages (outbox_id, alert_id, integration, action, whom, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		p.OutboxID, p.AlertID, p.Integration, p.Action, p.Whom, p.CreatedAt); err != nil {
		return fmt.Errorf("add page: %w", err)
	}
	return nil
}

// PagedIntegrations lists the integrations alert id was triggered through.
func PagedIntegrations(ctx context.Context, q DBTX, alertID int64) ([]string, error) {
	var out []string
	if err := qselect(ctx, q, &out, `SELECT DISTINCT integration FROM pages WHERE alert_id = ? AND action = 'trigger' ORDER BY integration`, alertID); err != nil {
		return nil, fmt.Errorf("paged integrations of %d: %w", alertID, err)
	}
	return out, nil
}

// PagesOf lists the pages of alert id, oldest first.
func PagesOf(ctx context.Context, q DBTX, alertID int64) ([]Page, error) {
	var out []Page
	if err := qselect(ctx, q, &out, `SELECT `+pageCols+` FROM pages p WHERE p.alert_id = ? ORDER BY p.outbox_id`, alertID); err != nil {
		return nil, fmt.Errorf("pages of %d: %w", alertID, err)
	}
	return out, nil
}

// UnreportedPages are pages delivered or parked whose outcome was not told yet.
func UnreportedPages(ctx context.Context, q DBTX, limit int) ([]PageOutcome, error) {
	var out []PageOutcome
	if err := qselect(ctx, q, &out, `SELECT `+pageCols+`, o.delivered_at AS sent_at, o.parked_at, o.last_error FROM pages p JOIN outbox o ON o.id = p.outbox_id
		WHERE p.reported_at IS NULL AND (o.delivered_at IS NOT NULL OR o.parked_at IS NOT NULL) ORDER BY p.outbox_id LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("unreported pages: %w", err)
	}
	return out, nil
}

// MarkPageReported records that a page's outcome was told, and when it was
// delivered (zero: it was not); false when it already was told.
func MarkPageReported(ctx context.Context, q DBTX, outboxID int64, at, delivered time.Time) (bool, error) {
	res, err := qexec(ctx, q, `UPDATE pages SET reported_at = ?, delivered_at = ? WHERE outbox_id = ? AND reported_at IS NULL`, Ms(at), T(delivered), outboxID)
	if err != nil {
		return false, fmt.Errorf("mark page reported: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// AddOverride records an override and sets o.ID.
func AddOverride(ctx context.Context, q DBTX, o *Override) error {
	id, err := qinsert(ctx, q, `INSERT INTO oncall_overrides (rotation, person, starts_at, ends_at, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		o.Rotation, o.Person, o.StartsAt, o.EndsAt, o.CreatedBy, o.CreatedAt)
	if err != nil {
		return fmt.Errorf("add override: %w", err)
	}
	o.ID = id
	return nil
}

// Overrides lists overrides of every rotation that end after `after`.
func Overrides(ctx context.Context, q DBTX, after time.Time) ([]Override, error) {
	var out []Override
	if err := qselect(ctx, q, &out, `SELECT `+overrideCols+` FROM oncall_overrides WHERE ends_at > ? ORDER BY id`, Ms(after)); err != nil {
		return nil, fmt.Errorf("overrides: %w", err)
	}
	return out, nil
}

// SetRotationMembers stores a rotation's members as set from chat (JSON list).
func SetRotationMembers(ctx context.Context, q DBTX, rotation, members, by string, at time.Time) error {
	if _, err := qexec(ctx, q, `INSERT INTO oncall_members (rotation, members, updated_by, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (rotation) DO UPDATE SET members = excluded.members, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		rotation, members, by, Ms(at)); err != nil {
		return fmt.Errorf("set rotation members: %w", err)
	}
	return nil
}

// RotationMembers returns the members set from chat, by rotation (JSON lists).
func RotationMembers(ctx context.Context, q DBTX) (map[string]string, error) {
	var rows []struct {
		Rotation string `db:"rotation"`
		Members  string `db:"members"`
	}
	if err := qselect(ctx, q, &rows, `SELECT rotation, members FROM oncall_members`); err != nil {
		return nil, fmt.Errorf("rotation members: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Rotation] = r.Members
	}
	return out, nil
}

// ClaimHandoff records the handoff at `at` as announced; false when it already was.
func ClaimHandoff(ctx context.Context, q DBTX, at, now time.Time) (bool, error) {
	res, err := qexec(ctx, q, `INSERT INTO oncall_handoffs (at, posted_at) VALUES (?, ?) ON CONFLICT (at) DO NOTHING`, Ms(at), Ms(now))
	if err != nil {
		return false, fmt.Errorf("claim handoff: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LastHandoff is the latest handoff announced (zero when none).
func LastHandoff(ctx context.Context, q DBTX) (time.Time, error) {
	var ms *int64
	if err := qget(ctx, q, &ms, `SELECT MAX(at) FROM oncall_handoffs`); err != nil {
		return time.Time{}, fmt.Errorf("last handoff: %w", err)
	}
	if ms == nil {
		return time.Time{}, nil
	}
	return time.UnixMilli(*ms), nil
}

// AlertTimes is one announced alert's first notification, first
// acknowledgement and first page delivered (zero when none).
type AlertTimes struct {
	RoutedAt Time `db:"routed_at"`
	AckedAt  Time `db:"acked_at"`
	PagedAt  Time `db:"paged_at"`
}

// AlertTimesSince returns the times of alerts announced since `since`.
func AlertTimesSince(ctx context.Context, q DBTX, since time.Time) ([]AlertTimes, error) {
	var out []AlertTimes
	if err := qselect(ctx, q, &out, `SELECT a.routed_at, a.acked_at,
		(SELECT MIN(p.delivered_at) FROM pages p WHERE p.alert_id = a.id AND p.action = 'trigger') AS paged_at
		FROM alerts a WHERE a.routed_at IS NOT NULL AND a.routed_at >= ? ORDER BY a.id`, Ms(since)); err != nil {
		return nil, fmt.Errorf("alert times: %w", err)
	}
	return out, nil
}

// RisenEscalations are escalations of firing, unacknowledged alerts whose
// severity changed since their policy was chosen.
func RisenEscalations(ctx context.Context, q DBTX, limit int) ([]Escalation, error) {
	var out []Escalation
	if err := qselect(ctx, q, &out, `SELECT `+columnsOf(Escalation{}, "e")+` FROM escalations e JOIN alerts a ON a.id = e.alert_id
		WHERE a.state = 'firing' AND a.acked_by = '' AND a.severity <> e.severity AND e.state <> 'acked' ORDER BY e.alert_id LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("risen escalations: %w", err)
	}
	return out, nil
}

// Repolicy moves alert id's escalation from (policy, severity) `from` to e's
// policy, severity, state and first step; false when another process did.
func Repolicy(ctx context.Context, q DBTX, fromPolicy, fromSeverity string, e Escalation) (bool, error) {
	res, err := qexec(ctx, q, `UPDATE escalations SET policy = ?, severity = ?, state = ?, next_step = ?, next_at = ?, started_at = ?, stopped_at = NULL, stopped_by = ''
		WHERE alert_id = ? AND policy = ? AND severity = ?`, e.Policy, e.Severity, e.State, e.NextStep, e.NextAt, e.StartedAt, e.AlertID, fromPolicy, fromSeverity)
	if err != nil {
		return false, fmt.Errorf("repolicy escalation %d: %w", e.AlertID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
