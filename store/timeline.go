package store

import (
	"context"
	"fmt"

	"opsbot/incident"
)

// OpenIncidentsOn returns, through q (a transaction of the caller's), the
// open incidents whose target is target, oldest first.
func OpenIncidentsOn(ctx context.Context, q DBTX, target string) ([]incident.Incident, error) {
	var rows []incidentRow
	if err := qselect(ctx, q, &rows, `SELECT `+incidentCols+` FROM incidents WHERE closed_at IS NULL AND target = ? ORDER BY id`, target); err != nil {
		return nil, fmt.Errorf("open incidents on %s: %w", target, err)
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

// AddIncidentEventTx appends one entry to incident id's timeline through q,
// so it commits or rolls back with the caller's other writes.
func AddIncidentEventTx(ctx context.Context, q DBTX, id int64, e incident.Entry) (int64, error) {
	st := ""
	if e.Stage.Valid() {
		st = e.Stage.String()
	}
	eid, err := qinsert(ctx, q, `INSERT INTO incident_events (incident_id, at, actor, kind, stage, ref, status, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		id, Ms(e.At), e.Actor, string(e.Kind), st, e.Ref, e.Status, e.Text)
	if err != nil {
		return 0, fmt.Errorf("add incident event: %w", err)
	}
	return eid, nil
}
