package restart

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/ops"
	"opsbot/standin"
	"opsbot/store"
	"opsbot/store/storetest"
)

// TestMain lets this test binary be the stand-in's ctl client, the real
// process the target's argv run.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "standin-ctl" {
		os.Exit(standin.CtlMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

type env struct {
	reg *commands.Registry
	b   *standin.Backend
	cfg *config.Config
}

func setup(t *testing.T, s *store.Store, o standin.Options, edit func(*config.Target)) env {
	t.Helper()
	o.LogInterval, o.HistoryLines, o.StartDelay = 50*time.Millisecond, 20, 50*time.Millisecond
	b, err := standin.Start(context.Background(), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	cfg := config.Default()
	cfg.RateLimits.Verbs = nil // several restarts per test
	tg := b.Target()
	if edit != nil {
		edit(&tg)
	}
	cfg.Targets = []config.Target{tg}
	get := func() *config.Config { return cfg }
	reg := commands.NewRegistry(get, s, nil)
	acts := ops.NewActions(s, nil)
	acts.HealthInterval = 20 * time.Millisecond
	reg.MustRegister(Verbs(Deps{Config: get, Actions: acts})...)
	return env{reg, b, cfg}
}

func local(text string) commands.Request {
	return commands.Request{Platform: "console", User: "op", Local: true, Confirmed: true, Text: text}
}

func TestRestartRunsOnceAndChecksHealth(t *testing.T) {
	e := setup(t, storetest.SQLite(t), standin.Options{}, nil)
	resp := e.reg.Handle(context.Background(), local("restart"))
	if resp.Title != "restart demo: healthy" || resp.Severity != chat.SevOK {
		t.Fatalf("resp = %+v", resp.Message)
	}
	if !strings.HasPrefix(resp.Text, "took ") || !strings.Contains(resp.Text, "healthy after ") || !strings.Contains(resp.Code, `{"result":"restarting"}`) {
		t.Fatalf("resp = %+v", resp.Message)
	}
	if st := e.b.State(); st.Restarts != 1 || !st.Running {
		t.Fatalf("state = %+v", st)
	}
	rows, _ := e.reg.Store.RecentAudit(context.Background(), 1)
	if len(rows) != 1 || rows[0].Verb != "restart" || rows[0].Target != "demo" || rows[0].Result != "ok" {
		t.Fatalf("audit = %+v", rows)
	}
}

// Unconfirmed, the registry asks first (worded by Describe); the click runs it.
func TestRestartConfirmFlow(t *testing.T) {
	e := setup(t, storetest.SQLite(t), standin.Options{}, nil)
	req := local("restart demo")
	req.Confirmed = false
	resp := e.reg.Handle(context.Background(), req)
	if resp.Title != "Confirm: restart demo" || len(resp.Buttons) != 2 || e.b.State().Restarts != 0 {
		t.Fatalf("resp = %+v", resp.Message)
	}
	resp = e.reg.Button(context.Background(), req, "confirm", resp.Buttons[0].Value)
	if resp.Title != "restart demo: healthy" || e.b.State().Restarts != 1 {
		t.Fatalf("after confirm = %+v", resp.Message)
	}
}

func TestRestartRefusedWhileAnotherRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := setup(t, s, standin.Options{Restart: standin.RestartHang}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan commands.Response)
		go func() { done <- e.reg.Handle(ctx, local("restart")) }()
		deadline := time.Now().Add(10 * time.Second)
		for e.b.State().Hangs == 0 {
			if time.Now().After(deadline) {
				t.Fatal("first restart never reached the stand-in")
			}
			time.Sleep(10 * time.Millisecond)
		}
		second := local("update demo")
		second.User = "other"
		resp := e.reg.Handle(context.Background(), second)
		if resp.Text != "another action on demo is running (restart by console:op); try again when it has finished" {
			t.Fatalf("second = %+v", resp.Message)
		}
		if st := e.b.State(); st.Updates != 0 {
			t.Fatalf("update ran: %+v", st)
		}
		cancel()
		if first := <-done; first.Title != "restart demo: command failed" {
			t.Fatalf("first = %+v", first.Message)
		}
	})
}

