package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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
	db, err := openCopy(path)
	if err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count rows: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	out := make(map[string]int64, len(names))
	for _, n := range names {
		var c int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+strings.ReplaceAll(n, `"`, `""`)+`"`).Scan(&c); err != nil {
			return nil, fmt.Errorf("count rows of %s: %w", n, err)
		}
		out[n] = c
	}
	return out, nil
}

// IntegrityCheck runs PRAGMA integrity_check on the copy at path; nil means "ok".
func IntegrityCheck(ctx context.Context, path string) error {
	db, err := openCopy(path)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check(20)`)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(msgs) == 1 && msgs[0] == "ok" {
		return nil
	}
	if len(msgs) > 3 {
		msgs = append(msgs[:3], fmt.Sprintf("… %d more", len(msgs)-3))
	}
	return fmt.Errorf("integrity check: %s", strings.Join(msgs, "; "))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
