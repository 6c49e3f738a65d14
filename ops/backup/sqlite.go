package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"modernc.org/sqlite"
)

// backuper is the modernc driver connection's one-step online backup.
type backuper interface {
	NewBackup(dstURI string) (*sqlite.Backup, error)
}

// CopySQLite writes a consistent copy of the SQLite database at src to dst
// while other processes keep writing to it. It uses SQLite's online backup
// in one step: all pages under one read transaction, so a writer in WAL mode
// goes on committing and the copy is the snapshot at the step's start (a
// loop of small steps restarts on every foreign write and may never end).
// The copy is written to dst+".tmp" and renamed when complete; on any error
// nothing is left at either name.
func CopySQLite(ctx context.Context, src, dst string) (err error) {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("copy database: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("copy database: open %s: %w", src, err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("copy database: open %s: %w", src, err)
	}
	defer conn.Close()
	tmp := dst + ".tmp"
	_ = os.Remove(tmp)
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
			_ = os.Remove(tmp + "-journal")
		}
	}()
	err = conn.Raw(func(dc any) error {
		bk, ok := dc.(backuper)
		if !ok {
			return errors.New("driver has no online backup")
		}
		b, err := bk.NewBackup(tmp)
		if err != nil {
			return err
		}
		_, stepErr := b.Step(-1)
		finErr := b.Finish()
		if stepErr != nil {
			// Finish repeats the step's error.
			return stepErr
		}
		return finErr
	})
	if err != nil {
		// The driver words an I/O error "disk I/O error: not an error (778)".
		msg := strings.Replace(err.Error(), ": not an error", "", 1)
		return fmt.Errorf("copy database %s: %s%s", src, msg, spaceHint(filepath.Dir(dst), src))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("copy database: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("copy database: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("copy database: %w", err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// openCopy opens a database copy that nobody else writes, read-only.
func openCopy(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// RowCounts counts the rows of every table of the database copy at path.
func RowCounts(ctx context.Context, path string) (map[string]int64, error) {
	counts, _, err := tableCounts(ctx, path, false)
	return counts, err
}

// TableCounts returns the rows of every table of the database copy at
// path from the copy's own statistics where it has them: the row count
// ANALYZE left in sqlite_stat1, read without scanning the table. Those
// tables are listed in estimated (the figure is as of the last ANALYZE);
// a table without statistics is counted exactly.
func TableCounts(ctx context.Context, path string) (counts map[string]int64, estimated []string, err error) {
	return tableCounts(ctx, path, true)
}

func tableCounts(ctx context.Context, path string, useStats bool) (map[string]int64, []string, error) {
	db, err := openCopy(path)
	if err != nil {
		return nil, nil, fmt.Errorf("count rows: %w", err)
	}
	defer db.Close()
	names, err := queryStrings(ctx, db, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, nil, fmt.Errorf("count rows: %w", err)
	}
	stats := map[string]int64{}
	if useStats {
		if stats, err = statRows(ctx, db); err != nil {
			return nil, nil, fmt.Errorf("count rows: %w", err)
		}
	}
	out := make(map[string]int64, len(names))
	var estimated []string
	for _, n := range names {
		if c, ok := stats[n]; ok {
			out[n] = c
			estimated = append(estimated, n)
			continue
		}
		var c int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+strings.ReplaceAll(n, `"`, `""`)+`"`).Scan(&c); err != nil {
			return nil, nil, fmt.Errorf("count rows of %s: %w", n, err)
		}
		out[n] = c
	}
	return out, estimated, nil
}

// statRows reads each table's row count from sqlite_stat1 (the first
// figure of a row's stat), if the database has been analysed.
func statRows(ctx context.Context, db *sql.DB) (map[string]int64, error) {
	has, err := queryStrings(ctx, db, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'`)
	if err != nil || len(has) == 0 {
		return map[string]int64{}, err
	}
	rows, err := db.QueryContext(ctx, `SELECT tbl, stat FROM sqlite_stat1 ORDER BY tbl, idx IS NOT NULL, idx`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var tbl string
		var stat sql.NullString
		if err := rows.Scan(&tbl, &stat); err != nil {
			return nil, err
		}
		if _, seen := out[tbl]; seen {
			continue
		}
		f, _, _ := strings.Cut(stat.String, " ")
		if n, err := strconv.ParseInt(f, 10, 64); err == nil && n >= 0 {
			out[tbl] = n
		}
	}
	return out, rows.Err()
}

func queryStrings(ctx context.Context, db *sql.DB, q string) ([]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// IntegrityCheck runs PRAGMA integrity_check on the copy at path; nil means "ok".
func IntegrityCheck(ctx context.Context, path string) error {
	return check(ctx, path, "integrity_check")
}

// QuickCheck runs PRAGMA quick_check on the copy at path; nil means "ok".
// It reads every page and checks the b-trees, the free list and every
// record's format, as integrity_check does, but not that each index holds
// the same rows as its table (the costly part).
func QuickCheck(ctx context.Context, path string) error {
	return check(ctx, path, "quick_check")
}

func check(ctx context.Context, path, pragma string) error {
	name := strings.ReplaceAll(pragma, "_", " ")
	db, err := openCopy(path)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA `+pragma+`(20)`)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(msgs) == 1 && msgs[0] == "ok" {
		return nil
	}
	if len(msgs) > 3 {
		msgs = append(msgs[:3], fmt.Sprintf("… %d more", len(msgs)-3))
	}
	return fmt.Errorf("%s: %s", name, strings.Join(msgs, "; "))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
