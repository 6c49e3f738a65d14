package incidents_test

import (
	"opsbot/alert"

	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/incident"
	"opsbot/incidents"
	"opsbot/store"
	"opsbot/store/storetest"
)

func TestRemindersExactlyOnceWhenATargetPasses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, "api")
		inc, err := e.svc.Open(ctx, "API not responding", "critical", "", "console:me")
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			at    time.Duration
			stage incident.Stage // moved to at this time, before the tick
			want  int            // reminders so far after the tick
		}{
			{5*time.Minute - time.Millisecond, 0, 0},
			{5 * time.Minute, 0, 1}, // discovery's target reached
			{6 * time.Minute, 0, 1},
			{7 * time.Minute, incident.Assessment, 1}, // late: assessment's own target is 10 min
			{10*time.Minute - time.Millisecond, 0, 1},
			{10 * time.Minute, 0, 2},
			{12 * time.Minute, incident.Handling, 2},
			{29 * time.Minute, 0, 2},
			{30 * time.Minute, 0, 3},
			{31 * time.Minute, 0, 3},
			{45 * time.Minute, 0, 3},
			{50 * time.Minute, incident.Recovery, 3},
			{60 * time.Minute, 0, 4},
			{70 * time.Minute, incident.PostMortem, 4},
			{24*time.Hour - time.Second, 0, 4},
			{24 * time.Hour, 0, 5},
			{25 * time.Hour, incident.Closed, 5},
			{48 * time.Hour, 0, 5},
		}
		for _, s := range steps {
			e.clock.Set(at(s.at))
			if s.stage != 0 {
				if _, err := e.svc.Stage(ctx, inc.ID, s.stage, "console:me"); err != nil {
					t.Fatal(err)
				}
			}
			// Two ticks at the same moment (a retry, a second replica) remind once.
			for range 2 {
				if err := e.svc.Tick(ctx, at(s.at)); err != nil {
					t.Fatal(err)
				}
			}
			if got := e.reminders(); got != s.want {
				t.Fatalf("at +%v: %d reminders, want %d\n%s", s.at, got, s.want, e.out.String())
			}
		}
		var n int
		for _, line := range e.timeline(t, inc.ID) {
			if strings.Contains(line, " reminder ") {
				n++
			}
		}
		if n != 5 {
			t.Fatalf("%d reminder entries in the timeline, want 5", n)
		}
		// With nobody leading, the reminder says so; the reopened stage gets its own reminder.
		if !strings.Contains(e.out.String(), "Nobody leads it: take it with /ops incident lead") {
			t.Fatalf("reminder does not ask for a lead:\n%s", e.out.String())
		}
		e.clock.Set(at(49 * time.Hour))
		if _, err := e.svc.Reopen(ctx, inc.ID, 0, "console:me"); err != nil {
			t.Fatal(err)
		}
		_ = e.svc.Tick(ctx, at(49*time.Hour+20*time.Minute-time.Millisecond))
		if e.reminders() != 5 {
			t.Fatal("reminded before the reopened stage's target")
		}
		_ = e.svc.Tick(ctx, at(49*time.Hour+20*time.Minute))
		if e.reminders() != 6 {
			t.Fatalf("reopened handling not reminded at its new target:\n%s", e.out.String())
		}
	})
}

