package fleet_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/fleet"
	"opsbot/notifier"
	"opsbot/remediate"
	"opsbot/store"
	"opsbot/store/storetest"
)

// benchWorker stands in for an agent's action: it notes how long the job
// waited between its insert and its start, and returns at once.
type benchWorker struct {
	river.WorkerDefaults[fleet.ActionArgs]
	mu   *sync.Mutex
	lags *[]time.Duration
}

func (w *benchWorker) Work(ctx context.Context, j *river.Job[fleet.ActionArgs]) error {
	lag := time.Since(j.CreatedAt)
	w.mu.Lock()
	*w.lags = append(*w.lags, lag)
	w.mu.Unlock()
	return river.RecordOutput(ctx, fleet.Result{Host: j.Args.Host, Target: j.Args.Target, Action: j.Args.Action, Outcome: fleet.OutcomeOK})
}

// BenchmarkFleetScale simulates a fleet on one PostgreSQL: N agents
// (goroutines with distinct host names, each a River client working its
// own queue at the 100 ms fetch poll) heartbeating every 10 s and sampling
// every 15 s (the host row's metrics and three sample rows), the leader's
// fleet watch every second, and the bot dispatching actions to random
// hosts. Run it once:
//
//	go test -run - -bench FleetScale -benchtime 1x ./fleet/
//
// OPSBOT_BENCH_FLEET_HOSTS [200], OPSBOT_BENCH_FLEET_SECONDS [60] and
// OPSBOT_BENCH_FLEET_CONNS (the agents' pool) [40] size it.
func BenchmarkFleetScale(b *testing.B) {
	hosts := envInt("OPSBOT_BENCH_FLEET_HOSTS", 200)
	secs := envInt("OPSBOT_BENCH_FLEET_SECONDS", 60)
	dsn := storetest.PostgresDSN(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, "postgres", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	// The agents are separate processes in a fleet, each with its own
	// connections; here they share a pool of their own (as behind a
	// pooler), apart from the leader's and the bot's.
	ast, err := store.Open(ctx, "postgres", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer ast.Close()
	ast.DB.SetMaxOpenConns(envInt("OPSBOT_BENCH_FLEET_CONNS", 40))
	ast.DB.SetMaxIdleConns(envInt("OPSBOT_BENCH_FLEET_CONNS", 40))
	quiet := slog.New(slog.DiscardHandler)
	if err := remediate.MigrateQueue(ctx, st, quiet); err != nil {
		b.Fatal(err)
	}
	cfg := config.Default()
	cfg.Store.Driver = "postgres"
	conf := func() *config.Config { return cfg }
	var (
		mu   sync.Mutex
		lags []time.Duration
	)
	workers := river.NewWorkers()
	river.AddWorker(workers, &benchWorker{mu: &mu, lags: &lags})
	var wg sync.WaitGroup
	var clients []*river.Client[*sql.Tx]
	b.ResetTimer()
	for i := range hosts {
		name := fmt.Sprintf("sim-%04d", i)
		now := time.Now()
		tb, _ := json.Marshal([]fleet.TargetInfo{{Name: "api", Actions: []string{"restart"}}})
		if err := ast.RegisterHost(ctx, store.Host{Name: name, Labels: "{}", Targets: string(tb), HeartbeatEvery: (10 * time.Second).Milliseconds(),
			Incarnation: "inc-" + name, StartedAt: store.T(now), LastHeartbeat: store.T(now)}); err != nil {
			b.Fatal(err)
		}
		c, err := river.NewClient(riverdatabasesql.New(ast.DB.DB), &river.Config{ID: "inc-" + name,
			Queues:            map[string]river.QueueConfig{fleet.QueueName(name): {MaxWorkers: 1}},
			Workers:           workers,
			FetchPollInterval: fleet.FetchPollInterval, FetchCooldown: fleet.FetchPollInterval / 2,
			MaxAttempts: 1, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		clients = append(clients, c)
		// Spread the agents' phases over the intervals, as real hosts are.
		wg.Go(func() { simAgent(ctx, ast, name, rand.N(10*time.Second), rand.N(15*time.Second)) })
	}
	n := notifier.New(st, chat.NewRouter(), conf, quiet)
	mon := &fleet.Monitor{Store: st, Config: conf, Sink: n.Source("fleet"), Log: quiet}
	var checks []time.Duration
	wg.Go(func() {
		for ctx.Err() == nil {
			t0 := time.Now()
			if err := mon.Check(ctx); err != nil && ctx.Err() == nil {
				b.Error(err)
			}
			checks = append(checks, time.Since(t0))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	})
	d, err := fleet.NewDispatcher(st, conf, quiet)
	if err != nil {
		b.Fatal(err)
	}
	before := pgStats(b, st)
	cpu0 := cpuTime()
	start := time.Now()
	dispatched := 0
	for time.Since(start) < time.Duration(secs)*time.Second {
		h := fmt.Sprintf("sim-%04d", rand.N(hosts))
		if _, err := d.Dispatch(ctx, h, "api", "restart", "bench"); err != nil {
			b.Fatal(err)
		}
		dispatched++
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	el := time.Since(start).Seconds()
	cpu := cpuTime() - cpu0
	after := pgStats(b, st)
	cancel()
	for _, c := range clients {
		sctx, sc := context.WithTimeout(context.Background(), 5*time.Second)
		_ = c.Stop(sctx)
		sc()
	}
	wg.Wait()
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lags)
	slices.Sort(checks)
	pct := func(xs []time.Duration, p float64) time.Duration {
		if len(xs) == 0 {
			return 0
		}
		return xs[min(len(xs)-1, int(float64(len(xs))*p))]
	}
	b.ReportMetric(float64(hosts), "hosts")
	b.ReportMetric(float64(pct(lags, 0.50).Milliseconds()), "dispatch-p50-ms")
	b.ReportMetric(float64(pct(lags, 0.99).Milliseconds()), "dispatch-p99-ms")
	b.ReportMetric(float64(pct(checks, 0.50).Microseconds())/1000, "leader-check-p50-ms")
	b.ReportMetric(float64(pct(checks, 0.99).Microseconds())/1000, "leader-check-p99-ms")
	b.ReportMetric(cpu.Seconds()/el, "process-cpu-cores")
	b.ReportMetric(float64(after.commits-before.commits)/el, "pg-commits-db/s")
	b.ReportMetric(float64(after.ins-before.ins)/el, "pg-rows-inserted/s")
	b.ReportMetric(float64(after.upd-before.upd)/el, "pg-rows-updated/s")
	b.ReportMetric(float64(after.fetched-before.fetched)/el, "pg-rows-read/s")
	b.Logf("%d hosts, %.0f s: %d jobs dispatched, %d worked; dispatch p50 %s p99 %s; leader check p50 %s p99 %s; process CPU %.2f cores",
		hosts, el, dispatched, len(lags), pct(lags, .5), pct(lags, .99), pct(checks, .5), pct(checks, .99), cpu.Seconds()/el)
}

// simAgent heartbeats every 10 s and samples every 15 s, as an agent does.
func simAgent(ctx context.Context, st *store.Store, name string, hbPhase, samplePhase time.Duration) {
	hb := time.NewTimer(hbPhase)
	sm := time.NewTimer(samplePhase)
	defer hb.Stop()
	defer sm.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hb.C:
			_, _ = st.HostHeartbeat(ctx, name, "inc-"+name, time.Now(), "")
			hb.Reset(10 * time.Second)
		case <-sm.C:
			now := time.Now()
			m := fleet.Metrics{CPU: rand.Float64() * 100, Mem: 50, Disk: 40, At: now.UnixMilli(),
				Targets: map[string]fleet.TargetHealth{"api": {Healthy: true, MS: 3}}}
			mb, _ := json.Marshal(m)
			_, _ = st.HostHeartbeat(ctx, name, "inc-"+name, now, string(mb))
			series := "@" + name
			_ = st.AddSamples(ctx, []store.Sample{{Metric: "cpu_pct", Target: series, At: store.T(now), Value: m.CPU},
				{Metric: "mem_pct", Target: series, At: store.T(now), Value: m.Mem},
				{Metric: "disk_pct", Target: series, At: store.T(now), Value: m.Disk}})
			sm.Reset(15 * time.Second)
		}
	}
}

type pgStat struct{ commits, ins, upd, fetched int64 }

func pgStats(b *testing.B, st *store.Store) pgStat {
	var s pgStat
	// Transactions are counted for the whole database (other users of the
	// server count too); rows for this schema's tables only. The counters
	// are flushed by backends about once a second.
	if err := st.DB.QueryRow(`SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&s.commits); err != nil {
		b.Fatal(err)
	}
	_, _ = st.DB.Exec(`SELECT pg_stat_force_next_flush()`)
	if err := st.DB.QueryRow(`SELECT COALESCE(sum(n_tup_ins), 0), COALESCE(sum(n_tup_upd), 0), COALESCE(sum(seq_tup_read + COALESCE(idx_tup_fetch, 0)), 0)
		FROM pg_stat_user_tables WHERE schemaname = current_schema()`).Scan(&s.ins, &s.upd, &s.fetched); err != nil {
		b.Fatal(err)
	}
	return s
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}
