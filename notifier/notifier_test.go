package notifier_test

import (
	"opsbot/alert"

	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"opsbot/bot/console"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

type rig struct {
	n   *notifier.Notifier
	clk *clock
	cfg *config.Config
	st  *store.Store
}

func newRig(t *testing.T, st *store.Store, p chat.Poster) *rig {
	t.Helper()
	cfg := config.Default()
	clk := newClock()
	n := notifier.New(st, p, func() *config.Config { return cfg }, slog.New(slog.DiscardHandler))
	n.Now = clk.Now
	n.Jitter = func() float64 { return 0 }
	return &rig{n: n, clk: clk, cfg: cfg, st: st}
}

func (r *rig) drain(t *testing.T) {
	t.Helper()
	// Observations first (the webhook only appends them), then delivery.
	if err := r.n.Tick(context.Background()); err != nil {
		t.Fatalf("tick: %v", err)
	}
	if _, err := r.n.Drain(context.Background()); err != nil {
		t.Fatalf("drain: %v", err)
	}
}

func (r *rig) tick(t *testing.T) {
	t.Helper()
	if err := r.n.Tick(context.Background()); err != nil {
		t.Fatalf("tick: %v", err)
	}
}

func (r *rig) notify(t *testing.T, as ...alert.Alert) {
	t.Helper()
	if err := r.n.Notify(context.Background(), as...); err != nil {
		t.Fatalf("notify: %v", err)
	}
	// The pipeline applies what producers observed.
	if err := r.n.Tick(context.Background()); err != nil {
		t.Fatalf("tick: %v", err)
	}
}

func (r *rig) subscribe(t *testing.T, channel, minSev, oncall string, kinds ...string) {
	t.Helper()
	if err := r.n.Subscribe(context.Background(), channel, kinds, minSev, oncall, "test"); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
}

func firing(fp, kind, rule, target, sev, summary string, v float64) alert.Alert {
	return alert.Alert{Fingerprint: fp, Kind: kind, Rule: rule, Target: target, Severity: sev, Status: alert.Firing, Summary: summary, Value: v}
}

func resolved(fp string) alert.Alert {
	return alert.Alert{Fingerprint: fp, Kind: "threshold", Status: alert.Resolved}
}

// The console adapter shows exactly: one grouped message for two alerts
// that started within the group window, then on resolution of one the
// message edited in place and a reply in its thread.
func TestConsoleGroupedThenResolved(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		var out bytes.Buffer
		router := chat.NewRouter()
		router.Set("console", console.NewPoster(&out))
		r := newRig(t, st, router)
		r.subscribe(t, "console", "", "", "threshold")

		r.notify(t, firing("cpu/api", "threshold", "cpu_high", "api", "warning", "CPU 93% > 85%", 93))
		r.clk.Advance(10 * time.Second)
		r.notify(t, firing("mem/api", "threshold", "memory_high", "api", "critical", "memory 95% > 90%", 95))
		r.clk.Advance(19 * time.Second)
		r.tick(t)
		r.drain(t)
		if out.Len() != 0 {
			t.Fatalf("posted before the group window closed:\n%s", out.String())
		}
		r.clk.Advance(time.Second)
		r.tick(t)
		r.drain(t)
		r.clk.Advance(5 * time.Minute)
		r.notify(t, resolved("cpu/api"))
		r.drain(t)
		want := `[#1] [CRITICAL] 2 alerts firing
#2 [critical] memory_high on api: memory 95% > 90% — firing 20 s · fp mem/api
#1 [warning] cpu_high on api: CPU 93% > 85% — firing 30 s · fp cpu/api
(/ops ack <id> acknowledges one alert)
[Acknowledge all]
[Silence 1h]
[Silence 4h]
[Silence 24h]
[#1 updated] [CRITICAL] 2 alerts: 1 firing, 1 resolved — #2 [critical] memory_high on api: memory 95% > 90% — firing 5 min 20 s · fp mem/api · #1 [warning] cpu_high on api: CPU 93% > 85% — resolved after 5 min 30 s · fp cpu/api
    ↳ [#2 in #1] [RESOLVED] Resolved: cpu_high on api
      #1 resolved after 5 min 30 s.
`
		if got := out.String(); got != want {
			t.Fatalf("console shows:\n%s\nwant:\n%s", got, want)
		}
	})
}
