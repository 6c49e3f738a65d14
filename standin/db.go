package standin

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

const schema = `
CREATE TABLE IF NOT EXISTS users (
	id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
	id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, started_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
	id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL,
	tokens INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
	id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, filename TEXT NOT NULL, size INTEGER NOT NULL,
	created_at INTEGER NOT NULL);
`

// openDB opens the served database in WAL mode, as the real backend does,
// and makes sure its tables exist.
func openDB(path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("standin: database folder: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, fmt.Errorf("standin: open database: %w", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("standin: create tables: %w", err)
	}
	return db, nil
}

var words = []string{"derivative", "photosynthesis", "essay", "grammar", "quadratic", "history", "vector",
	"molecule", "poem", "integral", "probability", "revolution", "syntax", "cell", "equation", "climate"}

// writeRows inserts rows at the configured rate, each in its own
// transaction, as a live service does.
func (b *Backend) writeRows(ctx context.Context, db *sql.DB) {
	if b.opts.RowsPerSecond < 0 {
		return
	}
	every := time.Duration(float64(time.Second) / b.opts.RowsPerSecond)
	if every < time.Millisecond {
		every = time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := b.insertRow(ctx, db); err != nil {
			if ctx.Err() != nil {
				return
			}
			b.opts.Log.Debug("stand-in insert failed", "err", err)
			continue
		}
		b.rows.Add(1)
	}
}

func (b *Backend) insertRow(ctx context.Context, db *sql.DB) error {
	b.logMu.Lock()
	n := b.rng.IntN(100)
	w1, w2 := words[b.rng.IntN(len(words))], words[b.rng.IntN(len(words))]
	tokens := 20 + b.rng.IntN(800)
	b.logMu.Unlock()
	now := b.opts.Now().UnixMilli()
	var err error
	switch {
	case n < 3:
		_, err = db.ExecContext(ctx, `INSERT INTO users (name, email, created_at) VALUES (?, ?, ?)`,
			"student-"+w1, w1+"@example.edu", now)
	case n < 10:
		_, err = db.ExecContext(ctx, `INSERT INTO sessions (user_id, started_at) VALUES (?, ?)`, 1+n, now)
	case n < 13:
		_, err = db.ExecContext(ctx, `INSERT INTO uploads (user_id, filename, size, created_at) VALUES (?, ?, ?, ?)`,
			1+n, w1+".png", tokens*100, now)
	default:
		role := "user"
		if n%2 == 0 {
			role = "assistant"
		}
		_, err = db.ExecContext(ctx, `INSERT INTO messages (session_id, role, content, tokens, created_at) VALUES (?, ?, ?, ?, ?)`,
			1+n%7, role, "explain "+w1+" and "+w2, tokens, now)
	}
	return err
}
