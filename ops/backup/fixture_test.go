package backup_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"opsbot/config"
	"opsbot/ops/backup"
	"opsbot/store"
)

// fixture is a served target on disk: a SQLite database in WAL mode, its
// configuration, uploads, stop/start argv that log what they did, and a
// health endpoint whose answer the test sets.
type fixture struct {
	t       testing.TB
	dir     string // workdir
	db      string
	cfg     *config.Config
	svc     *backup.Service
	st      *store.Store
	healthy atomic.Bool
	clock   *clock
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newFixture(t testing.TB, st *store.Store, workdir string) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: workdir, st: st, clock: &clock{now: time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)}}
	f.healthy.Store(true)
	must(t, os.MkdirAll(filepath.Join(workdir, "data"), 0o755))
	f.db = filepath.Join(workdir, "data", "ai_tutor.db")
	db := openLive(t, f.db)
	_, err := db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
		CREATE TABLE messages (id INTEGER PRIMARY KEY, user_id INTEGER, body TEXT)`)
	must(t, err)
	for i := 0; i < 200; i++ {
		_, err := db.Exec(`INSERT INTO users (name) VALUES (?)`, fmt.Sprintf("user%d", i))
		must(t, err)
	}
	db.Close()
	writeFile(t, filepath.Join(workdir, ".env"), "API_KEY=sk-test-123\n")
	writeFile(t, filepath.Join(workdir, "nginx", "nginx.conf"), "server { listen 80; }\n")
	writeFile(t, filepath.Join(workdir, "monitoring", "prometheus.yml"), "scrape_configs: []\n")
	writeFile(t, filepath.Join(workdir, "uploads", "notes", "lesson.txt"), string(make([]byte, 300<<10)))
	writeRandom(t, filepath.Join(workdir, "uploads", "photo.jpg"), 1<<20)
	writeFile(t, filepath.Join(workdir, "uploads", "tiny.png"), "png")

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.healthy.Load() {
			w.WriteHeader(200)
			return
		}
		w.WriteHeader(503)
	}))
	t.Cleanup(srv.Close)
	f.cfg = config.Default()
	f.cfg.Targets = []config.Target{fixtureTarget(workdir, srv.URL+"/health")}
	f.svc = backup.New(st, func() *config.Config { return f.cfg }, quietLog())
	f.svc.Now = f.clock.Now
	f.svc.HealthInterval = 20 * time.Millisecond
	return f
}

// fixtureTarget is the target config of a fixture's workdir.
func fixtureTarget(workdir, healthURL string) config.Target {
	return config.Target{
		Name:           "api",
		HealthURL:      healthURL,
		Workdir:        workdir,
		Stop:           []string{"sh", "-c", "echo stop >> actions.log"},
		Start:          []string{"sh", "-c", "echo start >> actions.log"},
		CommandTimeout: 10 * time.Second,
		HealthDeadline: 2 * time.Second,
		Database:       config.Database{Driver: "sqlite", Path: "data/ai_tutor.db"},
		Backup:         config.Backup{Dir: filepath.Join(workdir, "backups"), ConfigPaths: []string{".env", "nginx", "monitoring"}, Retention: 30 * 24 * time.Hour, Prefix: "ai_tutor", Timeout: time.Minute},
	}
}

func (f *fixture) target() *config.Target { return &f.cfg.Targets[0] }

func openLive(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)")
	must(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func countRows(t testing.TB, path, table string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	must(t, err)
	defer db.Close()
	var n int64
	must(t, db.QueryRow(`SELECT count(*) FROM `+table).Scan(&n))
	return n
}

// writer commits small transactions to the live database until stopped,
// as the served backend does.
type writer struct {
	stop    chan struct{}
	done    chan struct{}
	commits atomic.Int64
	err     error
}

func startWriter(t testing.TB, path string) *writer {
	db := openLive(t, path)
	db.SetMaxOpenConns(1)
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	body := string(make([]byte, 2000))
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			if _, err := db.Exec(`INSERT INTO messages (user_id, body) VALUES (?, ?)`, i%200, body); err != nil {
				w.err = err
				return
			}
			w.commits.Add(1)
		}
	}()
	return w
}

func (w *writer) Stop() error { close(w.stop); <-w.done; return w.err }

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(content), 0o644))
}

func writeRandom(t testing.TB, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, b, 0o644))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func readActions(t testing.TB, dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "actions.log"))
	if os.IsNotExist(err) {
		return ""
	}
	must(t, err)
	return string(b)
}

func ctx() context.Context { return context.Background() }

func configPG(dump []string) config.Database {
	return config.Database{Driver: "postgres", Dump: dump}
}
