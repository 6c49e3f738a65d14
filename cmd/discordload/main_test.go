package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"opsbot/bot/discord"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/store/storetest"
)

// Every request passes the adapter's verification (each has its own
// timestamp and signature, so the replay cache refuses none) and is
// answered inline with the verb's reply.
func TestLoadAgainstAdapter(t *testing.T) {
	priv := keyFrom("test")
	cfg := config.Default()
	cfg.Secrets.DiscordPublicKey = config.Secret(hex.EncodeToString(priv.Public().(ed25519.PublicKey)))
	cfg.RateLimits.Default = config.RateLimit{Count: 1_000_000, Per: time.Minute}
	get := func() *config.Config { return cfg }
	reg := commands.NewRegistry(get, storetest.SQLite(t), nil)
	srv := httptest.NewServer(discord.New(get, reg, nil).Handler())
	defer srv.Close()

	res, err := load(srv.URL, priv, "help", 50, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.n != 50 || res.ok != 50 || res.inline != 50 || len(res.errs) != 0 {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(res.sample, "opsbot commands") {
		t.Errorf("answer %q is not help's", res.sample)
	}
	// The verdict's logic, not this machine's speed: a latency bound no run
	// misses passes, one every run misses fails (the figure itself is the
	// tool's to report, not a test's to time).
	var b, f strings.Builder
	res.print(&b, 50, time.Second, time.Hour)
	if !strings.Contains(b.String(), "2xx: 50/50 = 100.00 %") || !strings.Contains(b.String(), "PASS") {
		t.Errorf("report:\n%s", b.String())
	}
	if res.print(&f, 50, time.Second, time.Nanosecond); !strings.Contains(f.String(), "FAIL") {
		t.Errorf("a p99 over the target passed:\n%s", f.String())
	}

	// A wrong key is refused: the run reports it and fails.
	res, err = load(srv.URL, keyFrom("other"), "help", 10, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.ok != 0 || res.codes[401] != 10 {
		t.Errorf("wrong key: %+v", res)
	}
}
