package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"opsbot/incident"
	"opsbot/store"
	"opsbot/store/storetest"
)

func newIncident(target string, at time.Time) incident.Incident {
	return incident.Incident{Title: "api down", Severity: incident.SevCritical, Stage: incident.Discovery, Target: target,
		OpenedBy: "alert:health_down", OpenedAt: at, StageAt: at, ClockAt: at}
}

func TestIncidentStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		opened := incident.Entry{At: t0, Actor: "alert:health_down", Kind: incident.KindOpened, Stage: incident.Discovery, Text: "opened"}
		id, err := s.CreateIncident(ctx, newIncident("api", t0), opened)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateIncident(ctx, newIncident("api", t0), opened); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second active incident on api: %v", err)
		}
		other, err := s.CreateIncident(ctx, newIncident("", t0), opened)
		if err != nil {
			t.Fatalf("incidents without target never collide: %v", err)
		}
		if _, err := s.CreateIncident(ctx, newIncident("", t0), opened); err != nil {
			t.Fatalf("second incident without target: %v", err)
		}

		got, err := s.Incident(ctx, id)
		if err != nil || got.Stage != incident.Discovery || !got.OpenedAt.Equal(t0) || got.Target != "api" || !got.AckedAt.IsZero() {
			t.Fatalf("loaded %+v, %v", got, err)
		}
		if a, err := s.ActiveIncident(ctx, "api"); err != nil || a.ID != id {
			t.Fatalf("active of api: %+v %v", a, err)
		}
		if _, err := s.ActiveIncident(ctx, "db"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("active of db: %v", err)
		}
		if _, err := s.Incident(ctx, 999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}

		// A stale write is refused and changes nothing.
		next, err := got.Move(incident.PostMortem, false, t0.Add(40*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		st := incident.Entry{At: t0.Add(40 * time.Minute), Actor: "console:me", Kind: incident.KindStage, Stage: incident.PostMortem, Text: "stage"}
		if err := s.UpdateIncident(ctx, got, next, st); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateIncident(ctx, got, next, st); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale update: %v", err)
		}
		got2, _ := s.Incident(ctx, id)
		if got2.Stage != incident.PostMortem || got2.Version != got.Version+1 || !got2.RecoveredAt.Equal(t0.Add(40*time.Minute)) {
			t.Fatalf("after update %+v", got2)
		}
		// In post-mortem the target is free for a new incident.
		if _, err := s.ActiveIncident(ctx, "api"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("post-mortem incident still active: %v", err)
		}
		second, err := s.CreateIncident(ctx, newIncident("api", t0.Add(time.Hour)), opened)
		if err != nil {
			t.Fatal(err)
		}
		// Reopening the first now collides with the second.
		back, _ := got2.Move(incident.Handling, true, t0.Add(2*time.Hour))
		if err := s.UpdateIncident(ctx, got2, back); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("reopen onto a busy target: %v", err)
		}

		// Timeline, oldest first, with stage and ref round-tripped.
		for i, fp := range []string{"fp1", "fp2", "fp1"} {
			status := "firing"
			if i == 2 {
				status = "resolved"
			}
			if _, err := s.AddIncidentEvent(ctx, id, incident.Entry{At: t0.Add(time.Duration(i+1) * time.Minute), Actor: "alert", Kind: incident.KindAlert, Ref: fp, Status: status, Text: "cpu"}); err != nil {
				t.Fatal(err)
			}
		}
		tl, err := s.IncidentTimeline(ctx, id)
		if err != nil || len(tl) != 5 {
			t.Fatalf("timeline %d %v", len(tl), err)
		}
		if tl[0].Kind != incident.KindOpened || tl[0].Stage != incident.Discovery || tl[len(tl)-1].Stage != incident.PostMortem {
			t.Fatalf("timeline order %+v", tl)
		}
		last, err := s.LastIncidentEvent(ctx, id, incident.KindAlert, "fp1")
		if err != nil || last.Status != "resolved" {
			t.Fatalf("last fp1 %+v %v", last, err)
		}
		if _, err := s.LastIncidentEvent(ctx, id, incident.KindAlert, "fp9"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("last fp9: %v", err)
		}

		// A reminder is marked once per key.
		rem := incident.Entry{At: t0.Add(5 * time.Minute), Actor: "opsbot", Kind: incident.KindReminder, Text: "late"}
		if ok, err := s.MarkReminded(ctx, other, "discovery@1", rem); err != nil || !ok {
			t.Fatalf("first mark %v %v", ok, err)
		}
		if ok, err := s.MarkReminded(ctx, other, "discovery@1", rem); err != nil || ok {
			t.Fatalf("second mark %v %v", ok, err)
		}
		if tl, _ := s.IncidentTimeline(ctx, other); len(tl) != 2 {
			t.Fatalf("reminder entries %d, want 1 plus opened", len(tl)-1)
		}

		if err := s.SavePostMortem(ctx, id, "# pm", incident.Entry{At: t0.Add(3 * time.Hour), Actor: "console:me", Kind: incident.KindPostMortem, Text: "draft"}); err != nil {
			t.Fatal(err)
		}
		if md, at, err := s.PostMortem(ctx, id); err != nil || md != "# pm" || !at.Equal(t0.Add(3*time.Hour)) {
			t.Fatalf("post-mortem %q %v %v", md, at, err)
		}
		if err := s.SavePostMortem(ctx, 999, "x", rem); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("post-mortem of unknown: %v", err)
		}

		open, err := s.OpenIncidents(ctx)
		if err != nil || len(open) != 4 {
			t.Fatalf("open %d %v", len(open), err)
		}
		list, err := s.ListIncidents(ctx, false, 2)
		if err != nil || len(list) != 2 || list[0].ID != second {
			t.Fatalf("list %+v %v", list, err)
		}
		since, err := s.IncidentsSince(ctx, t0.Add(30*time.Minute))
		if err != nil || len(since) != 1 || since[0].ID != second {
			t.Fatalf("since %+v %v", since, err)
		}
	})
}
