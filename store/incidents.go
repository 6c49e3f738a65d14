package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"opsbot/incident"
)

// incidentRow is an incidents row as stored.
type incidentRow struct {
	ID           int64   `db:"id"`
	Title        string  `db:"title"`
	Severity     string  `db:"severity"`
	Stage        string  `db:"stage"`
	Target       string  `db:"target"`
	ActiveTarget *string `db:"active_target"`
	Lead         string  `db:"lead"`
	OpenedBy     string  `db:"opened_by"`
	Channel      string  `db:"channel"`
	OpenedAt     Time    `db:"opened_at"`
	StageAt      Time    `db:"stage_at"`
	ClockAt      Time    `db:"clock_at"`
	AckedAt      Time    `db:"acked_at"`
	RecoveredAt  Time    `db:"recovered_at"`
	ClosedAt     Time    `db:"closed_at"`
	Reminded     string  `db:"reminded"`
	Version      int64   `db:"version"`
}

func (r incidentRow) incident() (incident.Incident, error) {
	st, err := incident.ParseStage(r.Stage)
	if err != nil {
		return incident.Incident{}, fmt.Errorf("incident %d: stored stage %q: %w", r.ID, r.Stage, err)
	}
	return incident.Incident{
		ID: r.ID, Title: r.Title, Severity: r.Severity, Stage: st, Target: r.Target, Lead: r.Lead,
		OpenedBy: r.OpenedBy, Channel: r.Channel, OpenedAt: r.OpenedAt.Time, StageAt: r.StageAt.Time,
		ClockAt: r.ClockAt.Time, AckedAt: r.AckedAt.Time, RecoveredAt: r.RecoveredAt.Time,
		ClosedAt: r.ClosedAt.Time, Version: r.Version,
	}, nil
}

// activeTarget is what the unique index holds: the target while the
// incident is worked on, NULL otherwise (NULLs never collide).
func activeTarget(inc incident.Incident) *string {
	if inc.Target == "" || !inc.IsActive() {
		return nil
	}
	t := inc.Target
	return &t
}

func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	// SQLite: "UNIQUE constraint failed"; PostgreSQL: SQLSTATE 23505.
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "23505")
}

// CreateIncident stores a new incident with its first timeline entry and
// returns its id. ErrConflict when its target already has an active incident.
func (s *Store) CreateIncident(ctx context.Context, inc incident.Incident, first incident.Entry) (int64, error) {
	var id int64
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		err := tx.QueryRowxContext(ctx, tx.Rebind(`INSERT INTO incidents
			(title, severity, stage, target, active_target, lead, opened_by, channel, opened_at, stage_at, clock_at, acked_at, recovered_at, closed_at, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) RETURNING id`), validArgs([]any{
			inc.Title, inc.Severity, inc.Stage.String(), inc.Target, activeTarget(inc), inc.Lead, inc.OpenedBy, inc.Channel,
			T(inc.OpenedAt), T(inc.StageAt), T(inc.ClockAt), T(inc.AckedAt), T(inc.RecoveredAt), T(inc.ClosedAt)})...).Scan(&id)
		if err != nil {
			return err
		}
		_, err = addEvent(ctx, tx, id, first)
		return err
	})
	if isUniqueViolation(err) {
		return 0, fmt.Errorf("create incident: target %q has an active incident: %w", inc.Target, ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("create incident: %w", err)
	}
	return id, nil
}

// Incident loads one incident; ErrNotFound when there is none.
func (s *Store) Incident(ctx context.Context, id int64) (incident.Incident, error) {
	var r incidentRow
	if err := s.Get(ctx, &r, `SELECT `+incidentCols+` FROM incidents WHERE id = ?`, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return incident.Incident{}, fmt.Errorf("incident %d: %w", id, ErrNotFound)
		}
		return incident.Incident{}, fmt.Errorf("load incident %d: %w", id, err)
	}
	return r.incident()
}

