package notifier_test

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// Copies of one observation in a batch (two replicas, two Alertmanagers)
// are applied as one: the alert table ends exactly as when each copy is
// applied on its own, in order — the first copy's labels and start, the
// latest value, summary and severity, the latest detail given; a fire,
// resolve, fire of one fingerprint still makes two episodes; a second
// resolve changes nothing. The actions stage hears of the copies once.
func TestCopiesInOneBatchApplyAsOne(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	type obs struct {
		source string
		a      alert.Alert
	}
	x1 := firing("x", "external", "am:HighLatency", "api", "warning", "p99 1.2 s", 1.2)
	x1.Labels, x1.StartsAt = map[string]string{"job": "api"}, t0.Add(-time.Minute)
	x2 := firing("x", "external", "am:HighLatency", "api", "critical", "p99 2.5 s", 2.5)
	x2.Detail = "from the second Alertmanager"
	x2.Labels, x2.StartsAt = map[string]string{"job": "api", "replica": "b"}, t0.Add(-30*time.Second)
	x3 := firing("x", "external", "am:HighLatency", "api", "critical", "p99 2.7 s", 2.7)
	y1 := firing("y", "threshold", "cpu_high", "api", "warning", "CPU 91 %", 91)
	y2 := resolved("y")
	y2.Summary, y2.Value = "CPU 40 %", 40
	y3 := firing("y", "threshold", "cpu_high", "api", "warning", "CPU 93 %", 93)
	z1 := firing("z", "threshold", "disk_high", "api", "critical", "disk 97 %", 97)
	z2 := resolved("z")
	z2.Summary, z2.Value = "disk 80 %", 80
	z3 := resolved("z")
	z3.Summary, z3.Value = "disk 70 %", 70
	seq := []obs{{"am-a", x1}, {"am-b", x2}, {"am-a", y1}, {"am-a", x3}, {"am-b", y2}, {"am-a", y3}, {"am-a", z1}, {"am-a", z2}, {"am-b", z3}}

	type row struct {
		Fingerprint string   `db:"fingerprint"`
		State       string   `db:"state"`
		Severity    string   `db:"severity"`
		Labels      string   `db:"labels"`
		Summary     string   `db:"summary"`
		Detail      string   `db:"detail"`
		Value       float64  `db:"value"`
		StartedAt   int64    `db:"started_at"`
		LastSeenAt  int64    `db:"last_seen_at"`
		ResolvedAt  *int64   `db:"resolved_at"`
		EndValue    *float64 `db:"end_value"`
		EndSummary  string   `db:"end_summary"`
	}
	// run applies seq, with a pipeline pass after every observation or
	// once after all of them, and returns the alert table.
	run := func(t *testing.T, oneByOne bool) ([]row, []alert.Alert) {
		ctx := context.Background()
		st := storetest.SQLite(t)
		cfg := config.Default()
		n := notifier.New(st, nil, func() *config.Config { return cfg }, slog.New(slog.DiscardHandler))
		n.Now = func() time.Time { return t0 }
		heard := &hearing{}
		n.SetActions(heard)
		sources := map[string]alert.Sink{"am-a": n.Source("am-a"), "am-b": n.Source("am-b")}
		for _, o := range seq {
			if err := sources[o.source].Notify(ctx, o.a); err != nil {
				t.Fatal(err)
			}
			if oneByOne {
				if err := n.Tick(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		var rows []row
		if err := st.Select(ctx, &rows, `SELECT fingerprint, state, severity, labels, summary, detail, value, started_at, last_seen_at,
			resolved_at, end_value, end_summary FROM alerts ORDER BY fingerprint, started_at, state`); err != nil {
			t.Fatal(err)
		}
		if pending, _, err := store.InboxCounts(ctx, st.DB); err != nil || pending != 0 {
			t.Fatalf("%d observations not applied (%v)", pending, err)
		}
		return rows, heard.firing
	}
	want, heardEach := run(t, true)
	got, heardBatch := run(t, false)
	// Told one by one: x three times, y twice, z once. In one batch: once
	// per run of copies, with the latest value.
	if len(heardEach) != 6 || len(heardBatch) != 4 {
		t.Errorf("actions heard %d firing alerts one by one (want 6), %d in one batch (want 4)", len(heardEach), len(heardBatch))
	}
	if len(heardBatch) > 0 && (heardBatch[0].Fingerprint != "x" || heardBatch[0].Value != 2.7) {
		t.Errorf("actions heard %+v first, want x at 2.7", heardBatch[0])
	}
	if len(want) != 4 {
		t.Fatalf("applied one by one: %d alert rows, want 4 (x, y twice, z): %+v", len(want), want)
	}
	if want[0].Severity != "critical" || want[0].Summary != "p99 2.7 s" || want[0].Detail != "from the second Alertmanager" ||
		want[0].Labels != `{"job":"api"}` || want[0].StartedAt != t0.Add(-time.Minute).UnixMilli() {
		t.Fatalf("applied one by one, x is %+v", want[0])
	}
	if len(got) != len(want) {
		t.Fatalf("applied in one batch: %d rows, one by one: %d\n got %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("row %d applied in one batch:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// hearing is an actions stage that records what it is told.
type hearing struct{ firing []alert.Alert }

func (h *hearing) Firing(_ context.Context, a alert.Alert, _ bool) { h.firing = append(h.firing, a) }

func (h *hearing) Enqueue(context.Context, string, string, string) error { return nil }
