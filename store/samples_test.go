package store_test

import (
	"context"
	"testing"
	"time"

	"opsbot/store"
	"opsbot/store/storetest"
)

func TestSamplesRangeLatestAndPrune(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		var in []store.Sample
		for i := 0; i < 30; i++ {
			at := store.T(base.Add(time.Duration(i) * time.Minute))
			in = append(in,
				store.Sample{Metric: "cpu_pct", At: at, Value: float64(i)},
				store.Sample{Metric: "response_time_ms", Target: "api", At: at, Value: float64(100 + i)})
		}
		if err := s.AddSamples(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.Samples(ctx, "cpu_pct", "", base.Add(10*time.Minute), base.Add(12*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Value != 10 || got[2].Value != 12 || !got[0].At.Equal(base.Add(10*time.Minute)) {
			t.Fatalf("range: %+v", got)
		}
		latest, err := s.LatestSamples(ctx, base.Add(20*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(latest) != 2 || latest[0].Metric != "cpu_pct" || latest[0].Value != 20 || latest[1].Target != "api" || latest[1].Value != 120 {
			t.Fatalf("latest: %+v", latest)
		}
		// Age: drop the first 5 minutes; cap: keep 10 per series.
		n, err := s.PruneSamples(ctx, base.Add(5*time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		if n != 40 { // 5 per series by age, then 15 per series over the cap
			t.Fatalf("pruned %d, want 40", n)
		}
		left, _ := s.Samples(ctx, "cpu_pct", "", base, base.Add(time.Hour))
		if len(left) != 10 || left[0].Value != 20 {
			t.Fatalf("left %+v", left)
		}
		if c, _ := s.CountSamples(ctx); c != 20 {
			t.Fatalf("count %d", c)
		}
		if err := s.AddSamples(ctx, []store.Sample{{Metric: "x"}}); err == nil {
			t.Fatal("sample without time accepted")
		}
		if c, _ := s.CountSamples(ctx); c != 20 {
			t.Fatalf("failed batch changed the table: %d", c)
		}
	})
}
