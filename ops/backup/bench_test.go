package backup

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"opsbot/ops"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks against the peer tools, in the same run on the same data.
// They generate their data (about 500 MB each) in a temp folder that is
// removed afterwards. Run once:
//
//	go test -run '^$' -bench . -benchtime 1x ./ops/backup
//
// python3, sqlite3 and pigz come from Debian (apt-get install sqlite3 pigz);
// a missing one is reported and its figure skipped.

const benchDBBytes = 500 << 20

func makeBenchDB(b *testing.B, path string) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE messages (id INTEGER PRIMARY KEY, user_id INTEGER, created_at INTEGER, body TEXT);
		CREATE INDEX messages_user ON messages (user_id)`); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("the student asked about fractions and the tutor explained with an example of pizza slices then a quiz followed")
	var written int64
	for written < benchDBBytes {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		st, _ := tx.Prepare(`INSERT INTO messages (user_id, created_at, body) VALUES (?, ?, ?)`)
		for range 5000 {
			var sb strings.Builder
			for sb.Len() < 1500 {
				sb.WriteString(words[r.IntN(len(words))])
				sb.WriteByte(' ')
			}
			if _, err := st.Exec(r.IntN(100000), time.Now().UnixNano(), sb.String()); err != nil {
				b.Fatal(err)
			}
			written += int64(sb.Len()) + 40
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
}

func timeIt(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

func BenchmarkBackupSQLite(b *testing.B) {
	if testing.Short() {
		b.Skip("generates 500 MB")
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "ai_tutor.db")
	makeBenchDB(b, src)
	info, _ := os.Stat(src)
	b.Logf("database: %s", ops.Bytes(info.Size()))
	ctx := context.Background()
	python, pyErr := exec.LookPath("python3")
	if pyErr != nil {
		b.Log("python3 not installed: the peer figure is skipped")
	}
	b.Run("idle", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_ = readAll(src) // warm cache for both
			ours, err := timeIt(func() error { return CopySQLite(ctx, src, filepath.Join(dir, "ours.db")) })
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(ours.Seconds(), "opsbot-s")
			if python != "" {
				peer, err := timeIt(func() error {
					out, err := exec.Command(python, "-c", "import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()", src, filepath.Join(dir, "py.db")).CombinedOutput()
					if err != nil {
						return fmt.Errorf("%v: %s", err, out)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(peer.Seconds(), "python-s")
				b.ReportMetric(ours.Seconds()/peer.Seconds(), "ratio")
				b.Logf("idle %s database: opsbot %s, python sqlite3 backup() %s, ratio %.2f", ops.Bytes(info.Size()), ours.Round(time.Millisecond), peer.Round(time.Millisecond), ours.Seconds()/peer.Seconds())
			}
			os.Remove(filepath.Join(dir, "ours.db"))
			os.Remove(filepath.Join(dir, "py.db"))
		}
	})
	b.Run("writer", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			w := benchWriter(b, src)
			time.Sleep(time.Second) // let it reach its pace
			before := countTable(b, src)
			c0 := w.commits.Load()
			dst := filepath.Join(dir, "live.db")
			ours, err := timeIt(func() error { return CopySQLite(ctx, src, dst) })
			c1 := w.commits.Load()
			after := countTable(b, src)
			if err != nil {
				w.stop()
				b.Fatal(err)
			}
			rate := float64(c1-c0) / ours.Seconds()
			if err := IntegrityCheck(ctx, dst); err != nil {
				w.stop()
				b.Fatal(err)
			}
			counts, err := RowCounts(ctx, dst)
			if err != nil {
				w.stop()
				b.Fatal(err)
			}
			got := counts["messages"]
			if got < before || got > after {
				w.stop()
				b.Fatalf("copy has %d rows, want between %d and %d", got, before, after)
			}
			b.ReportMetric(ours.Seconds(), "opsbot-s")
			b.ReportMetric(rate, "writer-tx/s")
			b.Logf("with a writer at %.0f tx/s: opsbot finished in %s, integrity_check ok, %d rows (before %d, after %d)", rate, ours.Round(time.Millisecond), got, before, after)
			if sqlite3, err := exec.LookPath("sqlite3"); err != nil {
				b.Log("sqlite3 not installed: the CLI's .backup is not tried")
			} else {
				limit := max(20*time.Second, 3*ours)
				cctx, cancel := context.WithTimeout(ctx, limit)
				cli, err := timeIt(func() error {
					return exec.CommandContext(cctx, sqlite3, src, ".backup '"+filepath.Join(dir, "cli.db")+"'").Run()
				})
				cancel()
				if cctx.Err() != nil {
					b.Logf("sqlite3 CLI .backup with the same writer: not finished after %s (it restarts on every write), killed", cli.Round(time.Second))
				} else {
					b.Logf("sqlite3 CLI .backup with the same writer: %s (err %v)", cli.Round(time.Millisecond), err)
				}
			}
			w.stop()
			os.Remove(dst)
			os.Remove(filepath.Join(dir, "cli.db"))
		}
	})
}

type benchW struct {
	commits atomic.Int64
	stop    func()
}

// benchWriter commits one row every 5 ms (about 200 tx/s), as a busy service.
func benchWriter(b *testing.B, path string) *benchW {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	w := &benchW{}
	done := make(chan struct{})
	quit := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			if _, err := db.Exec(`INSERT INTO messages (user_id, created_at, body) VALUES (1, ?, 'live write')`, time.Now().UnixNano()); err == nil {
				w.commits.Add(1)
			}
		}
	}()
	w.stop = func() { close(quit); <-done; db.Close() }
	return w
}

func countTable(b *testing.B, path string) int64 {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(`SELECT count(*) FROM messages`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

func readAll(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// makeUploads writes about 500 MB as an upload folder holds it: photos,
// scans and videos (already compressed) and documents and exports (text).
func makeUploads(b *testing.B, root string) int64 {
	r := rand.New(rand.NewPCG(3, 4))
	words := strings.Fields("lesson homework answer chapter algebra geometry photosynthesis essay grade feedback student teacher question example solution")
	var total int64
	buf := make([]byte, 16<<20)
	for i := 0; total < 500<<20; i++ {
		kind := []string{".jpg", ".png", ".mp4", ".pdf", ".txt", ".json", ".csv", ".jpg", ".md", ".zip"}[i%10]
		size := 10<<10 + r.IntN(4<<20)
		if kind == ".mp4" {
			size = 4<<20 + r.IntN(8<<20)
		}
		p := filepath.Join(root, "uploads", fmt.Sprintf("u%03d", i%37), fmt.Sprintf("f%05d%s", i, kind))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		data := buf[:size]
		switch kind {
		case ".txt", ".json", ".csv", ".md", ".pdf":
			n := 0
			for n < size {
				w := words[r.IntN(len(words))]
				n += copy(data[n:], w)
				if n < size {
					data[n] = " \n,"[r.IntN(3)]
					n++
				}
			}
		default:
			for j := 0; j+8 <= size; j += 8 {
				v := r.Uint64()
				for k := range 8 {
					data[j+k] = byte(v >> (8 * k))
				}
			}
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(size)
	}
	return total
}

func BenchmarkTarGzUploads(b *testing.B) {
	if testing.Short() {
		b.Skip("generates 500 MB")
	}
	dir := b.TempDir()
	total := makeUploads(b, dir)
	b.Logf("uploads: %s", ops.Bytes(total))
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		b.Fatal(err)
	}
	pigz, pigzErr := exec.LookPath("pigz")
	if pigzErr != nil {
		b.Log("pigz not installed (apt-get install pigz): the peer figure is skipped")
	}
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		// Warm the cache for both.
		if err := exec.Command("tar", "-C", dir, "-cf", "/dev/null", "uploads").Run(); err != nil {
			b.Fatal(err)
		}
		runtime.GC() // the generator's buffers are not ours to count
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		var fe FileEntry
		ours, err := timeIt(func() error {
			var err error
			fe, _, _, err = writeArchive(ctx, filepath.Join(out, "uploads_ours.tar.gz"), dir, []string{"uploads"}, nil)
			return err
		})
		close(stop)
		<-sampled
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ours.Seconds(), "opsbot-s")
		b.ReportMetric(float64(fe.Size)/float64(total), "opsbot-size-ratio")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
		b.Logf("opsbot (klauspost gzip, one goroutine, sha256 included): %s, %s (%.1f%% of input), %d files stored, peak heap %.1f MB",
			ours.Round(time.Millisecond), ops.Bytes(fe.Size), 100*float64(fe.Size)/float64(total), fe.Stored, float64(peak.Load())/(1<<20))
		if pigz != "" {
			pp := filepath.Join(out, "uploads_pigz.tar.gz")
			peer, err := timeIt(func() error {
				o, err := exec.Command("tar", "-C", dir, "-I", pigz, "-cf", pp, "uploads").CombinedOutput()
				if err != nil {
					return fmt.Errorf("%v: %s", err, o)
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			pi, _ := os.Stat(pp)
			b.ReportMetric(peer.Seconds(), "pigz-s")
			b.ReportMetric(ours.Seconds()/peer.Seconds(), "ratio")
			b.Logf("tar -I pigz (%d cores): %s, %s (%.1f%% of input); opsbot/pigz time ratio %.2f",
				runtime.NumCPU(), peer.Round(time.Millisecond), ops.Bytes(pi.Size()), 100*float64(pi.Size())/float64(total), ours.Seconds()/peer.Seconds())
		}
		os.RemoveAll(out)
		os.Mkdir(out, 0o755)
	}
}
