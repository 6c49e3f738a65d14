package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Host is one row of the fleet: a host running `opsbot agent`. Labels,
// Targets and Metrics are JSON the fleet package owns.
type Host struct {
	Name           string `db:"name"`
	Version        string `db:"version"`
	Labels         string `db:"labels"`
	Targets        string `db:"targets"`
	HeartbeatEvery int64  `db:"heartbeat_every_ms"`
	Incarnation    string `db:"incarnation"`
	StartedAt      Time   `db:"started_at"`
	LastHeartbeat  Time   `db:"last_heartbeat"`
	StoppedAt      Time   `db:"stopped_at"`
	Metrics        string `db:"metrics"`
}

const hostCols = `name, version, labels, targets, heartbeat_every_ms, incarnation, started_at, last_heartbeat, stopped_at, metrics`

// RegisterHost inserts or replaces the row of h.Name: an agent that starts
// again takes its row over with its new incarnation, targets and labels.
func (s *Store) RegisterHost(ctx context.Context, h Host) error {
	if h.Name == "" || h.HeartbeatEvery <= 0 {
		return errors.New("register host: name and heartbeat interval are required")
	}
	if h.Metrics == "" {
		h.Metrics = "{}"
	}
	_, err := s.Exec(ctx, `INSERT INTO hosts (`+hostCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
		ON CONFLICT (name) DO UPDATE SET version = excluded.version, labels = excluded.labels, targets = excluded.targets,
		heartbeat_every_ms = excluded.heartbeat_every_ms, incarnation = excluded.incarnation, started_at = excluded.started_at,
		last_heartbeat = excluded.last_heartbeat, stopped_at = NULL, metrics = excluded.metrics`,
		h.Name, h.Version, h.Labels, h.Targets, h.HeartbeatEvery, h.Incarnation, h.StartedAt, h.LastHeartbeat, h.Metrics)
	if err != nil {
		return fmt.Errorf("register host %s: %w", h.Name, err)
	}
	return nil
}

// HostHeartbeat records that the agent of name (its incarnation) is alive
// at at; metrics, when not empty, replaces the last metrics. It returns
// false when the row belongs to another incarnation (a second agent took
// the name over) or is gone.
func (s *Store) HostHeartbeat(ctx context.Context, name, incarnation string, at time.Time, metrics string) (bool, error) {
	q := `UPDATE hosts SET last_heartbeat = ? WHERE name = ? AND incarnation = ?`
	args := []any{Ms(at), name, incarnation}
	if metrics != "" {
		q = `UPDATE hosts SET last_heartbeat = ?, metrics = ? WHERE name = ? AND incarnation = ?`
		args = []any{Ms(at), metrics, name, incarnation}
	}
	res, err := s.Exec(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("heartbeat of %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// StopHost marks the agent of name stopped cleanly at at: no host_down.
func (s *Store) StopHost(ctx context.Context, name, incarnation string, at time.Time) error {
	if _, err := s.Exec(ctx, `UPDATE hosts SET stopped_at = ? WHERE name = ? AND incarnation = ?`, Ms(at), name, incarnation); err != nil {
		return fmt.Errorf("stop host %s: %w", name, err)
	}
	return nil
}

// Hosts lists the fleet by name.
func (s *Store) Hosts(ctx context.Context) ([]Host, error) {
	var out []Host
	if err := s.Select(ctx, &out, `SELECT `+hostCols+` FROM hosts ORDER BY name`); err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	return out, nil
}

// HostByName returns one host (ErrNotFound when unknown).
func (s *Store) HostByName(ctx context.Context, name string) (Host, error) {
	var h Host
	if err := s.Get(ctx, &h, `SELECT `+hostCols+` FROM hosts WHERE name = ?`, name); err != nil {
		if errors.Is(err, ErrNotFound) {
			return h, err
		}
		return h, fmt.Errorf("host %s: %w", name, err)
	}
	return h, nil
}

// RemoveHost forgets a host (decommissioned).
func (s *Store) RemoveHost(ctx context.Context, name string) error {
	if _, err := s.Exec(ctx, `DELETE FROM hosts WHERE name = ?`, name); err != nil {
		return fmt.Errorf("remove host %s: %w", name, err)
	}
	return nil
}