func TestReminderNamesTheLeadAndTheChannel(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	e := newEnv(t, st)
	e.cfg.Incidents.RemindChannel = true
	inc, _ := e.svc.Open(ctx, "disk full", "warning", "", "console:me")
	if _, err := e.svc.SetLead(ctx, inc.ID, "@alice", "console:me"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Tick(ctx, at(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	out := e.out.String()
	if !strings.Contains(out, "Reminder: incident #1 is past its discovery target @alice @channel") ||
		!strings.Contains(out, "Lead @alice: the discovery stage (0–5 min) has run 5 min since opening") {
		t.Fatalf("reminder does not name the lead and the channel:\n%s", out)
	}
}

func TestRunWakesAtTheNextTarget(t *testing.T) {
	st := storetest.SQLite(t)
	e := newEnv(t, st, "api")
	e.svc.MaxWait = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx) }()
	if d := <-e.clock.asked; d != time.Hour {
		t.Fatalf("idle loop sleeps %v, want MaxWait", d)
	}
	if _, err := e.svc.Open(ctx, "API down", "", "", "console:me"); err != nil {
		t.Fatal(err)
	}
	// The open wakes the loop, which now sleeps until discovery's target.
	if d := <-e.clock.asked; d != 5*time.Minute {
		t.Fatalf("loop sleeps %v after an open, want 5m", d)
	}
	e.clock.Set(at(5*time.Minute - time.Millisecond))
	if e.reminders() != 0 {
		t.Fatal("reminded early")
	}
	e.clock.Set(at(5 * time.Minute))
	// Reminded, with no target ahead, the loop sleeps its longest.
	if d := <-e.clock.asked; d != time.Hour {
		t.Fatalf("then sleeps %v, want MaxWait", d)
	}
	if e.reminders() != 1 {
		t.Fatalf("%d reminders at the target\n%s", e.reminders(), e.out.String())
	}
	// A stage change wakes it; it sleeps until assessment's target at 10m.
	e.clock.Set(at(6 * time.Minute))
	if _, err := e.svc.Stage(ctx, 1, incident.Assessment, "console:me"); err != nil {
		t.Fatal(err)
	}
	if d := <-e.clock.asked; d != 4*time.Minute {
		t.Fatalf("after the stage change sleeps %v, want 4m", d)
	}
	e.clock.Set(at(10 * time.Minute))
	if d := <-e.clock.asked; d != time.Hour || e.reminders() != 2 {
		t.Fatalf("at assessment's target: sleeps %v, %d reminders", d, e.reminders())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, "api", "worker")
		e.cfg.Incidents.MaxTitle = 20
		inc, err := e.svc.Open(ctx, "api down", "", "api", "console:me")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Stage(ctx, inc.ID, incident.Handling, "console:me"); err != nil {
			t.Fatal(err)
		}
		closed, _ := e.svc.Open(ctx, "worker slow", "warning", "worker", "console:me")
		if _, err := e.svc.Close(ctx, closed.ID, "console:me"); err != nil {
			t.Fatal(err)
		}
		snapshot := func() string {
			var b strings.Builder
			for _, id := range []int64{inc.ID, closed.ID} {
				i, _ := st.Incident(ctx, id)
				b.WriteString(i.Stage.String() + i.Lead + i.Title + "|" + strings.Join(e.timeline(t, id), "\n"))
			}
			list, _ := st.ListIncidents(ctx, false, 100)
			return b.String() + "|" + string(rune('0'+len(list))) + "|" + e.out.String()
		}
		before := snapshot()
		cases := []struct {
			name string
			run  func() error
			want string
			is   error
		}{
			{"unknown id", func() error { _, err := e.svc.Note(ctx, 99, "hello", "console:me"); return err }, "no incident #99", incident.ErrNotFound},
			{"unknown id stage", func() error { _, err := e.svc.Stage(ctx, 99, incident.Recovery, "console:me"); return err }, "no incident #99", incident.ErrNotFound},
			{"backwards stage", func() error { _, err := e.svc.Stage(ctx, inc.ID, incident.Assessment, "console:me"); return err },
				"incident #1: stages only move forward (handling → assessment); use reopen to go back", incident.ErrBackwards},
			{"same stage", func() error { _, err := e.svc.Stage(ctx, inc.ID, incident.Handling, "console:me"); return err }, "incident #1: already in handling", incident.ErrSameStage},
			{"reopen forward", func() error { _, err := e.svc.Reopen(ctx, inc.ID, incident.Recovery, "console:me"); return err },
				"incident #1: reopen moves back to an earlier stage; recovery is not before handling", incident.ErrNotBack},
			{"note on closed", func() error { _, err := e.svc.Note(ctx, closed.ID, "too late", "console:me"); return err },
				"incident #2 is closed; notes go to open incidents (reopen it first)", incident.ErrClosed},
			{"stage on closed", func() error { _, err := e.svc.Stage(ctx, closed.ID, incident.Recovery, "console:me"); return err }, "incident #2 is closed; reopen it first", incident.ErrClosed},
			{"lead not a mention", func() error { _, err := e.svc.SetLead(ctx, inc.ID, "alice", "console:me"); return err },
				`the lead must be a user mention (<@U123>, <@123> or @name), got "alice"`, incident.ErrBadInput},
			{"title too long", func() error {
				_, err := e.svc.Open(ctx, strings.Repeat("x", 21), "", "worker", "console:me")
				return err
			},
				"title is 21 characters long; at most 20", incident.ErrBadInput},
			{"empty title", func() error { _, err := e.svc.Open(ctx, "  ", "", "worker", "console:me"); return err }, "an incident needs a title", incident.ErrBadInput},
			{"bad severity", func() error { _, err := e.svc.Open(ctx, "x", "minor", "worker", "console:me"); return err }, `severity must be critical or warning, got "minor"`, incident.ErrBadInput},
			{"unknown target", func() error { _, err := e.svc.Open(ctx, "x", "", "db", "console:me"); return err }, `unknown target "db"; targets: api, worker`, incident.ErrBadInput},
			{"second incident on a target", func() error { _, err := e.svc.Open(ctx, "again", "", "api", "console:me"); return err },
				"incident #1 (api down) is already open for api; add to it, or move it to post-mortem first", incident.ErrBadInput},
			{"empty note", func() error { _, err := e.svc.Note(ctx, inc.ID, " ", "console:me"); return err }, "the note is empty", incident.ErrBadInput},
			{"long note", func() error {
				_, err := e.svc.Note(ctx, inc.ID, strings.Repeat("n", incidents.MaxNote+1), "console:me")
				return err
			},
				"the note is 2001 characters long; at most 2000", incident.ErrBadInput},
			{"stats days", func() error { _, err := e.svc.Stats(ctx, 0); return err }, "days must be from 1 to 3650, got 0", incident.ErrBadInput},
		}
		for _, c := range cases {
			err := c.run()
			if err == nil || err.Error() != c.want || !errors.Is(err, c.is) {
				t.Errorf("%s: got %v, want %q", c.name, err, c.want)
			}
			if _, ok := incident.AsRefusal(err); !ok {
				t.Errorf("%s: %v is not a refusal", c.name, err)
			}
			if after := snapshot(); after != before {
				t.Fatalf("%s changed something:\nbefore %s\nafter  %s", c.name, before, after)
			}
		}
	})
}

