package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"opsbot/store"
	"opsbot/store/storetest"
)

// An agent registers, heartbeats under its incarnation only, stops cleanly,
// and a restart takes its row over again.
func TestHosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.UnixMilli(1_700_000_000_000)
		h := store.Host{Name: "web-2", Version: "v1", Labels: `{"role":"api"}`, Targets: `[{"name":"api"}]`, HeartbeatEvery: 1000,
			Incarnation: "a", StartedAt: store.T(now), LastHeartbeat: store.T(now)}
		if err := s.RegisterHost(ctx, h); err != nil {
			t.Fatal(err)
		}
		if err := s.RegisterHost(ctx, store.Host{Name: "web-1"}); err == nil {
			t.Fatal("a host without a heartbeat interval was registered")
		}
		ok, err := s.HostHeartbeat(ctx, "web-2", "a", now.Add(time.Second), `{"cpu":3}`)
		if err != nil || !ok {
			t.Fatalf("heartbeat: %v %v", ok, err)
		}
		if ok, _ := s.HostHeartbeat(ctx, "web-2", "b", now.Add(2*time.Second), ""); ok {
			t.Fatal("another incarnation's heartbeat was taken")
		}
		got, err := s.HostByName(ctx, "web-2")
		if err != nil || got.LastHeartbeat.UnixMilli() != now.Add(time.Second).UnixMilli() || got.Metrics != `{"cpu":3}` || !got.StoppedAt.IsZero() {
			t.Fatalf("row %+v %v", got, err)
		}
		if err := s.StopHost(ctx, "web-2", "a", now.Add(3*time.Second)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.HostByName(ctx, "web-2")
		if got.StoppedAt.UnixMilli() != now.Add(3*time.Second).UnixMilli() {
			t.Fatalf("stopped at %v", got.StoppedAt)
		}
		h.Incarnation, h.LastHeartbeat = "b", store.T(now.Add(4*time.Second))
		if err := s.RegisterHost(ctx, h); err != nil {
			t.Fatal(err)
		}
		hs, err := s.Hosts(ctx)
		if err != nil || len(hs) != 1 || hs[0].Incarnation != "b" || !hs[0].StoppedAt.IsZero() {
			t.Fatalf("hosts %+v %v", hs, err)
		}
		if _, err := s.HostByName(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown host: %v", err)
		}
	})
}
