package checks

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // postgres driver "pgx"
	_ "modernc.org/sqlite"             // sqlite driver "sqlite"

	"opsbot/config"
)

// newSQL opens the check's database lazily (a database down at start is a
// failing check, not a bot that will not start) and runs its query in a
// read-only transaction (PostgreSQL) or a read-only connection (SQLite).
func newSQL(c config.Check, getenv func(string) string, targets []config.Target) (func(ctx context.Context, now time.Time) ([]Sample, error), error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var dsn string
	if c.DSNEnv == "" {
		// The target's own database, as configured for backups.
		for _, t := range targets {
			if t.Name == c.Target {
				if c.Driver == "" {
					c.Driver = t.Database.Driver
				}
				dsn = t.Database.Path
				if c.Driver == "postgres" {
					dsn = t.Database.DSN.Reveal()
				}
			}
		}
		if dsn == "" {
			return nil, fmt.Errorf("target %q has no database", c.Target)
		}
	} else {
		dsn = getenv(c.DSNEnv)
	}
	if dsn == "" && c.DSNEnv != "" {
		if f := getenv(c.DSNEnv + "_FILE"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("read %s_FILE: %w", c.DSNEnv, err)
			}
			dsn = strings.TrimSpace(string(b))
		}
	}
	if dsn == "" {
		return nil, fmt.Errorf("%s (or %s_FILE) is not set", c.DSNEnv, c.DSNEnv)
	}
	var db *sql.DB
	var err error
	switch c.Driver {
	case "sqlite":
		if !strings.HasPrefix(dsn, "file:") {
			dsn = "file:" + dsn
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		db, err = sql.Open("sqlite", dsn+sep+"mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	case "postgres":
		db, err = sql.Open("pgx", dsn)
	default:
		return nil, fmt.Errorf("unknown driver %q", c.Driver)
	}
	if err != nil {
		// The driver's error may quote the DSN: say only which variable.
		return nil, fmt.Errorf("open the database: bad DSN")
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(time.Minute)
	ch := &Check{cfg: c}
	return func(ctx context.Context, _ time.Time) ([]Sample, error) {
		var v sql.NullFloat64
		if c.Driver == "postgres" {
			tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			if err != nil {
				return nil, fmt.Errorf("sql: begin: %w", err)
			}
			defer tx.Rollback()
			if err := tx.QueryRowContext(ctx, c.Query).Scan(&v); err != nil {
				return nil, fmt.Errorf("sql: %w", err)
			}
		} else if err := db.QueryRowContext(ctx, c.Query).Scan(&v); err != nil {
			return nil, fmt.Errorf("sql: %w", err)
		}
		if !v.Valid {
			return nil, fmt.Errorf("sql: the query returned NULL")
		}
		return []Sample{ch.sample("", v.Float64)}, nil
	}, nil
}