func TestAlertsOpenAttachAndFillTheTimeline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, "api", "worker")
		down := alert.Alert{Fingerprint: "fp-down", Kind: "health", Rule: "health_down", Target: "api", Severity: "critical",
			Status: alert.Firing, Summary: "GET /health failed 3 times", StartsAt: at(-2 * time.Minute)}
		e.svc.OnAlert(ctx, down)
		open, _ := st.OpenIncidents(ctx)
		if len(open) != 1 || open[0].Target != "api" || open[0].Title != "health_down on api" || !open[0].AckedAt.IsZero() {
			t.Fatalf("critical alert opened %+v", open)
		}
		id := open[0].ID
		e.svc.OnAlert(ctx, down) // a repeat
		e.clock.Set(at(time.Minute))
		cpu := alert.Alert{Fingerprint: "fp-cpu", Kind: "threshold", Rule: "cpu_high", Target: "api", Severity: "warning", Status: alert.Firing, Summary: "CPU 91%"}
		e.svc.OnAlert(ctx, cpu)
		other := alert.Alert{Fingerprint: "fp-w", Kind: "threshold", Rule: "memory_high", Target: "worker", Severity: "warning", Status: alert.Firing}
		e.svc.OnAlert(ctx, other)
		// A second critical alert on api attaches instead of opening another incident.
		got, opened, err := e.svc.OpenOrAttach(ctx, "api", "restart budget spent on api", "critical", "opsbot:remediation")
		if err != nil || opened || got != id {
			t.Fatalf("attach: %d %v %v", got, opened, err)
		}
		e.clock.Set(at(3 * time.Minute))
		down.Status, down.EndsAt = alert.Resolved, at(3*time.Minute)
		e.svc.OnAlert(ctx, down)
		if open, _ := st.OpenIncidents(ctx); len(open) != 1 {
			t.Fatalf("%d open incidents, want 1", len(open))
		}
		want := []string{
			"-2m0s alert [critical] health_down on api: GET /health failed 3 times",
			"0s opened opened: health_down on api (critical, api)",
			"1m0s alert [warning] cpu_high on api: CPU 91%",
			"1m0s attach restart budget spent on api",
			"3m0s alert [critical] health_down on api: GET /health failed 3 times",
		}
		if got := e.timeline(t, id); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		tl, _ := st.IncidentTimeline(ctx, id)
		if tl[4].Status != "resolved" || tl[4].Ref != "fp-down" {
			t.Fatalf("resolved entry %+v", tl[4])
		}
		// A warning incident is raised to critical by a critical open-or-attach.
		w, err := e.svc.Open(ctx, "worker slow", "warning", "worker", "console:me")
		if err != nil {
			t.Fatal(err)
		}
		if _, opened, _ := e.svc.OpenOrAttach(ctx, "worker", "restart budget spent", "critical", "opsbot:remediation"); opened {
			t.Fatal("opened a second incident for worker")
		}
		if w2, _ := st.Incident(ctx, w.ID); w2.Severity != "critical" {
			t.Fatalf("severity not raised: %s", w2.Severity)
		}
		// With auto-open off, a critical alert only enters timelines.
		off := false
		e.cfg.Incidents.AutoOpen = &off
		e.svc.OnAlert(ctx, alert.Alert{Fingerprint: "fp-x", Rule: "disk_full", Target: "db", Severity: "critical", Status: alert.Firing})
		if list, _ := st.ListIncidents(ctx, false, 10); len(list) != 2 {
			t.Fatalf("%d incidents after an alert with auto-open off", len(list))
		}
	})
}

