package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Sample is one value of a signal (cpu_pct, response_time_ms, …) of a
// target ("" for the host) at a time.
type Sample struct {
	Metric string  `db:"metric" json:"metric"`
	Target string  `db:"target" json:"target,omitempty"`
	At     Time    `db:"at" json:"at"`
	Value  float64 `db:"value" json:"value"`
}

// AddSamples records samples in one transaction.
func (s *Store) AddSamples(ctx context.Context, samples []Sample) error {
	if len(samples) == 0 {
		return nil
	}
	q := s.Rebind(`INSERT INTO samples (metric, target, at, value) VALUES (?, ?, ?, ?)`)
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		for _, x := range samples {
			if x.At.IsZero() {
				return fmt.Errorf("sample %s without a time", x.Metric)
			}
			if _, err := tx.ExecContext(ctx, q, x.Metric, x.Target, x.At, x.Value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add samples: %w", err)
	}
	return nil
}

// Samples returns one series' samples with from <= at <= to, oldest first.
func (s *Store) Samples(ctx context.Context, metric, target string, from, to time.Time) ([]Sample, error) {
	var out []Sample
	if err := s.Select(ctx, &out, `SELECT metric, target, at, value FROM samples
		WHERE metric = ? AND target = ? AND at >= ? AND at <= ? ORDER BY at, id`,
		metric, target, Ms(from), Ms(to)); err != nil {
		return nil, fmt.Errorf("samples %s: %w", metric, err)
	}
	return out, nil
}

// LatestSamples returns the newest sample of every series at or before t,
// ordered by target and metric.
func (s *Store) LatestSamples(ctx context.Context, t time.Time) ([]Sample, error) {
	var out []Sample
	if err := s.Select(ctx, &out, `SELECT s.metric, s.target, s.at, s.value FROM samples s
		JOIN (SELECT metric, target, MAX(at) AS at FROM samples WHERE at <= ? GROUP BY metric, target) m
		  ON s.metric = m.metric AND s.target = m.target AND s.at = m.at
		ORDER BY s.target, s.metric, s.id`, Ms(t)); err != nil {
		return nil, fmt.Errorf("latest samples: %w", err)
	}
	// Two samples of one series at the same millisecond: keep the last.
	dedup := out[:0]
	for _, x := range out {
		if n := len(dedup); n > 0 && dedup[n-1].Metric == x.Metric && dedup[n-1].Target == x.Target {
			dedup[n-1] = x
			continue
		}
		dedup = append(dedup, x)
	}
	return dedup, nil
}

// PruneSamples deletes samples older than before and, when maxPerSeries is
// positive, all but the newest maxPerSeries of each series, so the table
// stays bounded even when the sampling interval is set very short.
func (s *Store) PruneSamples(ctx context.Context, before time.Time, maxPerSeries int) (int64, error) {
	res, err := s.Exec(ctx, `DELETE FROM samples WHERE at < ?`, Ms(before))
	if err != nil {
		return 0, fmt.Errorf("prune samples: %w", err)
	}
	n, _ := res.RowsAffected()
	if maxPerSeries > 0 {
		res, err = s.Exec(ctx, `DELETE FROM samples WHERE id IN (
			SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY metric, target ORDER BY at DESC, id DESC) AS rn FROM samples) r
			WHERE rn > ?)`, maxPerSeries)
		if err != nil {
			return n, fmt.Errorf("prune samples: %w", err)
		}
		m, _ := res.RowsAffected()
		n += m
	}
	return n, nil
}

// CountSamples returns how many samples are stored.
func (s *Store) CountSamples(ctx context.Context) (int64, error) {
	var n int64
	if err := s.Get(ctx, &n, `SELECT COUNT(*) FROM samples`); err != nil {
		return 0, fmt.Errorf("count samples: %w", err)
	}
	return n, nil
}
