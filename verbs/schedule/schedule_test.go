package schedule_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/scheduler"
	"opsbot/store/storetest"
	"opsbot/verbs/schedule"
)

func TestScheduleVerbs(t *testing.T) {
	st := storetest.SQLite(t)
	cfg := config.Default()
	cfg.Roles = map[string]config.Role{"ops": {Users: []string{"slack:UOPS"}, Verbs: []string{"schedule"}}}
	var runs atomic.Int32
	s, err := scheduler.New(st, nil, nil, "test", []scheduler.Job{
		{Name: "backup", Spec: "0 2 * * *", Run: func(context.Context, time.Time) error { runs.Add(1); return nil }},
		{Name: "cleanup", Spec: "30 3 * * *", Run: func(context.Context, time.Time) error { return context.DeadlineExceeded }},
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := commands.NewRegistry(func() *config.Config { return cfg }, st, nil)
	reg.MustRegister(schedule.Verbs(schedule.Deps{Scheduler: func() *scheduler.Scheduler { return s }})...)
	do := func(user, text string) commands.Response {
		return reg.Handle(context.Background(), commands.Request{Platform: "slack", User: user, Channel: "C1", Text: text})
	}
	r := do("UANY", "schedule")
	if !strings.Contains(r.Code, "backup     0 2 * * *") || !strings.Contains(r.Code, "never") {
		t.Fatalf("list:\n%s", r.Code)
	}
	if r := do("UANY", "schedule run backup"); !strings.Contains(r.Text, "you may not run schedule run") || runs.Load() != 0 {
		t.Fatalf("run without a role: %q", r.Text)
	}
	if r := do("UOPS", "schedule run backup"); !strings.HasPrefix(r.Text, "job backup ran: ok in ") || runs.Load() != 1 {
		t.Fatalf("run: %q", r.Text)
	}
	if r := do("UOPS", "schedule run cleanup"); !strings.Contains(r.Text, "job cleanup failed after") || !strings.Contains(r.Text, "context deadline exceeded") {
		t.Fatalf("failing run: %q", r.Text)
	}
	if r := do("UOPS", "schedule pause nosuch"); r.Text != `unknown job "nosuch"; jobs: backup, cleanup` {
		t.Fatalf("unknown job: %q", r.Text)
	}
	if r := do("UOPS", "schedule pause backup"); r.Text != "job backup paused by slack:UOPS" {
		t.Fatalf("pause: %q", r.Text)
	}
	r = do("UANY", "schedule list")
	if !strings.Contains(r.Code, "backup     0 2 * * *      paused") || !strings.Contains(r.Code, "last error: context deadline exceeded") {
		t.Fatalf("list after pause:\n%s", r.Code)
	}
	states, _ := st.JobStates(context.Background())
	if !states["backup"].Paused {
		t.Fatal("pause not stored")
	}
	if r := do("UOPS", "schedule resume backup"); r.Text != "job backup resumed by slack:UOPS" {
		t.Fatalf("resume: %q", r.Text)
	}
}