func TestCommandsAndActionsFillTheTimeline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, "api", "worker")
		e.svc.Redact = func(s string) string { return strings.ReplaceAll(s, "hunter2", "<redacted>") }
		id, opened, err := e.svc.OpenOrAttach(ctx, "api", "api down", "critical", "alert:health_down")
		if err != nil || !opened {
			t.Fatal(opened, err)
		}
		e.clock.Set(at(2 * time.Minute))
		e.svc.RecordCommand(ctx, "api", "slack:U1 (alice)", "restart", "ok", "healthy after 4s", at(2*time.Minute))
		e.svc.RecordCommand(ctx, "worker", "slack:U1 (alice)", "restart", "ok", "", at(2*time.Minute))
		// A command about no particular target belongs to no incident.
		e.svc.RecordCommand(ctx, "", "slack:U1 (alice)", "status", "ok", "12 checks", at(3*time.Minute))
		e.svc.RecordCommand(ctx, "api", "slack:U1 (alice)", "logs search", "ok", "3 matches, password=hunter2", at(3*time.Minute))
		e.svc.RecordCommand(ctx, "api", "slack:U1 (alice)", "incident note", "ok", "x", at(3*time.Minute))
		e.svc.RecordCommand(ctx, "api", "slack:U1 (alice)", "help", "ok", "x", at(3*time.Minute))
		e.svc.RecordCommand(ctx, "api", "slack:U2 (bob)", "restart", "denied", "no role", at(3*time.Minute))
		e.svc.RecordCommand(ctx, "api", "slack:U1 (alice)", "restart", "confirm", "", at(3*time.Minute))
		e.svc.RecordAction(ctx, "api", "opsbot:remediation", "flushed the Redis cache after memory_high")
		want := []string{
			"0s opened opened: api down (critical, api)",
			"2m0s command restart api — ran: healthy after 4s",
			"2m0s action flushed the Redis cache after memory_high",
			"3m0s command logs search api — ran: 3 matches, password=<redacted>",
		}
		if got := e.timeline(t, id); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		inc, _ := st.Incident(ctx, id)
		if !inc.AckedAt.Equal(at(2 * time.Minute)) {
			t.Fatalf("a person's command did not acknowledge: %v", inc.AckedAt)
		}
		// A closed incident takes nothing more.
		_, _ = e.svc.Close(ctx, id, "console:me")
		n := len(e.timeline(t, id))
		e.svc.RecordCommand(ctx, "api", "slack:U1", "status", "ok", "", time.Time{})
		if len(e.timeline(t, id)) != n {
			t.Fatal("a closed incident's timeline grew")
		}
	})
}

