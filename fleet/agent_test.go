package fleet_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/fleet"
	"opsbot/remediate"
	"opsbot/store"
	"opsbot/store/storetest"
)

// An agent whose host name another agent registered stops, and leaves the
// newcomer's row alone; a clean stop marks the host stopped.
func TestAgentTakenOverStops(t *testing.T) {
	st := storetest.Postgres(t)
	ctx := context.Background()
	if err := remediate.MigrateQueue(ctx, st, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Agent.Host = "web-7"
	cfg.Agent.HeartbeatInterval = 100 * time.Millisecond
	cfg.Agent.SampleInterval = time.Hour
	a := &fleet.Agent{Store: st, Config: func() *config.Config { return cfg }, Log: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var h store.Host
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if h, err = st.HostByName(ctx, "web-7"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not registered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	now := time.Now()
	h.Incarnation, h.StartedAt, h.LastHeartbeat = "newcomer", store.T(now), store.T(now)
	if err := st.RegisterHost(ctx, h); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "another agent registered this host name") {
			t.Fatalf("run ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent kept running after its name was taken over")
	}
	got, err := st.HostByName(ctx, "web-7")
	if err != nil || got.Incarnation != "newcomer" || !got.StoppedAt.IsZero() {
		t.Fatalf("row %+v %v", got, err)
	}

	// A clean stop.
	cfg2 := *cfg
	cfg2.Agent.Host = "web-8"
	b := &fleet.Agent{Store: st, Config: func() *config.Config { return &cfg2 }, Log: slog.New(slog.DiscardHandler)}
	bctx, cancel := context.WithCancel(ctx)
	bdone := make(chan error, 1)
	go func() { bdone <- b.Run(bctx) }()
	for i := 0; ; i++ {
		if _, err := st.HostByName(ctx, "web-8"); err == nil {
			break
		}
		if i > 500 {
			t.Fatal("web-8 not registered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-bdone; err != nil {
		t.Fatal(err)
	}
	got, _ = st.HostByName(ctx, "web-8")
	if got.StoppedAt.IsZero() {
		t.Fatal("a clean stop left the host running")
	}
}
