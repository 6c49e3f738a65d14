package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"opsbot/incident"
	"opsbot/store"
	"opsbot/store/storetest"
)

// The cases below reach the queries the other cases of this package do not,
// so that every read of a row runs on the widened schema too (TestMain).

func TestAlertRoutingQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		a := store.AlertRow{Fingerprint: "fp-a", Kind: "threshold", Rule: "cpu_high", Target: "api", Severity: "warning",
			Labels: `{"host":"web1"}`, Summary: "cpu 91%", Value: 91, StartedAt: store.T(now), LastSeenAt: store.T(now),
			Pending: store.PendingGroup, RouteAt: store.T(now.Add(time.Minute))}
		b := store.AlertRow{Fingerprint: "fp-b", Kind: "health", Rule: "api_down", Target: "api", Severity: "critical",
			StartedAt: store.T(now), LastSeenAt: store.T(now), Pending: store.PendingGroup, RouteAt: store.T(now.Add(2 * time.Minute))}
		for _, r := range []*store.AlertRow{&a, &b} {
			if err := store.InsertAlert(ctx, s.DB, r); err != nil {
				t.Fatal(err)
			}
		}
		if next, ok, err := store.NextRouteAt(ctx, s.DB); err != nil || !ok || !next.Equal(now.Add(time.Minute)) {
			t.Fatalf("next route %v %v %v", next, ok, err)
		}
		if err := store.TouchAlert(ctx, s.DB, a.ID, now.Add(10*time.Second), 95, "cpu 95%"); err != nil {
			t.Fatal(err)
		}
		if err := store.SetAlertSeverity(ctx, s.DB, a.ID, "critical"); err != nil {
			t.Fatal(err)
		}
		got, err := store.AlertByID(ctx, s.DB, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Severity != "critical" || got.Value != 95 || got.Summary != "cpu 95%" || got.Labels != `{"host":"web1"}` ||
			!got.LastSeenAt.Equal(now.Add(10*time.Second)) || got.Target != "api" || got.Rule != "cpu_high" {
			t.Fatalf("alert after touch %+v", got)
		}

		// a waits for maintenance, b for a silence.
		if err := store.SetAlertPending(ctx, s.DB, a.ID, store.PendingHold, now.Add(time.Hour), nil); err != nil {
			t.Fatal(err)
		}
		sil := int64(7)
		if err := store.SetAlertPending(ctx, s.DB, b.ID, store.PendingSilence, now.Add(time.Hour), &sil); err != nil {
			t.Fatal(err)
		}
		if held, err := store.HeldAlerts(ctx, s.DB); err != nil || len(held) != 1 || held[0].ID != a.ID {
			t.Fatalf("held %+v %v", held, err)
		}
		if err := store.ReleaseSilenced(ctx, s.DB, sil, now.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		due, err := store.DueAlerts(ctx, s.DB, now.Add(3*time.Minute))
		if err != nil || len(due) != 1 || due[0].ID != b.ID || due[0].SilenceID == nil || *due[0].SilenceID != sil {
			t.Fatalf("due after release %+v %v", due, err)
		}

		if err := store.MarkRouted(ctx, s.DB, []int64{a.ID, b.ID}, now.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if base, ok, err := store.NextRepeatBase(ctx, s.DB); err != nil || !ok || !base.Equal(now.Add(3*time.Minute)) {
			t.Fatalf("repeat base %v %v %v", base, ok, err)
		}
		if err := store.SetAnnounced(ctx, s.DB, []int64{b.ID}, now.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		rep, err := store.RepeatDue(ctx, s.DB, now.Add(4*time.Minute))
		if err != nil || len(rep) != 1 || rep[0].ID != a.ID {
			t.Fatalf("repeat due %+v %v", rep, err)
		}

		if err := store.ResolveAlert(ctx, s.DB, b.ID, now.Add(6*time.Minute)); err != nil {
			t.Fatal(err)
		}
		all, err := store.ListAlerts(ctx, s.DB, "", 10)
		if err != nil || len(all) != 2 || all[0].ID != b.ID {
			t.Fatalf("list all %+v %v", all, err)
		}
		firing, err := store.ListAlerts(ctx, s.DB, store.AlertFiring, 10)
		if err != nil || len(firing) != 1 || firing[0].ID != a.ID {
			t.Fatalf("list firing %+v %v", firing, err)
		}

		out := store.OutboxRow{Channel: "slack:C1", Op: store.OpPost, Owner: "alert:fp-a", Payload: "{}", CreatedAt: store.T(now)}
		if err := store.EnqueueOutbox(ctx, s.DB, &out); err != nil {
			t.Fatal(err)
		}
		if err := store.AddAlertMessages(ctx, s.DB, out.ID, "slack:C1", "first", []int64{b.ID, a.ID}); err != nil {
			t.Fatal(err)
		}
		carried, err := store.AlertsOfMessage(ctx, s.DB, out.ID)
		if err != nil || len(carried) != 2 || carried[0].ID != a.ID || carried[1].Fingerprint != "fp-b" {
			t.Fatalf("alerts of message %+v %v", carried, err)
		}
		msgs, err := store.MessagesOfAlert(ctx, s.DB, a.ID)
		if err != nil || len(msgs) != 1 || msgs[0] != (store.AlertMessage{AlertID: a.ID, OutboxID: out.ID, Channel: "slack:C1", Role: "first"}) {
			t.Fatalf("messages of alert %+v %v", msgs, err)
		}
		msgs, err = store.MessagesOfAlerts(ctx, s.DB, []int64{a.ID, b.ID, 999})
		if err != nil || len(msgs) != 2 {
			t.Fatalf("messages of alerts %+v %v", msgs, err)
		}

		if err := s.PutState(ctx, "k", map[string]int{"n": 3}, now); err != nil {
			t.Fatal(err)
		}
		if raw, err := store.StateValue(ctx, s.DB, "k"); err != nil || raw != `{"n":3}` {
			t.Fatalf("state value %q %v", raw, err)
		}
		if err := s.DeleteState(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := store.StateValue(ctx, s.DB, "k"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted state: %v", err)
		}
	})
}

func TestOutboxRowQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		post := store.OutboxRow{Channel: "discord:1", Op: store.OpPost, Owner: "incident:3", Payload: "v1", CreatedAt: store.T(now)}
		if err := store.EnqueueOutbox(ctx, s.DB, &post); err != nil {
			t.Fatal(err)
		}
		upd := store.OutboxRow{Channel: "discord:1", Op: store.OpUpdate, Owner: "incident:3", ParentID: &post.ID, Payload: "v2", CreatedAt: store.T(now)}
		if err := store.EnqueueOutbox(ctx, s.DB, &upd); err != nil {
			t.Fatal(err)
		}
		pend, err := store.PendingUpdate(ctx, s.DB, post.ID)
		if err != nil || pend.ID != upd.ID || pend.ParentID == nil || *pend.ParentID != post.ID {
			t.Fatalf("pending update %+v %v", pend, err)
		}
		if err := store.SetOutboxPayload(ctx, s.DB, upd.ID, "v3"); err != nil {
			t.Fatal(err)
		}
		if err := store.MarkAttempt(ctx, s.DB, upd.ID, now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		// Tried once, it may be on the platform already: no longer replaceable.
		if _, err := store.PendingUpdate(ctx, s.DB, post.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("tried update still pending: %v", err)
		}
		if err := store.MarkRetry(ctx, s.DB, upd.ID, now.Add(time.Minute), "429", false); err != nil {
			t.Fatal(err)
		}
		if err := store.MarkRetry(ctx, s.DB, upd.ID, now.Add(2*time.Minute), "503", true); err != nil {
			t.Fatal(err)
		}
		got, err := store.OutboxByID(ctx, s.DB, upd.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Payload != "v3" || got.Attempts != 1 || got.Failures != 1 || got.LastError != "503" ||
			!got.NextAt.Equal(now.Add(2*time.Minute)) || !got.TriedAt.Equal(now.Add(time.Second)) || got.Owner != "incident:3" {
			t.Fatalf("outbox row %+v", got)
		}
		if err := store.Park(ctx, s.DB, post.ID, now.Add(time.Hour), "missing access"); err != nil {
			t.Fatal(err)
		}
		parked, err := store.ParkedOutbox(ctx, s.DB, 10)
		if err != nil || len(parked) != 1 || parked[0].ID != post.ID || parked[0].LastError != "missing access" {
			t.Fatalf("parked %+v %v", parked, err)
		}
		if _, err := store.OutboxByID(ctx, s.DB, 999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown row: %v", err)
		}
	})
}

func TestJobRunQueries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		id, ok, err := s.ClaimJobRun(ctx, "backup", now, now, "replica-a")
		if err != nil || !ok {
			t.Fatalf("claim %v %v", ok, err)
		}
		if _, ok, err := s.ClaimJobRun(ctx, "backup", now, now, "replica-b"); err != nil || ok {
			t.Fatalf("second claim of one due time %v %v", ok, err)
		}
		if err := s.FinishJobRun(ctx, id, "backup", "ok", "", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordSkippedRun(ctx, "backup", now.Add(time.Hour), now.Add(time.Hour), "replica-a", "still running"); err != nil {
			t.Fatal(err)
		}
		last, err := s.LastJobRun(ctx, "backup")
		if err != nil || last.Result != "skipped" || last.Error != "still running" || !last.DueAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("last run %+v %v", last, err)
		}
		runs, err := s.JobRuns(ctx, "backup")
		if err != nil || len(runs) != 2 || runs[0].ID != id || runs[0].Holder != "replica-a" || runs[0].Result != "ok" ||
			!runs[0].FinishedAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("runs %+v %v", runs, err)
		}
		if _, err := s.LastJobRun(ctx, "cleanup"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("job never run: %v", err)
		}
		if err := s.SetJobPaused(ctx, "cleanup", true); err != nil {
			t.Fatal(err)
		}
		states, err := s.JobStates(ctx)
		if err != nil || len(states) != 2 || !states["cleanup"].Paused || states["backup"].Paused ||
			!states["backup"].LastSuccess.Equal(now.Add(time.Minute)) {
			t.Fatalf("states %+v %v", states, err)
		}
	})
}

func TestRemainingReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		for i, verb := range []string{"status", "restart"} {
			if _, err := s.AddAudit(ctx, store.AuditRow{At: store.T(now.Add(time.Duration(i) * time.Hour)), Platform: "slack", UserID: "U1", Verb: verb, Result: "ok"}); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := s.AuditSince(ctx, now.Add(time.Minute))
		if err != nil || len(rows) != 1 || rows[0].Verb != "restart" || rows[0].Platform != "slack" {
			t.Fatalf("audit since %+v %v", rows, err)
		}

		if _, err := s.AddConfirmation(ctx, store.Confirmation{Token: "t1", Verb: "restart", Args: `[]`, Requester: "slack:U1", Platform: "slack", Channel: "C1", CreatedAt: store.T(now), ExpiresAt: store.T(now.Add(time.Minute))}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetConfirmationOutcome(ctx, "t1", "restarted"); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Confirmation(ctx, "t1"); err != nil || c.Outcome != "restarted" || c.Channel != "C1" || c.UsedBy != nil {
			t.Fatalf("confirmation %+v %v", c, err)
		}

		sid, err := s.AddSilence(ctx, store.SilenceRow{Matcher: "target=db", Reason: "migration", CreatedBy: "alice", StartsAt: store.T(now), EndsAt: store.T(now.Add(time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		if sil, err := s.Silence(ctx, sid); err != nil || sil.Matcher != "target=db" || sil.Reason != "migration" || !sil.EndsAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("silence %+v %v", sil, err)
		}
		if _, err := s.Silence(ctx, sid+1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown silence: %v", err)
		}

		for _, sub := range []store.Subscription{{Channel: "slack:C2", Kind: "security"}, {Channel: "slack:C1", Kind: "threshold", Oncall: "@sre"}} {
			sub.CreatedAt = store.T(now)
			if err := s.Subscribe(ctx, sub); err != nil {
				t.Fatal(err)
			}
		}
		subs, err := store.SubscriptionsTx(ctx, s.DB)
		if err != nil || len(subs) != 2 || subs[0].Channel != "slack:C1" || subs[0].Oncall != "@sre" || subs[1].Kind != "security" {
			t.Fatalf("subscriptions %+v %v", subs, err)
		}

		inc := incident.Incident{Title: "api down", Severity: "critical", Stage: incident.Discovery, Target: "api", OpenedBy: "alice", OpenedAt: now, StageAt: now, ClockAt: now}
		iid, err := s.CreateIncident(ctx, inc, incident.Entry{At: now, Actor: "alice", Kind: incident.KindOpened, Stage: incident.Discovery, Text: "opened"})
		if err != nil {
			t.Fatal(err)
		}
		if key, err := s.Reminded(ctx, iid); err != nil || key != "" {
			t.Fatalf("reminded before any %q %v", key, err)
		}
		if ok, err := s.MarkReminded(ctx, iid, "discovery@1", incident.Entry{At: now, Actor: "opsbot", Kind: incident.KindNote, Text: "overrun"}); err != nil || !ok {
			t.Fatalf("mark reminded %v %v", ok, err)
		}
		if key, err := s.Reminded(ctx, iid); err != nil || key != "discovery@1" {
			t.Fatalf("reminded %q %v", key, err)
		}
		tl, err := s.IncidentTimeline(ctx, iid)
		if err != nil || !slices.ContainsFunc(tl, func(e incident.Entry) bool { return e.Text == "overrun" }) {
			t.Fatalf("timeline %+v %v", tl, err)
		}
	})
}