func TestRestartHangKilledAtTimeout(t *testing.T) {
	// Long enough for the child to start and begin hanging on a loaded
	// machine (at 400 ms it was sometimes killed before it ran).
	e := setup(t, storetest.SQLite(t), standin.Options{Restart: standin.RestartHang}, func(tg *config.Target) {
		tg.CommandTimeout = 2 * time.Second
	})
	resp := e.reg.Handle(context.Background(), local("restart"))
	if resp.Title != "restart demo: command failed" || resp.Severity != chat.SevCritical {
		t.Fatalf("resp = %+v", resp.Message)
	}
	if !strings.Contains(resp.Text, "the command was killed after timeout (2s)") || !strings.Contains(resp.Text, "the target still answers healthy") {
		t.Fatalf("text = %q", resp.Text)
	}
	if e.b.State().Hangs != 1 {
		t.Fatal("the hanging command never ran")
	}
}

func TestUpdateUnhealthyOffersRollback(t *testing.T) {
	e := setup(t, storetest.SQLite(t), standin.Options{UnhealthyAfterUpdate: true}, func(tg *config.Target) {
		tg.HealthDeadline = 600 * time.Millisecond
	})
	resp := e.reg.Handle(context.Background(), local("update"))
	if resp.Title != "update demo: NOT healthy" || !strings.Contains(resp.Text, "not healthy after 0.6 s: status 503") {
		t.Fatalf("resp = %+v", resp.Message)
	}
	if len(resp.Buttons) != 2 || resp.Buttons[0].ID != "confirm" || resp.Buttons[0].Label != "Roll back demo" {
		t.Fatalf("buttons = %+v", resp.Buttons)
	}
	token := resp.Buttons[0].Value

	// The rollback is guarded like update: a user without a role is
	// refused, and a click from another channel does nothing.
	stranger := commands.Request{Platform: "console", User: "U9"}
	if r := e.reg.Button(context.Background(), stranger, "confirm", token); !strings.Contains(r.Text, "you may not confirm roll back demo: update needs role admin") {
		t.Fatalf("stranger = %+v", r.Message)
	}
	elsewhere := commands.Request{Platform: "slack", User: "U9", Channel: "C1"}
	if r := e.reg.Button(context.Background(), elsewhere, "confirm", token); !strings.Contains(r.Text, "belongs to another channel") {
		t.Fatalf("elsewhere = %+v", r.Message)
	}
	if e.b.State().Rollbacks != 0 {
		t.Fatal("rollback ran for a stranger")
	}
	r := e.reg.Button(context.Background(), local(""), "confirm", token)
	if r.Title != "rollback demo: healthy" || e.b.State().Rollbacks != 1 {
		t.Fatalf("rollback = %+v", r.Message)
	}
	// The offer is used up.
	if r := e.reg.Button(context.Background(), local(""), "confirm", token); !strings.Contains(r.Text, "already") {
		t.Fatalf("second click = %+v", r.Message)
	}
}

func TestTargetChoice(t *testing.T) {
	e := setup(t, storetest.SQLite(t), standin.Options{}, nil)
	two := e.cfg.Targets[0]
	two.Name = "api-2"
	e.cfg.Targets = append(e.cfg.Targets, two)
	if r := e.reg.Handle(context.Background(), local("restart")); r.Text != "several targets are configured (demo, api-2): name one" {
		t.Fatalf("no target = %q", r.Text)
	}
	if r := e.reg.Handle(context.Background(), local("restart nosuch")); r.Text != `unknown target "nosuch"; targets: api-2, demo` {
		t.Fatalf("unknown = %q", r.Text)
	}
	e.cfg.Targets[1].Rollback = nil
	if r := e.reg.Handle(context.Background(), local("update --rollback api-2")); r.Text != "api-2 has no rollback command in the configuration" {
		t.Fatalf("no rollback = %q", r.Text)
	}
	if st := e.b.State(); st.Restarts+st.Updates+st.Rollbacks != 0 {
		t.Fatalf("something ran: %+v", st)
	}
}
