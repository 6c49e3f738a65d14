package store

import (
	"context"
	"fmt"
	"time"
)

// RetentionPolicy bounds the bot's own tables.
type RetentionPolicy struct {
	Audit, Samples, Outbox, Events, Inbox time.Duration
}

// Prune deletes rows older than the policy allows and returns how many.
// Open incidents' events are never pruned.
func (s *Store) Prune(ctx context.Context, p RetentionPolicy, now time.Time) (int64, error) {
	var total int64
	run := func(q string, age time.Duration) error {
		if age <= 0 {
			return nil
		}
		res, err := s.Exec(ctx, q, Ms(now.Add(-age)))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		total += n
		return nil
	}
	steps := []struct {
		q   string
		age time.Duration
	}{
		{`DELETE FROM audit WHERE at < ?`, p.Audit},
		{`DELETE FROM samples WHERE at < ?`, p.Samples},
		{`DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?`, p.Outbox},
		// Observations the pipeline has applied, kept a short while for
		// tracing an alert back to what was seen.
		{`DELETE FROM alert_inbox WHERE processed_at IS NOT NULL AND processed_at < ?`, p.Inbox},
		// Replies whose alert was never announced (silenced until it ended).
		{`DELETE FROM alert_replies WHERE created_at < ?`, p.Events},
		{`DELETE FROM confirmations WHERE expires_at < ?`, p.Outbox},
		{`DELETE FROM job_runs WHERE started_at < ?`, p.Events},
		// Alerts resolved long ago, with their message links; references to
		// messages that old; silences that ended long ago.
		{`DELETE FROM alert_messages WHERE alert_id IN (SELECT id FROM alerts WHERE resolved_at IS NOT NULL AND resolved_at < ?)`, p.Events},
		{`DELETE FROM alert_events WHERE alert_id IN (SELECT id FROM alerts WHERE resolved_at IS NOT NULL AND resolved_at < ?)`, p.Events},
		{`DELETE FROM alerts WHERE resolved_at IS NOT NULL AND resolved_at < ?`, p.Events},
		{`DELETE FROM message_refs WHERE created_at < ?`, p.Events},
		{`DELETE FROM silences WHERE ends_at < ?`, p.Events},
	}
	for _, st := range steps {
		if err := run(st.q, st.age); err != nil {
			return total, fmt.Errorf("prune: %w", err)
		}
	}
	return total, nil
}
