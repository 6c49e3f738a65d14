package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// TryLock takes the named lock for holder until now+ttl. It succeeds when
// the lock is free, expired, or already held by holder (which extends it).
// It works across processes and replicas sharing the store.
func (s *Store) TryLock(ctx context.Context, name, holder string, ttl time.Duration, now time.Time) (bool, error) {
	exp := Ms(now.Add(ttl))
	var ok bool
	err := s.Tx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE locks SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)`),
			holder, exp, name, holder, Ms(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			ok = true
			return nil
		}
		res, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO locks (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`), name, holder, exp)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	return ok, nil
}

// Unlock releases the named lock if holder has it.
func (s *Store) Unlock(ctx context.Context, name, holder string) error {
	if _, err := s.Exec(ctx, `DELETE FROM locks WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("unlock %s: %w", name, err)
	}
	return nil
}

// LockHolder returns who holds the named lock now ("" when free).
func (s *Store) LockHolder(ctx context.Context, name string, now time.Time) (string, error) {
	var h string
	err := s.Get(ctx, &h, `SELECT holder FROM locks WHERE name = ? AND expires_at >= ?`, name, Ms(now))
	if err == ErrNotFound {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("lock holder %s: %w", name, err)
	}
	return h, nil
}

// dbNowMs is the database's clock in Unix milliseconds, as SQL. Leases are
// timed by it so that replicas whose clocks disagree still agree on when a
// lease ends; SQLite's clock is the host's (one replica uses it).
func (s *Store) dbNowMs() string {
	if s.Dialect == "postgres" {
		return `CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)`
	}
	return `CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)`
}

// TryLease takes or renews the named lease for holder for ttl of the
// database's clock, and returns who holds it afterwards: holder itself when
// it was free, expired or already its own. It shares the locks table with
// TryLock (one row per name), whose callers time their locks themselves.
//
// The decision is one autocommitted statement, never a transaction left
// open: a replica paused between two statements would hold the row's lock
// and keep every other replica from taking its expired lease.
func (s *Store) TryLease(ctx context.Context, name, holder string, ttl time.Duration) (string, error) {
	now := s.dbNowMs()
	var who string
	err := s.Get(ctx, &who, `INSERT INTO locks (name, holder, expires_at) VALUES (?, ?, `+now+` + ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE locks.holder = excluded.holder OR locks.expires_at < `+now+`
		RETURNING holder`, name, holder, ttl.Milliseconds())
	if err == ErrNotFound {
		// Held by another: who it is only informs the caller's log (and
		// the row may have been released meanwhile).
		err = s.Get(ctx, &who, `SELECT holder FROM locks WHERE name = ?`, name)
		if err == ErrNotFound {
			who, err = "", nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("lease %s: %w", name, err)
	}
	return who, nil
}

// LeaseHolder returns who holds the named lease now by the database's clock
// ("" when it is free or expired).
func (s *Store) LeaseHolder(ctx context.Context, name string) (string, error) {
	var h string
	err := s.Get(ctx, &h, `SELECT holder FROM locks WHERE name = ? AND expires_at >= `+s.dbNowMs(), name)
	if err == ErrNotFound {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("lease holder %s: %w", name, err)
	}
	return h, nil
}
