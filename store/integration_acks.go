package store

import (
	"context"
	"fmt"
)

// IntegrationAck is an alert acknowledged (or resolved) in a paging
// integration, as its webhook told.
type IntegrationAck struct {
	AlertID     int64  `db:"alert_id"`
	Integration string `db:"integration"`
	Action      string `db:"action"` // acknowledged | resolved
	By          string `db:"by_whom"`
	At          Time   `db:"at"`
	EventID     string `db:"event_id"`
}

const integrationAckCols = `alert_id, integration, action, by_whom, at, event_id`

// RecordIntegrationAck keeps the first word an integration sent about
// alert a.AlertID; false when one was kept already (a redelivery, or a
// resolve after the ack).
func RecordIntegrationAck(ctx context.Context, q DBTX, a IntegrationAck) (bool, error) {
	res, err := qexec(ctx, q, `INSERT INTO integration_acks (`+integrationAckCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (alert_id) DO NOTHING`, a.AlertID, a.Integration, a.Action, a.By, Ms(a.At.Time), a.EventID)
	if err != nil {
		return false, fmt.Errorf("record integration ack of alert %d: %w", a.AlertID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record integration ack of alert %d: %w", a.AlertID, err)
	}
	return n == 1, nil
}

// IntegrationAckOf returns what an integration said about alert id
// (ErrNotFound when nothing).
func IntegrationAckOf(ctx context.Context, q DBTX, id int64) (IntegrationAck, error) {
	var a IntegrationAck
	if err := qget(ctx, q, &a, `SELECT `+integrationAckCols+` FROM integration_acks WHERE alert_id = ?`, id); err != nil {
		return a, fmt.Errorf("integration ack of alert %d: %w", id, err)
	}
	return a, nil
}
