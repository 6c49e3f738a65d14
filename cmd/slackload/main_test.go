package main

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	slackbot "opsbot/bot/slack"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
	"opsbot/store/storetest"
)

// The load generator's requests pass the adapter's verification (each its
// own signature, so the replay cache refuses none) and get the verb's answer.
func TestLoadAgainstAdapter(t *testing.T) {
	t.Setenv("SLACK_SIGNING_SECRET", "")
	cfg := config.Default()
	cfg.Secrets.SlackSigningSecret = defaultSecret
	cfg.RateLimits.Default = config.RateLimit{Count: 1_000_000, Per: time.Minute}
	get := func() *config.Config { return cfg }
	reg := commands.NewRegistry(get, storetest.SQLite(t), nil)
	reg.MustRegister(&commands.Verb{Name: "ping", Access: policy.Read, Run: func(context.Context, *commands.Call) (commands.Response, error) {
		return commands.Text("pong"), nil
	}})
	srv := httptest.NewServer(slackbot.New(get, reg, nil).Handler())
	defer srv.Close()

	rep, err := load(srv.URL+slackbot.CommandsPath, 50, time.Second, "ping")
	if err != nil {
		t.Fatal(err)
	}
	if rep.sent != 50 || rep.ok2xx != 50 || rep.pong != 50 || rep.errs != 0 {
		t.Fatalf("report %s", rep)
	}
	if rep.p50 <= 0 || rep.p99 < rep.p50 || rep.max < rep.p99 {
		t.Fatalf("percentiles out of order: %s", rep)
	}
}
