package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"opsbot/scheduler"
	"opsbot/standin"
	"opsbot/store"
	"opsbot/store/storetest"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "standin-ctl" {
		os.Exit(standin.CtlMain(os.Args[2:]))
	}
	if name := os.Getenv("OPSBOT_LEADER_CHILD"); name != "" {
		os.Exit(leaderChild(name, os.Getenv("OPSBOT_LEADER_DSN")))
	}
	os.Exit(m.Run())
}

// leaderChild is one opsbot replica: it competes for the lease and, while
// leading, runs a scheduler with a job due every second.
func leaderChild(name, dsn string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	st, err := store.Open(ctx, "postgres", dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	e := &scheduler.Elector{Store: st, Holder: name, TTL: 2 * time.Second}
	e.Run(ctx, func(ctx context.Context) error {
		s, err := scheduler.New(st, nil, nil, name, []scheduler.Job{{Name: "tick", Spec: "@every 1s", Run: func(context.Context, time.Time) error { return nil }}})
		if err != nil {
			return err
		}
		return s.Run(ctx)
	})
	return 0
}

func TestFollowerTakesOverWithinTTL(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	st, err := store.Open(ctx, "postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	start := func(name string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "OPSBOT_LEADER_CHILD="+name, "OPSBOT_LEADER_DSN="+dsn)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	runsBy := func() map[string]int {
		runs, err := st.JobRuns(ctx, "tick")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, r := range runs {
			m[r.Holder]++
		}
		return m
	}
	wait := func(what string, limit time.Duration, cond func() bool) time.Duration {
		t0 := time.Now()
		for !cond() {
			if time.Since(t0) > limit {
				t.Fatalf("%s: not within %s (runs %v)", what, limit, runsBy())
			}
			time.Sleep(50 * time.Millisecond)
		}
		return time.Since(t0)
	}
	a := start("replica-a")
	wait("a leads", 15*time.Second, func() bool { return runsBy()["replica-a"] >= 2 })
	start("replica-b")
	time.Sleep(2500 * time.Millisecond)
	if n := runsBy()["replica-b"]; n != 0 {
		t.Fatalf("the follower ran %d jobs while the leader lived", n)
	}
	a.Process.Signal(syscall.SIGKILL)
	a.Wait()
	killed := time.Now()
	took := wait("b takes over", 10*time.Second, func() bool { return runsBy()["replica-b"] >= 1 })
	t.Logf("follower took over %s after the leader was killed (TTL 2s)", took.Round(10*time.Millisecond))
	if took > 2*time.Second+time.Second {
		t.Fatalf("takeover took %s, TTL is 2s", took)
	}
	_ = killed
	// Every due time ran exactly once.
	runs, _ := st.JobRuns(ctx, "tick")
	seen := map[int64]bool{}
	for _, r := range runs {
		if seen[r.DueAt.UnixMilli()] {
			t.Fatalf("due time %s ran twice", r.DueAt)
		}
		seen[r.DueAt.UnixMilli()] = true
	}
}

// Leader work that stops on its own (a store error as the scheduler starts)
// is started again: a replica never keeps serving commands with nothing
// scheduled behind it. When ctx ends the lease is given up.
func TestElectorStartsWorkAgainAfterItStopped(t *testing.T) {
	st := storetest.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	again := make(chan struct{})
	e := &scheduler.Elector{Store: st, Holder: "a", TTL: time.Second,
		// Pauses pass at once; the millisecond keeps the loop from spinning.
		Sleep: func(ctx context.Context, d time.Duration) error {
			time.Sleep(time.Millisecond)
			return ctx.Err()
		}}
	done := make(chan error, 1)
	go func() {
		done <- e.Run(ctx, func(ctx context.Context) error {
			if calls.Add(1) == 1 {
				return errors.New("job states: connection reset")
			}
			close(again)
			<-ctx.Done()
			return nil
		})
	}()
	select {
	case <-again:
	case <-time.After(10 * time.Second):
		t.Fatalf("work not started again after it stopped (calls %d)", calls.Load())
	}
	if !e.IsLeader() {
		t.Fatal("not leading while its work runs")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ok, err := st.TryLock(context.Background(), scheduler.LeaderLock, "b", time.Second, time.Now())
	if err != nil || !ok {
		t.Fatalf("lease not released at the end: %v %v", ok, err)
	}
}
