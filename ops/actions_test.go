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

func testActions(s *store.Store) *Actions {
	a := NewActions(s, nil)
	a.HealthInterval = 20 * time.Millisecond
	return a
}

func TestActionRestartRunsOnceAndChecksHealth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := startStandin(t, standin.Options{})
		a := testActions(s)
		before := time.Now()
		res, err := a.Run(context.Background(), b.Target(), ActRestart, "console:op")
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK() || !res.Healthy || res.HealthTook <= 0 || res.Run.ExitCode != 0 {
			t.Fatalf("result = %+v", res)
		}
		if st := b.State(); st.Restarts != 1 || !st.Running {
			t.Fatalf("stand-in state = %+v", st)
		}
		// The lock is free again and the maintenance window ends after the grace.
		if h, err := s.LockHolder(context.Background(), ActionLock("demo"), time.Now()); err != nil || h != "" {
			t.Fatalf("lock holder %q %v", h, err)
		}
		var m Maintenance
		if err := s.GetState(context.Background(), MaintenanceKey("demo"), &m); err != nil {
			t.Fatal(err)
		}
		t.Logf("run %s, health %s, total %s", res.Run.Duration, res.HealthTook, res.Took)
		if got := time.UnixMilli(m.Until); got.Before(before.Add(MaintenanceGrace*time.Millisecond)) || got.After(time.Now().Add(MaintenanceGrace*time.Millisecond)) {
			t.Fatalf("maintenance until %s", got)
		}
	})
}

func TestActionRefusedWhileAnotherRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := startStandin(t, standin.Options{Restart: standin.RestartHang})
		tg := b.Target()
		tg.CommandTimeout = 30 * time.Second
		a := testActions(s)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan ActionResult)
		go func() {
			res, _ := a.Run(ctx, tg, ActRestart, "slack:U1")
			done <- res
		}()
		waitUntil(t, func() bool { return b.State().Hangs == 1 })
		// While it runs the target is in maintenance for at least the
		// command's timeout, so health alerts are held.
		var m Maintenance
		if err := s.GetState(context.Background(), MaintenanceKey("demo"), &m); err != nil {
			t.Fatal(err)
		}
		if time.UnixMilli(m.Until).Before(time.Now().Add(tg.CommandTimeout)) {
			t.Fatalf("maintenance until %s", time.UnixMilli(m.Until))
		}
		// A second action, from another user and another Actions (another
		// replica sharing the store), is refused and runs nothing.
		_, err := testActions(s).Run(context.Background(), tg, ActUpdate, "discord:2")
		var busy *BusyError
		if !errors.As(err, &busy) || busy.Holder != "restart by slack:U1" {
			t.Fatalf("err = %v", err)
		}
		if err.Error() != "another action on demo is running (restart by slack:U1); try again when it has finished" {
			t.Fatalf("message = %q", err)
		}
		if st := b.State(); st.Updates != 0 {
			t.Fatalf("update ran: %+v", st)
		}
		cancel()
		res := <-done
		if res.RunErr == nil {
			t.Fatal("cancelled restart reported success")
		}
		// Free again: the next action may run.
		b.SetRestart(standin.RestartOK)
		if res, err := a.Run(context.Background(), tg, ActRestart, "slack:U1"); err != nil || !res.OK() {
			t.Fatalf("after release: %+v %v", res, err)
		}
	})
}

func TestActionHangKilledAtTimeout(t *testing.T) {
	b := startStandin(t, standin.Options{Restart: standin.RestartHang})
	tg := b.Target()
	tg.CommandTimeout = 300 * time.Millisecond
	res, err := testActions(storetest.SQLite(t)).Run(context.Background(), tg, ActRestart, "console:op")
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.RunErr, ErrTimeout) || !res.Run.TimedOut || res.OK() {
		t.Fatalf("result = %+v", res)
	}
	// The service was never touched, so it is still healthy.
	if !res.Healthy {
		t.Fatalf("health after hang = %v", res.HealthErr)
	}
}

func TestActionUpdateUnhealthyThenRollback(t *testing.T) {
	b := startStandin(t, standin.Options{UnhealthyAfterUpdate: true})
	tg := b.Target()
	tg.HealthDeadline = 600 * time.Millisecond
	a := testActions(storetest.SQLite(t))
	res, err := a.Run(context.Background(), tg, ActUpdate, "console:op")
	if err != nil {
		t.Fatal(err)
	}
	if res.RunErr != nil || res.Healthy || res.HealthErr == nil {
		t.Fatalf("update result = %+v", res)
	}
	tg.HealthDeadline = 10 * time.Second
	res, err = a.Run(context.Background(), tg, ActRollback, "console:op")
	if err != nil || !res.OK() {
		t.Fatalf("rollback = %+v %v", res, err)
	}
	if st := b.State(); st.Updates != 1 || st.Rollbacks != 1 {
		t.Fatalf("state = %+v", st)
	}
}

func TestActionNotConfigured(t *testing.T) {
	b := startStandin(t, standin.Options{})
	tg := b.Target()
	tg.Rollback = nil
	s := storetest.SQLite(t)
	_, err := testActions(s).Run(context.Background(), tg, ActRollback, "console:op")
	if !errors.Is(err, ErrNotConfigured) || err.Error() != "rollback demo: no rollback command in the configuration: not configured" {
		t.Fatalf("err = %v", err)
	}
	if h, _ := s.LockHolder(context.Background(), ActionLock("demo"), time.Now()); h != "" {
		t.Fatal("lock taken for nothing")
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
