// Package store is opsbot's SQL store: sqlx over SQLite (modernc.org/sqlite,
// no cgo; the default) or PostgreSQL (pgx's database/sql driver), with
// versioned migrations per dialect embedded in the binary. One file per
// aggregate. Times are stored as Unix milliseconds (BIGINT) in both dialects
// so ordering and comparison behave the same everywhere.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing/fstest"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // postgres driver "pgx"
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // sqlite driver "sqlite"
)

// Migrations are written once, in migrations/*.sql, with {{ID}} where the
// dialects differ (an auto-increment key); provider fills it per dialect.
//
//go:embed migrations/*.sql
var migrations embed.FS

// dialectIDs is the auto-increment primary key of each dialect.
var dialectIDs = map[string]string{
	"sqlite":   "INTEGER PRIMARY KEY AUTOINCREMENT",
	"postgres": "BIGSERIAL PRIMARY KEY",
}

// ErrNotFound is returned when a row asked for by id does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique or state condition refuses a write.
var ErrConflict = errors.New("conflict")

// Store is the SQL store.
type Store struct {
	DB      *sqlx.DB
	Dialect string // "sqlite" or "postgres"
}

// Open connects to the store and checks the connection. It does not migrate.
func Open(ctx context.Context, driverName, dsn string) (*Store, error) {
	var (
		db  *sqlx.DB
		err error
	)
	switch driverName {
	case "sqlite":
		path := strings.TrimPrefix(dsn, "file:")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path != ":memory:" && path != "" {
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				return nil, fmt.Errorf("open store: create folder: %w", err)
			}
		}
		db, err = sqlx.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		// One writer: SQLite serialises writes anyway; one connection avoids
		// SQLITE_BUSY between our own goroutines. Inside a transaction use
		// only the transaction, never s.DB, or the call waits forever.
		db.SetMaxOpenConns(1)
	case "postgres":
		db, err = sqlx.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		db.SetMaxOpenConns(10)
		db.SetConnMaxIdleTime(5 * time.Minute)
	default:
		return nil, fmt.Errorf("open store: unknown driver %q", driverName)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store: %s unreachable: %w", driverName, oneLine{err})
	}
	return &Store{DB: db, Dialect: driverName}, nil
}

// oneLine keeps a driver's multi-line error (pgx lists every address it
// tried) on one line for the log and the terminal; errors.Is/As still see it.
type oneLine struct{ err error }

func (o oneLine) Error() string {
	return strings.Join(strings.Fields(strings.ReplaceAll(o.err.Error(), "\n", "; ")), " ")
}

func (o oneLine) Unwrap() error { return o.err }

// Close closes the connection pool.
func (s *Store) Close() error { return s.DB.Close() }

// Ping checks the store answers a real query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.DB.GetContext(ctx, &one, "SELECT 1"); err != nil {
		return fmt.Errorf("store ping: %w", err)
	}
	return nil
}

func (s *Store) provider() (*goose.Provider, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	sub := fstest.MapFS{}
	for _, f := range files {
		b, err := migrations.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		sub[path.Base(f)] = &fstest.MapFile{Data: []byte(strings.ReplaceAll(string(b), "{{ID}}", dialectIDs[s.Dialect]))}
	}
	dialect := goose.DialectSQLite3
	if s.Dialect == "postgres" {
		dialect = goose.DialectPostgres
	}
	var opts []goose.ProviderOption
	if s.Dialect == "postgres" {
		// Replicas that start together take turns migrating: an advisory
		// lock per schema (so stores in other schemas do not wait).
		var schema string
		if err := s.DB.QueryRowContext(context.Background(), `SELECT current_schema()`).Scan(&schema); err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		h := fnv.New64a()
		_, _ = h.Write([]byte("opsbot-migrate:" + schema))
		l, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64() >> 1)))
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	p, err := goose.NewProvider(dialect, s.DB.DB, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration and returns the versions applied.
func (s *Store) Migrate(ctx context.Context) ([]int64, error) {
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	out := make([]int64, 0, len(res))
	for _, r := range res {
		out = append(out, r.Source.Version)
	}
	return out, nil
}

// Version returns the current schema version.
func (s *Store) Version(ctx context.Context) (int64, error) {
	p, err := s.provider()
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// Rebind turns ? placeholders into the dialect's.
func (s *Store) Rebind(q string) string { return s.DB.Rebind(q) }

// Exec runs a statement with ? placeholders.
func (s *Store) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.DB.ExecContext(ctx, s.DB.Rebind(q), validArgs(args)...)
}

// Get scans one row into dest (ErrNotFound when there is none).
func (s *Store) Get(ctx context.Context, dest any, q string, args ...any) error {
	err := s.DB.GetContext(ctx, dest, s.DB.Rebind(q), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// Select scans rows into dest, a pointer to a slice.
func (s *Store) Select(ctx context.Context, dest any, q string, args ...any) error {
	return s.DB.SelectContext(ctx, dest, s.DB.Rebind(q), args...)
}

// InsertID inserts and returns the new row's id (RETURNING id works on
// both SQLite ≥ 3.35 and PostgreSQL).
func (s *Store) InsertID(ctx context.Context, q string, args ...any) (int64, error) {
	var id int64
	if err := s.DB.QueryRowxContext(ctx, s.DB.Rebind(q+" RETURNING id"), validArgs(args)...).Scan(&id); err != nil {
		return 0, err
	}
	return id, nil
}

// Tx runs fn in a transaction, committing when it returns nil.
func (s *Store) Tx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Time is a time stored as Unix milliseconds; the zero time is NULL.
type Time struct{ time.Time }

// T wraps a time.Time.
func T(t time.Time) Time { return Time{t} }

// Value implements driver.Valuer.
func (t Time) Value() (driver.Value, error) {
	if t.IsZero() {
		return nil, nil
	}
	return t.UnixMilli(), nil
}

// Scan implements sql.Scanner.
func (t *Time) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		t.Time = time.Time{}
	case int64:
		t.Time = time.UnixMilli(x)
	case float64:
		t.Time = time.UnixMilli(int64(x))
	default:
		return fmt.Errorf("store time: cannot scan %T", v)
	}
	return nil
}

// Ms converts a time to Unix milliseconds for a query argument.
func Ms(t time.Time) int64 { return t.UnixMilli() }