// ActiveIncident returns the active incident (before post-mortem) of a
// target; ErrNotFound when there is none.
func (s *Store) ActiveIncident(ctx context.Context, target string) (incident.Incident, error) {
	var r incidentRow
	if err := s.Get(ctx, &r, `SELECT `+incidentCols+` FROM incidents WHERE active_target = ?`, target); err != nil {
		if errors.Is(err, ErrNotFound) {
			return incident.Incident{}, fmt.Errorf("active incident of %q: %w", target, ErrNotFound)
		}
		return incident.Incident{}, fmt.Errorf("active incident of %q: %w", target, err)
	}
	return r.incident()
}

func (s *Store) incidents(ctx context.Context, q string, args ...any) ([]incident.Incident, error) {
	var rows []incidentRow
	if err := s.Select(ctx, &rows, `SELECT `+incidentCols+` FROM incidents `+q, args...); err != nil {
		return nil, err
	}
	out := make([]incident.Incident, 0, len(rows))
	for _, r := range rows {
		inc, err := r.incident()
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, nil
}

// OpenIncidents returns the incidents not closed, oldest first.
func (s *Store) OpenIncidents(ctx context.Context) ([]incident.Incident, error) {
	out, err := s.incidents(ctx, `WHERE closed_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("open incidents: %w", err)
	}
	return out, nil
}

// ListIncidents returns up to limit incidents, newest first; only the open
// ones when open is set.
func (s *Store) ListIncidents(ctx context.Context, open bool, limit int) ([]incident.Incident, error) {
	q := `ORDER BY id DESC LIMIT ?`
	if open {
		q = `WHERE closed_at IS NULL ` + q
	}
	out, err := s.incidents(ctx, q, limit)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return out, nil
}

// IncidentsSince returns the incidents opened at or after t, oldest first.
func (s *Store) IncidentsSince(ctx context.Context, t time.Time) ([]incident.Incident, error) {
	out, err := s.incidents(ctx, `WHERE opened_at >= ? ORDER BY id`, Ms(t))
	if err != nil {
		return nil, fmt.Errorf("incidents since: %w", err)
	}
	return out, nil
}

// UpdateIncident writes next over prev when nobody changed the incident
// since prev was read (same version), together with the timeline entries,
// in one transaction. ErrConflict when the version moved or the target has
// another active incident.
func (s *Store) UpdateIncident(ctx context.Context, prev, next incident.Incident, entries ...incident.Entry) error {
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE incidents SET title = ?, severity = ?, stage = ?, target = ?, active_target = ?,
			lead = ?, channel = ?, stage_at = ?, clock_at = ?, acked_at = ?, recovered_at = ?, closed_at = ?, version = version + 1
			WHERE id = ? AND version = ?`), validArgs([]any{
			next.Title, next.Severity, next.Stage.String(), next.Target, activeTarget(next), next.Lead, next.Channel,
			T(next.StageAt), T(next.ClockAt), T(next.AckedAt), T(next.RecoveredAt), T(next.ClosedAt), prev.ID, prev.Version})...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("incident %d changed meanwhile: %w", prev.ID, ErrConflict)
		}
		for _, e := range entries {
			if _, err := addEvent(ctx, tx, prev.ID, e); err != nil {
				return err
			}
		}
		return nil
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("update incident %d: target %q has another active incident: %w", prev.ID, next.Target, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update incident %d: %w", prev.ID, err)
	}
	return nil
}

