package backup

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/ops"
	"opsbot/store/storetest"
)

// BenchmarkBackupSetVsCopy makes whole backup sets (copy, row counts,
// checksum, manifest, verification) and one-step online copies alone of
// the same 500 MB database under the same writer, alternately (copy, set,
// copy, set, …), and prints the median ratio set ÷ copy in wall and CPU
// time. Run once:
//
//	go test -run '^$' -bench BackupSetVsCopy -benchtime 1x ./ops/backup
func BenchmarkBackupSetVsCopy(b *testing.B) {
	if testing.Short() {
		b.Skip("generates 500 MB")
	}
	const pairs = 3
	dir := b.TempDir()
	wd := filepath.Join(dir, "app")
	src := filepath.Join(wd, "data", "ai_tutor.db")
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		b.Fatal(err)
	}
	makeBenchDB(b, src)
	t := config.Target{
		Name:     "api",
		Workdir:  wd,
		Database: config.Database{Driver: "sqlite", Path: "data/ai_tutor.db"},
		Backup:   config.Backup{Dir: filepath.Join(dir, "backups"), ConfigPaths: []string{}, Retention: 30 * 24 * time.Hour, Prefix: "ai_tutor", Timeout: time.Hour},
	}
	cfg := config.Default()
	cfg.Targets = []config.Target{t}
	svc := New(storetest.SQLite(b), func() *config.Config { return cfg }, nil)
	clock := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		_ = readAll(src)
		w := benchWriter(b, src)
		time.Sleep(time.Second)
		var copyWall, copyCPU, setWall, setCPU []float64
		var commits int64
		var busy time.Duration
		for p := range pairs {
			dst := filepath.Join(dir, "copy.db")
			c0, u0, t0 := w.commits.Load(), cpuTime(), time.Now()
			if err := CopySQLite(ctx, src, dst); err != nil {
				w.stop()
				b.Fatal(err)
			}
			wall, cpu := time.Since(t0), cpuTime()-u0
			commits += w.commits.Load() - c0
			busy += wall
			copyWall, copyCPU = append(copyWall, wall.Seconds()), append(copyCPU, cpu.Seconds())
			_ = os.RemoveAll(dst)

			c0, u0, t0 = w.commits.Load(), cpuTime(), time.Now()
			res, err := svc.Create(ctx, "api", nil)
			wall, cpu = time.Since(t0), cpuTime()-u0
			if err != nil || !res.Verified {
				w.stop()
				b.Fatalf("set: %v %s", err, res.VerifyErr)
			}
			commits += w.commits.Load() - c0
			busy += wall
			setWall, setCPU = append(setWall, wall.Seconds()), append(setCPU, cpu.Seconds())
			b.Logf("pair %d: copy %.2fs wall %.2fs CPU; set %.2fs wall %.2fs CPU (%s, tables %v, estimated %v)", p+1,
				copyWall[p], copyCPU[p], setWall[p], setCPU[p], ops.Bytes(res.Size), res.Manifest.Database.Tables, res.Manifest.Database.Estimated)
			_ = os.RemoveAll(res.Dir)
		}
		w.stop()
		rw, rc := median(setWall)/median(copyWall), median(setCPU)/median(copyCPU)
		rate := float64(commits) / busy.Seconds()
		b.ReportMetric(rw, "set/copy-wall")
		b.ReportMetric(rc, "set/copy-cpu")
		b.ReportMetric(rate, "writer-tx/s")
		b.Logf("median of %d pairs under a writer at %.0f tx/s: copy %.2fs wall %.2fs CPU, set %.2fs wall %.2fs CPU; set/copy %.2f wall, %.2f CPU",
			pairs, rate, median(copyWall), median(copyCPU), median(setWall), median(setCPU), rw, rc)
	}
}

// cpuTime is this process's user+system time (the writer's share included,
// the same in both halves of a pair).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