func TestOneThreadOnTheConsole(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	e := newEnv(t, st, "api")
	inc, err := e.svc.Open(ctx, "API not responding", "critical", "", "console:me")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(at(3 * time.Minute))
	_, _ = e.svc.SetLead(ctx, inc.ID, "@alice", "console:me")
	e.clock.Set(at(4 * time.Minute))
	_, _ = e.svc.Stage(ctx, inc.ID, incident.Assessment, "console:me")
	_, _ = e.svc.Note(ctx, inc.ID, "workers stuck", "console:alice")
	out := e.out.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "[#1] [CRITICAL] Incident #1: API not responding") {
		t.Fatalf("first message:\n%s", out)
	}
	for _, want := range []string{
		"    ↳ [#2 in #1]  @alice\n      Lead: @alice (console:me)",
		"[#1 updated] [CRITICAL] Incident #1: API not responding",
		"    ↳ [#3 in #1] Stage: stage discovery → assessment (console:me)",
		"    ↳ [#4 in #1] Note (console:alice): workers stuck",
		"Stage: assessment (5–10 min)",
		"— Lead: @alice",
		"Elapsed: 4 min",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
	// Nothing but the first message is posted outside the thread.
	if n := strings.Count(out, "\n[#"); n != strings.Count(out, "\n[#1 updated]") {
		t.Fatalf("messages outside the thread:\n%s", out)
	}
}

