package notifier_test

import (
	"opsbot/alert"

	"context"
	"fmt"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

var fpRE = regexp.MustCompile(`burst-\d{5}`)

// BenchmarkBurst sends 10,000 alerts to 5 subscribed channels through a
// platform allowing 1 message per second per channel, on the real clock:
// every fingerprint must reach every channel (in a message or its
// attachment), none lost, few messages per group window.
func BenchmarkBurst(b *testing.B) {
	const (
		alerts   = 10000
		channels = 5
		batch    = 250
	)
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		st := storetest.SQLite(b)
		cfg := config.Default()
		cfg.Notifier.GroupWait = 2 * time.Second
		p := newPlatform(time.Now)
		p.gap = time.Second
		n := notifier.New(st, p, func() *config.Config { return cfg }, slog.New(slog.DiscardHandler))
		for c := 0; c < channels; c++ {
			if err := n.Subscribe(ctx, fmt.Sprintf("ch%d", c), []string{"threshold", "security"}, "", "", "bench"); err != nil {
				b.Fatal(err)
			}
		}
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()
		start := time.Now()
		for j := 0; j < alerts; j += batch {
			as := make([]alert.Alert, 0, batch)
			for k := j; k < j+batch; k++ {
				kind, sev := "threshold", "warning"
				if k%3 == 0 {
					kind, sev = "security", "critical"
				}
				as = append(as, firing(fmt.Sprintf("burst-%05d", k), kind, "rule", fmt.Sprintf("t%d", k%40), sev, "value over threshold", float64(k)))
			}
			if err := n.Notify(ctx, as...); err != nil {
				b.Fatal(err)
			}
		}
		fed := time.Since(start)
		for {
			pend, err := n.Pending(ctx)
			if err != nil {
				b.Fatal(err)
			}
			unrouted, _ := store.DueAlerts(ctx, st.DB, time.Now().Add(time.Hour))
			if pend == 0 && len(unrouted) == 0 {
				break
			}
			if time.Since(start) > 2*time.Minute {
				b.Fatalf("not delivered after 2 minutes: %d pending, %d unrouted", pend, len(unrouted))
			}
			time.Sleep(20 * time.Millisecond) // polling for completion, not a guess at timing
		}
		total := time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		windows := int(total/cfg.Notifier.GroupWait) + 1
		maxPer := 0
		for c := 0; c < channels; c++ {
			ch := fmt.Sprintf("ch%d", c)
			seen := map[string]bool{}
			posts := p.posts(ch)
			for _, m := range posts {
				v := m.Versions[0]
				for _, s := range fpRE.FindAllString(v.Text+v.Context, -1) {
					seen[s] = true
				}
				for _, f := range v.Files {
					for _, s := range fpRE.FindAllString(string(f.Data), -1) {
						seen[s] = true
					}
				}
			}
			if len(seen) != alerts {
				b.Fatalf("%s: %d of %d fingerprints delivered", ch, len(seen), alerts)
			}
			maxPer = max(maxPer, len(posts))
		}
		if parked, _ := n.Parked(ctx); parked != 0 {
			b.Fatalf("%d parked", parked)
		}
		b.ReportMetric(fed.Seconds(), "s-to-record")
		b.ReportMetric(total.Seconds(), "s-to-deliver-all")
		b.ReportMetric(float64(maxPer), "max-msgs/channel")
		b.ReportMetric(float64(maxPer)/float64(windows), "msgs/channel/window")
		b.ReportMetric(float64(p.limit), "429s")
		b.Logf("%d alerts × %d channels: recorded in %s, all delivered in %s; at most %d messages per channel over %d group windows of %s; %d rate-limit answers; 0 lost, 0 parked",
			alerts, channels, fed.Round(time.Millisecond), total.Round(time.Millisecond), maxPer, windows, cfg.Notifier.GroupWait, p.limit)
	}
}