func addEvent(ctx context.Context, tx *sqlx.Tx, id int64, e incident.Entry) (int64, error) {
	st := ""
	if e.Stage.Valid() {
		st = e.Stage.String()
	}
	var eid int64
	err := tx.QueryRowxContext(ctx, tx.Rebind(`INSERT INTO incident_events (incident_id, at, actor, kind, stage, ref, status, text)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), validArgs([]any{id, Ms(e.At), e.Actor, string(e.Kind), st, e.Ref, e.Status, e.Text})...).Scan(&eid)
	if err != nil {
		return 0, fmt.Errorf("add incident event: %w", err)
	}
	return eid, nil
}

// AddIncidentEvent appends one entry to an incident's timeline.
func (s *Store) AddIncidentEvent(ctx context.Context, id int64, e incident.Entry) (int64, error) {
	var eid int64
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		var err error
		eid, err = addEvent(ctx, tx, id, e)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("incident %d: %w", id, err)
	}
	return eid, nil
}

type eventRow struct {
	ID     int64  `db:"id"`
	At     Time   `db:"at"`
	Actor  string `db:"actor"`
	Kind   string `db:"kind"`
	Stage  string `db:"stage"`
	Ref    string `db:"ref"`
	Status string `db:"status"`
	Text   string `db:"text"`
}

func (r eventRow) entry() incident.Entry {
	e := incident.Entry{ID: r.ID, At: r.At.Time, Actor: r.Actor, Kind: incident.Kind(r.Kind), Ref: r.Ref, Status: r.Status, Text: r.Text}
	if r.Stage != "" {
		e.Stage, _ = incident.ParseStage(r.Stage)
	}
	return e
}

// IncidentTimeline returns an incident's timeline, oldest first.
func (s *Store) IncidentTimeline(ctx context.Context, id int64) ([]incident.Entry, error) {
	var rows []eventRow
	if err := s.Select(ctx, &rows, `SELECT `+eventCols+` FROM incident_events
		WHERE incident_id = ? ORDER BY at, id`, id); err != nil {
		return nil, fmt.Errorf("incident %d timeline: %w", id, err)
	}
	out := make([]incident.Entry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
	}
	return out, nil
}

// LastIncidentEvent returns the latest entry of an incident with the given
// kind and ref (an alert's fingerprint); ErrNotFound when there is none.
func (s *Store) LastIncidentEvent(ctx context.Context, id int64, kind incident.Kind, ref string) (incident.Entry, error) {
	var r eventRow
	err := s.Get(ctx, &r, `SELECT `+eventCols+` FROM incident_events
		WHERE incident_id = ? AND kind = ? AND ref = ? ORDER BY id DESC LIMIT 1`, id, string(kind), ref)
	if errors.Is(err, ErrNotFound) {
		return incident.Entry{}, fmt.Errorf("incident %d last %s event: %w", id, kind, ErrNotFound)
	}
	if err != nil {
		return incident.Entry{}, fmt.Errorf("incident %d last %s event: %w", id, kind, err)
	}
	return r.entry(), nil
}

// MarkReminded records that the reminder named key was sent for an
// incident, with its entry. It returns false, and records nothing, when
// that reminder was already marked (by this or another replica).
func (s *Store) MarkReminded(ctx context.Context, id int64, key string, e incident.Entry) (bool, error) {
	marked := false
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE incidents SET reminded = ? WHERE id = ? AND reminded <> ?`), key, id, key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		marked = true
		_, err = addEvent(ctx, tx, id, e)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("mark incident %d reminded: %w", id, err)
	}
	return marked, nil
}

// Reminded returns the key of the last reminder sent for an incident.
func (s *Store) Reminded(ctx context.Context, id int64) (string, error) {
	var key string
	if err := s.Get(ctx, &key, `SELECT reminded FROM incidents WHERE id = ?`, id); err != nil {
		return "", fmt.Errorf("incident %d reminded: %w", id, err)
	}
	return key, nil
}

// SavePostMortem stores an incident's post-mortem draft with its entry.
func (s *Store) SavePostMortem(ctx context.Context, id int64, markdown string, e incident.Entry) error {
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE incidents SET postmortem = ?, postmortem_at = ? WHERE id = ?`), validArgs([]any{markdown, Ms(e.At), id})...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		_, err = addEvent(ctx, tx, id, e)
		return err
	})
	if err != nil {
		return fmt.Errorf("save post-mortem of incident %d: %w", id, err)
	}
	return nil
}

// PostMortem returns an incident's stored post-mortem draft ("" if none yet).
func (s *Store) PostMortem(ctx context.Context, id int64) (string, time.Time, error) {
	var r struct {
		Text string `db:"postmortem"`
		At   Time   `db:"postmortem_at"`
	}
	if err := s.Get(ctx, &r, `SELECT postmortem, postmortem_at FROM incidents WHERE id = ?`, id); err != nil {
		return "", time.Time{}, fmt.Errorf("post-mortem of incident %d: %w", id, err)
	}
	return r.Text, r.At.Time, nil
}