func TestScriptedIncidentPostMortem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, "api")
		step := func(d time.Duration, f func()) { e.clock.Set(at(d)); f() }
		var id int64
		step(0, func() {
			e.svc.OnAlert(ctx, alert.Alert{Fingerprint: "fp-down", Rule: "health_down", Target: "api", Severity: "critical", Status: alert.Firing,
				Summary: "API not responding", StartsAt: at(-2 * time.Minute)})
			open, _ := st.OpenIncidents(ctx)
			id = open[0].ID
		})
		alice, bob := "slack:U0ALICE (alice)", "slack:U0BOB (bob)"
		step(3*time.Minute, func() { check(t)(e.svc.SetLead(ctx, id, "<@U0ALICE>", alice)) })
		step(4*time.Minute, func() { check(t)(e.svc.Stage(ctx, id, incident.Assessment, alice)) })
		step(6*time.Minute, func() {
			e.svc.OnAlert(ctx, alert.Alert{Fingerprint: "fp-cpu", Rule: "cpu_high", Target: "api", Severity: "warning", Status: alert.Firing, Summary: "CPU 91%", StartsAt: at(6 * time.Minute)})
		})
		step(8*time.Minute, func() { check(t)(e.svc.Note(ctx, id, "all workers stuck on the LLM API", alice)) })
		step(9*time.Minute, func() { check(t)(e.svc.Stage(ctx, id, incident.Handling, alice)) })
		step(12*time.Minute, func() {
			e.svc.RecordCommand(ctx, "api", alice, "logs search", "ok", `212 matches of "LLM API Error"`, at(12*time.Minute))
		})
		step(15*time.Minute, func() {
			e.svc.RecordAction(ctx, "api", "opsbot:remediation", "restarted api after 3 failed health checks")
		})
		step(30*time.Minute, func() { _ = e.svc.Tick(ctx, at(30*time.Minute)) })
		step(35*time.Minute, func() { check(t)(e.svc.Stage(ctx, id, incident.Recovery, bob)) })
		step(38*time.Minute, func() {
			e.svc.OnAlert(ctx, alert.Alert{Fingerprint: "fp-down", Rule: "health_down", Target: "api", Severity: "critical", Status: alert.Resolved, Summary: "API not responding", EndsAt: at(38 * time.Minute)})
		})
		step(70*time.Minute, func() { check(t)(e.svc.Stage(ctx, id, incident.PostMortem, alice)) })
		step(3*time.Hour, func() {
			md, _, err := e.svc.PostMortem(ctx, id, alice)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "scripted-postmortem.md"), md)
			stored, _, _ := st.PostMortem(ctx, id)
			if stored != md {
				t.Fatal("stored draft differs from the posted one")
			}
		})
		out := e.out.String()
		if !strings.Contains(out, "    ↳ [#") || !strings.Contains(out, "incident-1-postmortem.md") {
			t.Fatalf("the draft was not posted as a file in the thread:\n%s", out)
		}
	})
}

func TestStats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, "api", "worker")
		// Auto-opened at 0, acknowledged at 4m, recovered at 40m.
		id, _, _ := e.svc.OpenOrAttach(ctx, "api", "api down", "critical", "alert:x")
		e.clock.Set(at(4 * time.Minute))
		check(t)(e.svc.Stage(ctx, id, incident.Assessment, "console:me"))
		e.clock.Set(at(40 * time.Minute))
		check(t)(e.svc.Stage(ctx, id, incident.PostMortem, "console:me"))
		// Opened by hand at 40m (acknowledged at once), closed at 60m.
		w, _ := e.svc.Open(ctx, "worker slow", "warning", "worker", "console:me")
		e.clock.Set(at(60 * time.Minute))
		check(t)(e.svc.Close(ctx, w.ID, "console:me"))
		s, err := e.svc.Stats(ctx, 30)
		if err != nil {
			t.Fatal(err)
		}
		if s.Count != 2 || s.Open != 1 || s.Critical != 1 || s.Acked != 2 || s.Recovered != 2 ||
			s.MeanAck != 2*time.Minute || s.MeanRecover != 30*time.Minute {
			t.Fatalf("stats %+v", s)
		}
		e.clock.Set(at(31 * 24 * time.Hour))
		if s, _ := e.svc.Stats(ctx, 30); s.Count != 0 {
			t.Fatalf("old incidents counted: %+v", s)
		}
	})
}

func check(t *testing.T) func(incident.Incident, error) {
	return func(_ incident.Incident, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (UPDATE_GOLDEN=1 writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n%s", path, got)
	}
}

func TestConcurrentCriticalAlertsOpenOneIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, "api")
		const n = 8
		ids, opened, errs := make([]int64, n), make([]bool, n), make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ids[i], opened[i], errs[i] = e.svc.OpenOrAttach(ctx, "api", "api down", "critical", "alert:health_down")
			})
		}
		wg.Wait()
		count := 0
		for i := range n {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("call %d: id %d, %v (first id %d)", i, ids[i], errs[i], ids[0])
			}
			if opened[i] {
				count++
			}
		}
		if count != 1 {
			t.Fatalf("%d calls opened an incident, want 1", count)
		}
		if got := len(e.timeline(t, ids[0])); got != n {
			t.Fatalf("timeline has %d entries, want the opening and %d attachments", got, n-1)
		}
	})
}
