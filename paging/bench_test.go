package paging_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/config"
	"opsbot/store"
	"opsbot/store/storetest"
)

// BenchmarkPages1000: 1,000 critical alerts, each paged at once through
// three integrations (PagerDuty, a webhook, and an SMS webhook that answers
// 500 half the time), delivered by the notifier's lanes on the real clock.
// It reports the time from the step's commit until every page is out, and
// fails on a page lost (not delivered) or doubled (accepted twice).
func BenchmarkPages1000(b *testing.B) {
	for _, workers := range []int{4, 16} {
		b.Run(fmt.Sprintf("sqlite/workers=%d", workers), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchPages(b, storetest.SQLite(b), workers)
			}
		})
		b.Run(fmt.Sprintf("postgres/workers=%d", workers), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchPages(b, storetest.Postgres(b), workers)
			}
		})
	}
}

func benchPages(b *testing.B, st *store.Store, workers int) {
	const alerts = 1000
	r := newRigTB(b, st)
	sms := newHook(b, "sms-key", time.Now)
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	sms.fail = func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if rng.IntN(2) == 0 {
			return http.StatusInternalServerError
		}
		return 0
	}
	r.hook.now = time.Now
	r.integ.Now = time.Now
	r.cfg.Notifier.RetryBase, r.cfg.Notifier.RetryMax, r.cfg.Notifier.MaxAttempts = time.Millisecond, 20*time.Millisecond, 40
	r.cfg.Notifier.DeliveryWorkers = workers
	r.cfg.Paging.Channel = ""
	r.cfg.Paging.Integrations["sms"] = config.Integration{Type: "webhook", URL: sms.srv.URL, Timeout: 5 * time.Second}
	r.cfg.Secrets.Paging["sms"] = "sms-key"
	r.cfg.Paging.Policies = []config.EscalationPolicy{{Name: "critical", Severity: "critical",
		Steps: []config.Step{{After: 0, Rotation: "primary", Via: []string{"pd", "hook", "sms"}}}}}
	r.n.Now, r.eng.Now = time.Now, time.Now
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var obs []alert.Alert
	for i := 0; i < alerts; i++ {
		obs = append(obs, alert.Alert{Fingerprint: fmt.Sprintf("bench/%d", i), Kind: "health", Rule: "api_down", Target: "api", Severity: "critical", Summary: "down"})
	}
	if err := r.n.Notify(ctx, obs...); err != nil {
		b.Fatal(err)
	}
	if err := r.n.Tick(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if err := r.eng.Tick(ctx); err != nil {
		b.Fatal(err)
	}
	stepped := time.Since(start)
	done := make(chan error, 1)
	go func() { done <- r.n.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		pending, err := r.n.Pending(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("pages not drained in 5 min: %d pending", pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	drain := time.Since(start)
	b.StopTimer()
	cancel()
	<-done

	seen := map[string]int{}
	for _, e := range r.pd.events() {
		seen["pd/"+e.DedupKey]++
	}
	for _, w := range r.hook.bodies() {
		seen["hook/"+w.Alert.DedupKey]++
	}
	for _, w := range sms.bodies() {
		seen["sms/"+w.Alert.DedupKey]++
	}
	lost, doubled := 0, 0
	for _, in := range []string{"pd", "hook", "sms"} {
		for i := 0; i < alerts; i++ {
			switch n := seen[fmt.Sprintf("%s/bench/%d", in, i)]; {
			case n == 0:
				lost++
			case n > 1:
				doubled += n - 1
			}
		}
	}
	parked, _ := r.n.Parked(context.Background())
	sms.mu.Lock()
	tries := sms.n
	sms.mu.Unlock()
	b.ReportMetric(drain.Seconds(), "s-drain")
	b.ReportMetric(stepped.Seconds(), "s-step")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(float64(doubled), "doubled")
	b.ReportMetric(float64(parked), "parked")
	b.ReportMetric(float64(tries), "sms-tries")
	if lost != 0 || doubled != 0 {
		b.Fatalf("lost %d, doubled %d (parked %d)", lost, doubled, parked)
	}
}
