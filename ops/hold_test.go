package ops

import (
	"context"
	"errors"
	"testing"
	"time"

	"opsbot/standin"
	"opsbot/store"
	"opsbot/store/storetest"
)

func maintenanceUntil(t *testing.T, s *store.Store) (time.Time, bool) {
	t.Helper()
	var m Maintenance
	err := s.GetState(context.Background(), MaintenanceKey("demo"), &m)
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return time.UnixMilli(m.Until), true
}

// An automatic restart holds nothing, neither while it runs nor after:
// the alert that caused it stays visible. It still takes the action lock.
func TestAutomaticRestartHoldsNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := startStandin(t, standin.Options{Restart: standin.RestartHang})
		tg := b.Target()
		tg.CommandTimeout = 30 * time.Second
		a := testActions(s)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan ActionResult)
		go func() {
			res, _ := a.RunAutomatic(ctx, tg, ActRestart, "opsbot (automatic)")
			done <- res
		}()
		waitUntil(t, func() bool { return b.State().Hangs == 1 })
		if until, held := maintenanceUntil(t, s); held {
			t.Fatalf("an automatic restart holds alerts until %s", until)
		}
		if _, err := testActions(s).Run(context.Background(), tg, ActUpdate, "slack:U1"); !errors.As(err, new(*BusyError)) {
			t.Fatalf("a human update beside the automatic restart: %v", err)
		}
		cancel()
		<-done
		b.SetRestart(standin.RestartOK)
		res, err := a.RunAutomatic(context.Background(), tg, ActRestart, "opsbot (automatic)")
		if err != nil || !res.OK() {
			t.Fatalf("%+v %v", res, err)
		}
		if until, held := maintenanceUntil(t, s); held {
			t.Fatalf("a finished automatic restart holds alerts until %s", until)
		}
	})
}

// A human restart that leaves the target unhealthy, or whose command
// fails, ends its hold when it ends: no grace hides the outage.
func TestFailedHumanRestartEndsHoldEarly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := startStandin(t, standin.Options{Restart: standin.RestartUnhealthy})
		tg := b.Target()
		tg.HealthDeadline = 300 * time.Millisecond
		a := testActions(s)
		res, err := a.Run(context.Background(), tg, ActRestart, "slack:U1")
		if err != nil || res.Healthy {
			t.Fatalf("%+v %v", res, err)
		}
		until, held := maintenanceUntil(t, s)
		if !held || until.After(time.Now()) {
			t.Fatalf("hold after an unhealthy restart ends %s (now %s)", until, time.Now())
		}
		// A command that fails (killed at its timeout).
		b.SetRestart(standin.RestartHang)
		tg.CommandTimeout = 200 * time.Millisecond
		res, err = a.Run(context.Background(), tg, ActRestart, "slack:U1")
		if err != nil || res.RunErr == nil {
			t.Fatalf("%+v %v", res, err)
		}
		if until, _ := maintenanceUntil(t, s); until.After(time.Now()) {
			t.Fatalf("hold after a failed restart ends %s (now %s)", until, time.Now())
		}
		// A restart that works keeps the grace.
		b.SetRestart(standin.RestartOK)
		b.SetHealth(standin.HealthOK, 0)
		tg.CommandTimeout = 10 * time.Second
		tg.HealthDeadline = 10 * time.Second
		if res, err := a.Run(context.Background(), tg, ActRestart, "slack:U1"); err != nil || !res.OK() {
			t.Fatalf("%+v %v", res, err)
		}
		if until, _ := maintenanceUntil(t, s); until.Before(time.Now().Add(MaintenanceGrace*time.Millisecond - 10*time.Second)) {
			t.Fatalf("hold after a good restart ends %s, before its grace", until)
		}
	})
}
