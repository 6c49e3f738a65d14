package storetest_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"opsbot/store"
	"opsbot/store/storetest"
)

func dialects(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, storetest.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, storetest.Postgres(t)) })
}

// Widen finds the tables in the catalog: a table that a later migration
// adds is widened too, and goose's own table is left alone.
func TestWidenCoversEveryTable(t *testing.T) {
	dialects(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.DB.ExecContext(ctx, `CREATE TABLE later_table (id BIGINT PRIMARY KEY, note TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		tables, err := storetest.Tables(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"alerts", "audit", "outbox", "later_table", "goose_db_version"} {
			if !slices.Contains(tables, want) {
				t.Fatalf("tables %v lack %s", tables, want)
			}
		}
		widened, err := storetest.Widen(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(widened) != len(tables)-1 || slices.Contains(widened, "goose_db_version") {
			t.Fatalf("widened %v of %v", widened, tables)
		}
		for _, tb := range tables {
			cols, err := storetest.Columns(ctx, s, tb)
			if err != nil {
				t.Fatal(err)
			}
			if has := slices.Contains(cols, storetest.FutureColumn); has != (tb != "goose_db_version") {
				t.Errorf("%s: columns %v", tb, cols)
			}
		}
		// goose still reads its table and finds nothing to apply.
		if applied, err := s.Migrate(ctx); err != nil || len(applied) != 0 {
			t.Fatalf("migrate after widening: %v %v", applied, err)
		}
	})
}

// The widened schema is what would catch a SELECT * coming back: sqlx
// refuses a column it has no field for. A row written by a release that
// does not know the new column gets its default.
func TestWidenedSchemaCatchesSelectStar(t *testing.T) {
	dialects(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		storetest.Widened(t, s)
		if _, err := s.AddAudit(ctx, store.AuditRow{At: store.T(time.Now()), Platform: "console", UserID: "u", Verb: "status", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
		var rows []store.AuditRow
		err := s.Select(ctx, &rows, `SELECT * FROM audit`)
		if err == nil || !strings.Contains(err.Error(), "missing destination name "+storetest.FutureColumn) {
			t.Fatalf("SELECT * on a widened table: %v", err)
		}
		if rows, err := s.RecentAudit(ctx, 5); err != nil || len(rows) != 1 || rows[0].Verb != "status" {
			t.Fatalf("recent audit %+v %v", rows, err)
		}
		var v string
		if err := s.Get(ctx, &v, `SELECT `+storetest.FutureColumn+` FROM audit`); err != nil || v != "future" {
			t.Fatalf("new column of a row written without it: %q %v", v, err)
		}
	})
}

func TestWideningMode(t *testing.T) {
	t.Setenv("OPSBOT_TEST_WIDEN", "1")
	if !storetest.Widening() {
		t.Fatal("OPSBOT_TEST_WIDEN=1 does not turn widening on")
	}
	var names []string
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		cols, err := storetest.Columns(context.Background(), s, "audit")
		if err != nil {
			t.Fatal(err)
		}
		widened := strings.HasSuffix(t.Name(), "-widened")
		if slices.Contains(cols, storetest.FutureColumn) != widened {
			t.Errorf("%s: columns %v", t.Name(), cols)
		}
		names = append(names, t.Name()[strings.LastIndexByte(t.Name(), '/')+1:])
	})
	want := []string{"sqlite", "sqlite-widened"}
	if os.Getenv("OPSBOT_TEST_POSTGRES_DSN") != "" {
		want = []string{"sqlite", "postgres", "sqlite-widened", "postgres-widened"}
	}
	if !slices.Equal(names, want) {
		t.Fatalf("ran %v, want %v", names, want)
	}
}
