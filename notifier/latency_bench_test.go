package notifier_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/bot/slack/slackfake"
	"opsbot/config"
	"opsbot/human"
	"opsbot/store"
	"opsbot/store/storetest"
)

var latFP = regexp.MustCompile(`lat-\d{6}`)

// BenchmarkPipelineLatency measures signal-to-poster latency with two
// replicas on one PostgreSQL schema, both running the whole alert path
// (n.Run: pipeline and delivery lanes) through the real Slack adapter to
// the Slack fake, with the adapter's own pacing lifted (the fake does not
// rate-limit, so the figure is the pipeline's, not Slack's one message a
// second). For 10 s, 1,000 observations a second, split between the
// replicas, each a distinct fingerprint firing, each its own Notify call
// made at its time whatever the previous ones are doing (an open loop, so a
// slow store shows as latency, not as a slower feed), group_wait 0.
//
// Latency is when the fake received a message carrying the fingerprint (in
// its text, or in the file attached to it: then when the upload was
// completed) minus when Notify was called. It reports p50, p99 and max,
// the fingerprints lost and those posted more than once, and the inbox:
// rows appended, their size, and what store.Prune removes and how long it
// takes, once while the load runs and once after.
func BenchmarkPipelineLatency(b *testing.B) {
	const (
		rate     = 1000
		duration = 10 * time.Second
		channel  = "C1"
	)
	for i := 0; i < b.N; i++ {
		dsn := storetest.PostgresDSN(b)
		fake := slackfake.New()
		cfg := config.Default()
		cfg.Slack.APIURL = fake.APIURL()
		cfg.Secrets.SlackBotToken = slackfake.BotToken
		cfg.Notifier.GroupWait = 0
		cfg.Notifier.Repeat = 24 * time.Hour
		get := func() *config.Config { return cfg }
		reps := []*replica{newReplica(b, dsn, get), newReplica(b, dsn, get)}
		st := reps[0].st
		ctx, cancel := context.WithCancel(context.Background())
		if err := reps[0].n.Subscribe(ctx, "slack:"+channel, []string{"threshold"}, "", "", "bench"); err != nil {
			b.Fatal(err)
		}
		var run sync.WaitGroup
		for _, r := range reps {
			run.Add(1)
			go func() { defer run.Done(); _ = r.n.Run(ctx) }()
		}

		total := int(rate * duration / time.Second)
		called := make([]time.Time, total)
		var (
			feed    sync.WaitGroup
			errMu   sync.Mutex
			errs    int
			lastErr error
		)
		start := time.Now()
		// Cleanup under load: halfway through, prune what is older than
		// 2 s (applied observations, delivered notifications).
		var midBefore, midAfter int
		var midPrune time.Duration
		pruned := make(chan struct{})
		go func() {
			defer close(pruned)
			time.Sleep(duration / 2) // a point in the run, not a wait for an outcome
			midBefore = countRows(b, st, `SELECT COUNT(*) FROM alert_inbox`)
			t0 := time.Now()
			if _, err := st.Prune(ctx, store.RetentionPolicy{Outbox: 2 * time.Second}, time.Now()); err != nil {
				b.Error(err)
			}
			midPrune = time.Since(t0)
			midAfter = countRows(b, st, `SELECT COUNT(*) FROM alert_inbox`)
		}()
		for j := 0; j < total; j++ {
			due := start.Add(time.Duration(j) * time.Second / rate)
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			r := reps[j%2]
			a := alert.Alert{Fingerprint: fmt.Sprintf("lat-%06d", j), Kind: "threshold", Rule: "cpu_high",
				Target: fmt.Sprintf("api-%02d", j%40), Severity: "warning", Summary: "CPU over threshold", Value: float64(j % 100)}
			feed.Add(1)
			go func() {
				defer feed.Done()
				called[j] = time.Now()
				if err := r.n.Notify(ctx, a); err != nil {
					errMu.Lock()
					errs, lastErr = errs+1, err
					errMu.Unlock()
				}
			}()
		}
		feed.Wait()
		fed := time.Since(start)
		if errs > 0 {
			b.Fatalf("%d observations not appended; last: %v", errs, lastErr)
		}
		<-pruned

		// Wait (polling the store for the outcome, with a deadline) until
		// every alert is routed and every notification delivered.
		deadline := time.Now().Add(5 * time.Minute)
		for {
			unrouted := countRows(b, st, `SELECT COUNT(*) FROM alerts WHERE routed_at IS NULL`)
			pending, _ := reps[0].n.Pending(ctx)
			waiting := countRows(b, st, `SELECT COUNT(*) FROM alert_inbox WHERE processed_at IS NULL`)
			if unrouted == 0 && pending == 0 && waiting == 0 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("not delivered after 5 min: %d observations waiting, %d alerts unrouted, %d notifications pending", waiting, unrouted, pending)
			}
			time.Sleep(50 * time.Millisecond)
		}
		drained := time.Since(start)

		// When the fake received each fingerprint, and how often.
		got := map[string][]time.Time{}
		msgs := 0
		for _, m := range fake.Messages() {
			if m.Channel != channel || m.ThreadTS != "" {
				continue
			}
			msgs++
			seen := map[string]bool{}
			for _, fp := range latFP.FindAllString(m.Text+string(m.Blocks)+string(m.Attachments), -1) {
				seen[fp] = true
			}
			for fp := range seen {
				got[fp] = append(got[fp], m.Received)
			}
		}
		// A file is complete when files.completeUploadExternal names its
		// channel; one channel's uploads go one after another (one lane),
		// so the n-th completion request is the n-th file of the channel.
		var completes []time.Time
		for _, rq := range fake.Requests(channel) {
			if rq.Method == "files.completeUploadExternal" {
				completes = append(completes, rq.At)
			}
		}
		files := 0
		for _, f := range fake.Files() {
			if f.Channel != channel || !f.Completed {
				continue
			}
			if files >= len(completes) {
				b.Fatalf("%d completed files, %d completion requests", files+1, len(completes))
			}
			at := completes[files]
			files++
			seen := map[string]bool{}
			for _, fp := range latFP.FindAllString(string(f.Data), -1) {
				seen[fp] = true
			}
			for fp := range seen {
				// Listed in the message's text as well as its file: the
				// message is the first to carry it.
				if ts := got[fp]; len(ts) > 0 && f.ThreadTS != "" {
					continue
				}
				got[fp] = append(got[fp], at)
			}
		}
		if files != len(completes) {
			b.Fatalf("%d completed files, %d completion requests", files, len(completes))
		}
		var lat []time.Duration
		lost, doubled := 0, 0
		for j := range total {
			ts := got[fmt.Sprintf("lat-%06d", j)]
			switch {
			case len(ts) == 0:
				lost++
				continue
			case len(ts) > 1:
				doubled++
			}
			lat = append(lat, slices.MinFunc(ts, time.Time.Compare).Sub(called[j]))
		}
		slices.Sort(lat)
		pct := func(p float64) time.Duration {
			if len(lat) == 0 {
				return 0
			}
			return lat[min(len(lat)-1, int(p*float64(len(lat))))]
		}
		// The store's side of the same count: one alert row per
		// fingerprint, each in exactly one first message in the channel.
		alerts := countRows(b, st, `SELECT COUNT(*) FROM alerts`)
		once := countRows(b, st, `SELECT COUNT(*) FROM (SELECT alert_id FROM alert_messages WHERE channel = ? AND role = 'first' GROUP BY alert_id HAVING COUNT(*) = 1) x`, "slack:"+channel)

		rows := countRows(b, st, `SELECT COUNT(*) FROM alert_inbox`)
		appended := countRows(b, st, `SELECT COALESCE(MAX(id), 0) FROM alert_inbox`)
		var bytes int64
		if err := st.Get(ctx, &bytes, `SELECT pg_total_relation_size('alert_inbox')`); err != nil {
			b.Fatal(err)
		}
		// After the retention: every applied observation is older than it.
		t0 := time.Now()
		if _, err := st.Prune(ctx, store.RetentionPolicy{Outbox: cfg.Store.Retention.Outbox}, time.Now().Add(cfg.Store.Retention.Outbox+time.Minute)); err != nil {
			b.Fatal(err)
		}
		prune := time.Since(t0)
		after := countRows(b, st, `SELECT COUNT(*) FROM alert_inbox`)
		cancel()
		run.Wait()
		fake.Close()

		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(ms(pct(0.50)), "p50-ms")
		b.ReportMetric(ms(pct(0.99)), "p99-ms")
		b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
		b.ReportMetric(float64(lost), "lost")
		b.ReportMetric(float64(doubled), "doubled")
		b.ReportMetric(float64(msgs), "messages")
		b.ReportMetric(float64(total)/fed.Seconds(), "obs/s")
		b.ReportMetric(float64(rows), "inbox-rows")
		b.ReportMetric(float64(after), "inbox-rows-pruned")
		b.ReportMetric(ms(prune), "prune-ms")
		b.Logf("%d observations in %s (%.0f/s) on 2 replicas, all delivered %s after the first: latency p50 %s, p99 %s, max %s; %d lost, %d doubled; %d messages (%d with a file)",
			total, fed.Round(time.Millisecond), float64(total)/fed.Seconds(), drained.Round(time.Millisecond),
			pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), lost, doubled, msgs, files)
		b.Logf("store: %d alert rows, %d in exactly one first message of the channel", alerts, once)
		b.Logf("inbox: %d rows appended (%.0f/s), %s on disk (%d B a row); under load, pruning applied rows older than 2 s took %s: %d → %d rows; after the retention, %s: %d → %d rows",
			appended, float64(appended)/fed.Seconds(), human.Bytes(bytes), bytes/int64(max(rows, 1)), midPrune.Round(time.Millisecond), midBefore, midAfter,
			prune.Round(time.Millisecond), rows, after)
		if lost > 0 || doubled > 0 || alerts != total || once != total {
			b.Errorf("lost %d, doubled %d; %d alert rows and %d in exactly one first message, want %d", lost, doubled, alerts, once, total)
		}
	}
}
