// Package storetest runs a test against every store dialect: SQLite always,
// PostgreSQL when OPSBOT_TEST_POSTGRES_DSN is set (each test in its own
// schema, so packages can run in parallel on one server). With
// OPSBOT_REQUIRE_SERVICES=1 a missing or unreachable PostgreSQL fails the
// test instead of skipping it.
//
// Each can also run a case a second time per dialect on a widened schema:
// after migrating, every table gets an extra column, as the migration of a
// newer release would add it while this release's replica still runs. The
// store names its columns in every query, so the case must pass unchanged.
// That mode is on with OPSBOT_TEST_WIDEN=1, or for a whole package whose
// TestMain calls WidenEach.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"opsbot/store"
)

// Required reports whether services must be present (CI).
func Required() bool { return os.Getenv("OPSBOT_REQUIRE_SERVICES") == "1" }

// Skip skips (or, when services are required, fails) t with the reason.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("required service missing: "+format, args...)
	}
	t.Skipf(format, args...)
}

// Each runs fn as a subtest per dialect with a fresh, migrated store; in
// widened mode (see Widening) also as "sqlite-widened" and
// "postgres-widened" on a schema that Widen changed after migrating.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
	if Widening() {
		t.Run("sqlite-widened", func(t *testing.T) { fn(t, Widened(t, SQLite(t))) })
		t.Run("postgres-widened", func(t *testing.T) { fn(t, Widened(t, Postgres(t))) })
	}
}

// EachWidened runs fn per dialect on a widened schema only.
func EachWidened(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite-widened", func(t *testing.T) { fn(t, Widened(t, SQLite(t))) })
	t.Run("postgres-widened", func(t *testing.T) { fn(t, Widened(t, Postgres(t))) })
}

// widenEach is set once, by a package's TestMain, before any test runs.
var widenEach bool

// WidenEach makes Each of the calling test binary run every case on a
// widened schema too. Call it from TestMain, before m.Run.
func WidenEach() { widenEach = true }

// Widening reports whether Each runs cases on a widened schema too.
func Widening() bool { return widenEach || os.Getenv("OPSBOT_TEST_WIDEN") == "1" }

// FutureColumn is the column Widen adds to every table. NOT NULL with a
// default, as an additive migration must be: rows inserted by a release
// that does not know it still get a value.
const FutureColumn = "opsbot_future_col"

// Widened widens s (see Widen) and returns it; it fails t on error.
func Widened(t testing.TB, s *store.Store) *store.Store {
	t.Helper()
	if _, err := Widen(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Widen adds FutureColumn to every table of the store's schema (found in
// the catalog, so tables of later migrations are covered too), except
// goose's version table, whose queries are goose's. It returns the tables
// it changed.
func Widen(ctx context.Context, s *store.Store) ([]string, error) {
	tables, err := Tables(ctx, s)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, tb := range tables {
		if tb == "goose_db_version" {
			continue
		}
		q := fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s TEXT NOT NULL DEFAULT 'future'`, quoteIdent(tb), FutureColumn)
		if _, err := s.DB.ExecContext(ctx, q); err != nil {
			return out, fmt.Errorf("widen %s: %w", tb, err)
		}
		out = append(out, tb)
	}
	return out, nil
}

// Tables lists the base tables of the store's schema (the schema of the
// search path on PostgreSQL), by name.
func Tables(ctx context.Context, s *store.Store) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if s.Dialect == "postgres" {
		q = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	var names []string
	if err := s.DB.SelectContext(ctx, &names, q); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("list tables: none (not migrated?)")
	}
	return names, nil
}

// Columns lists the columns of table, by name.
func Columns(ctx context.Context, s *store.Store, table string) ([]string, error) {
	q := `SELECT name FROM pragma_table_info(?) ORDER BY name`
	if s.Dialect == "postgres" {
		q = `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? ORDER BY column_name`
	}
	var names []string
	if err := s.DB.SelectContext(ctx, &names, s.Rebind(q), table); err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	return names, nil
}

func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// SQLite returns a fresh migrated SQLite store in t's temp dir.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "opsbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// PostgresDSN returns a DSN for a fresh schema of its own, dropped at cleanup.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("OPSBOT_TEST_POSTGRES_DSN")
	if dsn == "" {
		Skip(t, "OPSBOT_TEST_POSTGRES_DSN not set")
	}
	admin, err := store.Open(context.Background(), "postgres", dsn)
	if err != nil {
		Skip(t, "postgres unreachable: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.DB.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.DB.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	return withSearchPath(dsn, schema)
}

// Postgres returns a fresh migrated store in a schema of its own.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	dsn := PostgresDSN(t)
	s, err := store.Open(context.Background(), "postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			// Tests need no durability across a crash of the server: commits
			// return before the WAL flush.
			q.Set("synchronous_commit", "off")
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema + " synchronous_commit=off"
}
