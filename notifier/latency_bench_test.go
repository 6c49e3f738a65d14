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
// (n.Run: pipeline and delivery lanes, neither fenced, so they also take
// turns on the alert writer's lock) through the real Slack adapter to the
// Slack fake. The adapter's pacing of about one post a second per channel
// is lifted (as in TestTwoPipelinesOneMessagePerAlert): with group_wait 0
// it would measure Slack's rate limit, not the pipeline. For 10 s, 1,000
// observations a second, alternating between the replicas, each a
// distinct fingerprint firing, each its own Notify call made on schedule
// whatever the earlier ones are doing (an open loop: a slow store shows
// as latency, not as a slower feed).
//
// Latency is when the fake received the message carrying the fingerprint
// in its text, or else the file attached to it (when the upload was
// completed), minus when Notify was called. It reports p50, p99 and max,
// the fingerprints never posted and those posted more than once, and the
// inbox: rows appended, their size on disk, and what store.Prune removes
// and how long it takes, once halfway through the load and once after
// the retention.
func BenchmarkPipelineLatency(b *testing.B) {
	for i := 0; i < b.N; i++ {
		benchLatency(b, 1000, 10*time.Second)
	}
}

func benchLatency(b *testing.B, rate int, duration time.Duration) {
	const channel = "C1"
	dsn := storetest.PostgresDSN(b)
	fake := slackfake.New()
	b.Cleanup(fake.Close)
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
	b.Cleanup(func() { cancel(); run.Wait() })

	total := rate * int(duration/time.Second)
	called := make([]time.Time, total)
	var (
		feed    sync.WaitGroup
		errMu   sync.Mutex
		errs    int
		lastErr error
		mid     pruneRun
		midDone = make(chan struct{})
	)
	start := time.Now()
	for j := range total {
		if d := time.Until(start.Add(time.Duration(j) * time.Second / time.Duration(rate))); d > 0 {
			time.Sleep(d) // the feed's schedule
		}
		if j == total/2 {
			// Cleanup under load: what was applied or delivered over 2 s ago.
			go func() {
				defer close(midDone)
				mid = prune(ctx, st, store.RetentionPolicy{Inbox: 2 * time.Second}, time.Now())
			}()
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
	<-midDone
	if mid.err != nil {
		b.Fatal(mid.err)
	}

	// Polling the store for the outcome, with a deadline.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		waiting := countRows(b, st, `SELECT COUNT(*) FROM alert_inbox WHERE processed_at IS NULL`)
		unrouted := countRows(b, st, `SELECT COUNT(*) FROM alerts WHERE routed_at IS NULL`)
		pending := countRows(b, st, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND parked_at IS NULL`)
		if waiting+unrouted+pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("not delivered after 5 min: %d observations waiting, %d alerts unrouted, %d notifications pending", waiting, unrouted, pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	drained := time.Since(start)

	got, msgs, files := receivedAt(b, fake, channel)
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
	if len(lat) == 0 {
		b.Fatalf("none of %d alerts reached Slack", total)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	// The store's side of the same count.
	alerts := countRows(b, st, `SELECT COUNT(*) FROM alerts`)
	once := countRows(b, st, `SELECT COUNT(*) FROM (SELECT alert_id FROM alert_messages WHERE channel = ? AND role = 'first' GROUP BY alert_id HAVING COUNT(*) = 1) x`, "slack:"+channel)

	appended := countRows(b, st, `SELECT COALESCE(MAX(id), 0) FROM alert_inbox`)
	var bytes int64
	if err := st.Get(ctx, &bytes, `SELECT pg_total_relation_size('alert_inbox')`); err != nil {
		b.Fatal(err)
	}
	// After the retention every applied observation is older than it.
	retention := cfg.Store.Retention.Inbox
	final := prune(ctx, st, store.RetentionPolicy{Inbox: retention}, time.Now().Add(retention+time.Minute))
	if final.err != nil {
		b.Fatal(final.err)
	}

	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(pct(0.50)), "p50-ms")
	b.ReportMetric(ms(pct(0.99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(float64(lost), "lost")
	b.ReportMetric(float64(doubled), "doubled")
	b.ReportMetric(float64(msgs), "messages")
	b.ReportMetric(float64(total)/fed.Seconds(), "obs/s")
	b.ReportMetric(float64(final.before), "inbox-rows")
	b.ReportMetric(float64(final.after), "inbox-rows-after-prune")
	b.ReportMetric(ms(final.took), "prune-ms")
	b.ReportMetric(ms(mid.took), "prune-under-load-ms")
	perRow := bytes / int64(max(appended, 1))
	b.Logf("%d observations in %s (%.0f/s) on 2 replicas, the last delivered %s after the first was made: latency p50 %s, p99 %s, max %s; %d lost, %d doubled; %d messages (%d with a file)",
		total, fed.Round(time.Millisecond), float64(total)/fed.Seconds(), drained.Round(time.Millisecond),
		pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), lost, doubled, msgs, files)
	b.Logf("store: %d alert rows, %d of them in exactly one first message of the channel", alerts, once)
	b.Logf("inbox: %d rows appended, %s on disk with indexes (%d B a row; at %d/s the default retention of %s keeps %s); pruning rows applied over 2 s ago under load: %s, %d → %d rows; after the retention: %s, %d → %d rows",
		appended, human.Bytes(bytes), perRow, rate, human.Duration(retention), human.Bytes(perRow*int64(rate)*int64(retention/time.Second)),
		mid.took.Round(time.Millisecond), mid.before, mid.after, final.took.Round(time.Millisecond), final.before, final.after)
	if lost > 0 || doubled > 0 || alerts != total || once != total {
		b.Errorf("lost %d, doubled %d; %d alert rows, %d in exactly one first message; want %d, none lost or doubled", lost, doubled, alerts, once, total)
	}
}

// pruneRun is one store.Prune: inbox rows before and after, and its time.
type pruneRun struct {
	before, after int
	took          time.Duration
	err           error
}

func prune(ctx context.Context, st *store.Store, p store.RetentionPolicy, now time.Time) pruneRun {
	var r pruneRun
	if r.err = st.Get(ctx, &r.before, `SELECT COUNT(*) FROM alert_inbox`); r.err != nil {
		return r
	}
	t0 := time.Now()
	if _, r.err = st.Prune(ctx, p, now); r.err != nil {
		return r
	}
	r.took = time.Since(t0)
	r.err = st.Get(ctx, &r.after, `SELECT COUNT(*) FROM alert_inbox`)
	return r
}

// receivedAt returns, per fingerprint, when the fake received each
// top-level message of channel carrying it: the message's time when its
// text names it, else the time its attached file was completed.
func receivedAt(b *testing.B, fake *slackfake.Server, channel string) (got map[string][]time.Time, msgs, files int) {
	got = map[string][]time.Time{}
	inText := map[string]map[string]bool{} // message ts → fingerprints in its text
	for _, m := range fake.Messages() {
		if m.Channel != channel || m.ThreadTS != "" {
			continue
		}
		msgs++
		seen := map[string]bool{}
		for _, fp := range latFP.FindAllString(m.Text+string(m.Blocks)+string(m.Attachments), -1) {
			if !seen[fp] {
				seen[fp] = true
				got[fp] = append(got[fp], m.Received)
			}
		}
		inText[m.TS] = seen
	}
	// A file is complete when files.completeUploadExternal names its
	// channel. One channel's messages go out one at a time (one lane, its
	// head claimed by one replica), so the n-th completion request of the
	// channel is its n-th file.
	var completed []time.Time
	for _, rq := range fake.Requests(channel) {
		if rq.Method == "files.completeUploadExternal" {
			completed = append(completed, rq.At)
		}
	}
	for _, f := range fake.Files() {
		if f.Channel != channel || !f.Completed {
			continue
		}
		if files >= len(completed) {
			b.Fatalf("more completed files than completion requests (%d)", len(completed))
		}
		at := completed[files]
		files++
		seen := map[string]bool{}
		for _, fp := range latFP.FindAllString(string(f.Data), -1) {
			// Files go in their message's thread: one named in the
			// message's text was received with it.
			if !seen[fp] && !inText[f.ThreadTS][fp] {
				seen[fp] = true
				got[fp] = append(got[fp], at)
			}
		}
	}
	if files != len(completed) {
		b.Fatalf("%d completed files, %d completion requests", files, len(completed))
	}
	return got, msgs, files
}
