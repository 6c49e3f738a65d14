package diagnose_test

import (
	"context"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/ops/diagnose"
	"opsbot/standin"
	"opsbot/store"
	"opsbot/store/storetest"
)

// BenchmarkDiagnoseDemo is the time to answer each symptom against the
// demo's stand-in backend (goal: under 2 s), as p50 and p99. With
// OPSBOT_TEST_REDIS_ADDR set the redis symptom reads that server (PING and
// INFO only).
func BenchmarkDiagnoseDemo(b *testing.B) {
	sb, err := standin.Start(context.Background(), b.TempDir(), standin.Options{HistoryLines: 300, RedisAddr: os.Getenv("OPSBOT_TEST_REDIS_ADDR")})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	cfg := config.Default()
	cfg.Targets = []config.Target{sb.Target()}
	st := storetest.SQLite(b)
	g := diagnose.New(diagnose.Deps{Config: func() *config.Config { return cfg }, Samples: st})
	for _, s := range diagnose.Symptoms {
		b.Run(s, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := g.Run(context.Background(), s, "", nil); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			q := func(p float64) float64 {
				return float64(took[min(len(took)-1, int(p*float64(len(took))))].Microseconds()) / 1000
			}
			b.ReportMetric(q(0.50), "p50_ms")
			b.ReportMetric(q(0.99), "p99_ms")
		})
	}
}

// BenchmarkForecastError measures the forecast against a synthetic linear
// fill (40 % rising 1 % an hour, hourly samples over a day, so truly full
// 36 h after the last sample), exact and with ±0.5 % of deterministic
// noise: the error of "full in about N" in percent of the true time.
func BenchmarkForecastError(b *testing.B) {
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		noise float64
	}{{"exact", 0}, {"noise0.5pct", 0.5}} {
		b.Run(c.name, func(b *testing.B) {
			var ss []store.Sample
			for h := 0; h <= 24; h++ {
				// A fixed pseudo-random sequence in [-1, 1].
				jitter := math.Sin(float64(h)*12.9898) * 43758.5453
				jitter = 2*(jitter-math.Floor(jitter)) - 1
				ss = append(ss, store.Sample{Metric: "disk_pct", At: store.T(t0.Add(time.Duration(h) * time.Hour)), Value: 40 + float64(h) + c.noise*jitter})
			}
			now := t0.Add(24 * time.Hour)
			truth := 36 * time.Hour
			var got time.Duration
			for b.Loop() {
				d, _, ok := diagnose.FullIn(ss, now, 100)
				if !ok {
					b.Fatal("no forecast of a rising line")
				}
				got = d
			}
			b.ReportMetric(100*math.Abs(got.Hours()-truth.Hours())/truth.Hours(), "err_%")
			b.ReportMetric(got.Hours(), "forecast_h")
		})
	}
}
