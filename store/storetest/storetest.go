// Package storetest runs a test against every store dialect: SQLite always,
// PostgreSQL when OPSBOT_TEST_POSTGRES_DSN is set (each test in its own
// schema, so packages can run in parallel on one server). With
// OPSBOT_REQUIRE_SERVICES=1 a missing or unreachable PostgreSQL fails the
// test instead of skipping it.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// Each runs fn as a subtest per dialect with a fresh, migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

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
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}
