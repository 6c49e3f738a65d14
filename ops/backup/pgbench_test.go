package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/ops"
	"opsbot/store"
	"opsbot/store/storetest"
)

// BenchmarkPostgresSetVsDump makes backup sets of a PostgreSQL target of a
// few hundred MB (its own database, dropped afterwards) and runs the same
// `pg_dump -Fc` alone, alternately, and prints the median ratio set ÷ dump
// in wall and CPU time (this process and its children; the server's own
// work is in neither). Needs OPSBOT_TEST_POSTGRES_DSN and pg_dump. Run once:
//
//	go test -run '^$' -bench PostgresSetVsDump -benchtime 1x ./ops/backup
func BenchmarkPostgresSetVsDump(b *testing.B) {
	dsn := os.Getenv("OPSBOT_TEST_POSTGRES_DSN")
	if dsn == "" || testing.Short() {
		b.Skip("OPSBOT_TEST_POSTGRES_DSN not set, or -short")
	}
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		b.Skip("pg_dump not installed")
	}
	ctx := context.Background()
	admin, err := store.Open(ctx, "postgres", dsn)
	if err != nil {
		b.Skipf("postgres unreachable: %v", err)
	}
	defer admin.Close()
	rb := make([]byte, 4)
	_, _ = rand.Read(rb)
	name := "opsbot_bench_" + hex.EncodeToString(rb)
	if _, err := admin.DB.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if _, err := admin.DB.ExecContext(context.Background(), `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			b.Logf("drop database %s: %v", name, err)
		}
	}()
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	benchDSN := u.String()
	bench, err := store.Open(ctx, "postgres", benchDSN)
	if err != nil {
		b.Fatal(err)
	}
	// About 300 MB: rows of hex digests, which compress about as text does.
	_, err = bench.DB.ExecContext(ctx, `CREATE TABLE messages (id bigint PRIMARY KEY, user_id int, created_at timestamptz, body text);
		INSERT INTO messages SELECT g, g % 100000, now() - g * interval '1 second',
			md5(g::text) || md5((g+1)::text) || md5((g+2)::text) || md5((g+3)::text) || md5((g+4)::text) || md5((g+5)::text) || md5((g+6)::text) || md5((g+7)::text)
		FROM generate_series(1, 900000) g;
		CREATE INDEX messages_user ON messages (user_id)`)
	if err != nil {
		bench.Close()
		b.Fatal(err)
	}
	var size string
	_ = bench.DB.QueryRowContext(ctx, `SELECT pg_size_pretty(pg_database_size(current_database()))`).Scan(&size)
	bench.Close()
	b.Logf("database %s: %s", name, size)

	dir := b.TempDir()
	wd := filepath.Join(dir, "app")
	if err := os.MkdirAll(wd, 0o755); err != nil {
		b.Fatal(err)
	}
	t := config.Target{
		Name:     "api",
		Workdir:  wd,
		Database: config.Database{Driver: "postgres", Dump: []string{pgDump, "--dbname=" + benchDSN, "--format=custom", "--file"}},
		Backup:   config.Backup{Dir: filepath.Join(dir, "backups"), ConfigPaths: []string{}, Retention: 30 * 24 * time.Hour, Prefix: "ai_tutor", Timeout: time.Hour},
	}
	cfg := config.Default()
	cfg.Targets = []config.Target{t}
	svc := New(storetest.SQLite(b), func() *config.Config { return cfg }, nil)
	clock := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	const pairs = 3
	for i := 0; i < b.N; i++ {
		var dumpWall, dumpCPU, setWall, setCPU []float64
		for p := range pairs {
			out := filepath.Join(dir, "alone.dump")
			u0, t0 := cpuTimeAll(), time.Now()
			if o, err := exec.Command(pgDump, "--dbname="+benchDSN, "--format=custom", "--file", out).CombinedOutput(); err != nil {
				b.Fatalf("pg_dump: %v: %s", err, o)
			}
			wall, cpu := time.Since(t0), cpuTimeAll()-u0
			info, _ := os.Stat(out)
			dumpWall, dumpCPU = append(dumpWall, wall.Seconds()), append(dumpCPU, cpu.Seconds())
			_ = os.Remove(out)

			u0, t0 = cpuTimeAll(), time.Now()
			res, err := svc.Create(ctx, "api", nil)
			wall, cpu = time.Since(t0), cpuTimeAll()-u0
			if err != nil || !res.Verified {
				b.Fatalf("set: %v %s", err, res.VerifyErr)
			}
			setWall, setCPU = append(setWall, wall.Seconds()), append(setCPU, cpu.Seconds())
			b.Logf("pair %d: pg_dump -Fc %.2fs wall %.2fs CPU (%s); set %.2fs wall %.2fs CPU (%s)", p+1,
				dumpWall[p], dumpCPU[p], ops.Bytes(info.Size()), setWall[p], setCPU[p], ops.Bytes(res.Size))
			_ = os.RemoveAll(res.Dir)
		}
		rw, rc := median(setWall)/median(dumpWall), median(setCPU)/median(dumpCPU)
		b.ReportMetric(rw, "set/dump-wall")
		b.ReportMetric(rc, "set/dump-cpu")
		b.Logf("median of %d pairs: pg_dump -Fc %.2fs wall %.2fs CPU, set %.2fs wall %.2fs CPU; set/dump %.2f wall, %.2f CPU",
			pairs, median(dumpWall), median(dumpCPU), median(setWall), median(setCPU), rw, rc)
	}
}

// cpuTimeAll is the user+system time of this process and its waited-for
// children.
func cpuTimeAll() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano())
}
