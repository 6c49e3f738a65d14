package scheduler_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/scheduler"
	"opsbot/store"
	"opsbot/store/storetest"
)

var shanghai = mustLoc("Asia/Shanghai")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func newSched(t *testing.T, st *store.Store, jobs ...scheduler.Job) *scheduler.Scheduler {
	t.Helper()
	s, err := scheduler.New(st, nil, nil, "test", jobs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tick moves the scheduler's clock to now and runs what is due.
func tick(ctx context.Context, s *scheduler.Scheduler, now time.Time) {
	s.Now = func() time.Time { return now }
	s.Tick(ctx, now)
	s.Wait()
}

func TestBackupAt0200RunsOnceWhenTheClockPassesIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var runs atomic.Int32
		var dues []time.Time
		s := newSched(t, st, scheduler.Job{Name: "backup", Spec: "0 2 * * *", Location: shanghai, Run: func(ctx context.Context, due time.Time) error {
			runs.Add(1)
			dues = append(dues, due)
			return nil
		}})
		start := time.Date(2026, 11, 25, 23, 0, 0, 0, shanghai)
		if err := s.Start(ctx, start); err != nil {
			t.Fatal(err)
		}
		for now := start; now.Before(start.Add(4 * time.Hour)); now = now.Add(time.Minute) {
			tick(ctx, s, now)
		}
		if runs.Load() != 1 || !dues[0].Equal(time.Date(2026, 11, 26, 2, 0, 0, 0, shanghai)) {
			t.Fatalf("runs %d dues %v", runs.Load(), dues)
		}
		jobs, _ := s.List(ctx)
		if jobs[0].Last.Result != "ok" || !jobs[0].Next.Equal(time.Date(2026, 11, 27, 2, 0, 0, 0, shanghai)) {
			t.Fatalf("list: %+v", jobs[0])
		}
	})
}

func TestCatchUpAfterDowntime(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	var runs atomic.Int32
	job := scheduler.Job{Name: "backup", Spec: "0 2 * * *", Location: shanghai, Run: func(context.Context, time.Time) error { runs.Add(1); return nil }}
	s := newSched(t, st, job)
	day1 := time.Date(2026, 11, 24, 1, 59, 0, 0, shanghai)
	s.Start(ctx, day1)
	tick(ctx, s, day1.Add(time.Minute))
	if runs.Load() != 1 {
		t.Fatalf("first run: %d", runs.Load())
	}
	// The bot is down from day 1 03:00 to day 3 09:00: it missed two 02:00s.
	s2 := newSched(t, st, job)
	back := time.Date(2026, 11, 26, 9, 0, 0, 0, shanghai)
	s2.Start(ctx, back)
	tick(ctx, s2, back)
	if runs.Load() != 2 {
		t.Fatalf("catch-up should run once at start, runs %d", runs.Load())
	}
	tick(ctx, s2, back.Add(time.Hour))
	if runs.Load() != 2 {
		t.Fatalf("catch-up ran more than once: %d", runs.Load())
	}
	// Down for less than a period: no catch-up.
	s3 := newSched(t, st, job)
	s3.Start(ctx, back.Add(2*time.Hour))
	tick(ctx, s3, back.Add(2*time.Hour))
	if runs.Load() != 2 {
		t.Fatalf("no catch-up wanted, runs %d", runs.Load())
	}
}

func TestNoOverlapAndFailuresRecorded(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	var okRuns atomic.Int32
	s := newSched(t, st,
		scheduler.Job{Name: "slow", Spec: "* * * * *", Run: func(ctx context.Context, _ time.Time) error {
			started <- struct{}{}
			<-release
			return nil
		}},
		scheduler.Job{Name: "broken", Spec: "* * * * *", Run: func(context.Context, time.Time) error { panic("boom") }},
		scheduler.Job{Name: "fine", Spec: "* * * * *", Run: func(context.Context, time.Time) error { okRuns.Add(1); return errors.New("disk full") }},
	)
	t0 := time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)
	s.Start(ctx, t0)
	s.Now = func() time.Time { return t0.Add(time.Minute) }
	s.Tick(ctx, t0.Add(time.Minute))
	<-started
	// Wait until the quick jobs have finished and only slow still runs.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		jobs, _ := s.List(ctx)
		busy := 0
		for _, j := range jobs {
			if j.Running {
				busy++
			}
		}
		if busy == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("quick jobs still running: %+v", jobs)
		}
	}
	s.Now = func() time.Time { return t0.Add(2 * time.Minute) }
	s.Tick(ctx, t0.Add(2*time.Minute)) // slow is still running: skipped
	close(release)
	s.Wait()
	runs, _ := st.JobRuns(ctx, "slow")
	if len(runs) != 2 || runs[0].Result != "ok" || runs[1].Result != "skipped" {
		t.Fatalf("slow runs: %+v", runs)
	}
	br, _ := st.LastJobRun(ctx, "broken")
	if br.Result != "error" || br.Error != "panic: boom" {
		t.Fatalf("broken: %+v", br)
	}
	fr, _ := st.JobRuns(ctx, "fine")
	if len(fr) != 2 || fr[1].Error != "disk full" || okRuns.Load() != 2 {
		t.Fatalf("a failing job must not stop the others: %+v", fr)
	}
}

func TestPausePersists(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	var runs atomic.Int32
	job := scheduler.Job{Name: "cleanup", Spec: "* * * * *", Run: func(context.Context, time.Time) error { runs.Add(1); return nil }}
	s := newSched(t, st, job)
	t0 := time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)
	s.Start(ctx, t0)
	if err := s.SetPaused(ctx, "cleanup", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPaused(ctx, "nosuch", true); err == nil {
		t.Fatal("pausing an unknown job succeeded")
	}
	s2 := newSched(t, st, job) // a restart of the bot
	s2.Start(ctx, t0)
	tick(ctx, s2, t0.Add(time.Minute))
	if runs.Load() != 0 {
		t.Fatal("paused job ran after a restart")
	}
	s2.SetPaused(ctx, "cleanup", false)
	tick(ctx, s2, t0.Add(2*time.Minute))
	if runs.Load() != 1 {
		t.Fatalf("resumed job runs %d", runs.Load())
	}
}

func TestBadSpecNamesTheJob(t *testing.T) {
	_, err := scheduler.New(storetest.SQLite(t), nil, nil, "x", []scheduler.Job{{Name: "backup", Spec: "0 25 * * *", Run: func(context.Context, time.Time) error { return nil }}})
	if err == nil || err.Error() != `scheduler: job backup: bad spec "0 25 * * *": end of range (25) above maximum (23): 25` {
		t.Fatalf("got %v", err)
	}
}
