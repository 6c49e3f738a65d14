package cache_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/store/storetest"
	"opsbot/verbs/cache"
)

// Database 14 belongs to this test.
func TestCacheFlushIsGuarded(t *testing.T) {
	addr := os.Getenv("OPSBOT_TEST_REDIS_ADDR")
	if addr == "" {
		storetest.Skip(t, "OPSBOT_TEST_REDIS_ADDR not set")
	}
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr, DB: 14})
	defer rc.Close()
	if err := rc.Ping(ctx).Err(); err != nil {
		storetest.Skip(t, "redis unreachable: %v", err)
	}
	rc.Set(ctx, "k1", "v", 0)
	rc.Set(ctx, "k2", "v", 0)
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "api", Redis: config.Redis{Addr: addr, DB: 14}}}
	cfg.Roles = map[string]config.Role{"ops": {Users: []string{"slack:UOPS"}, Verbs: []string{"cache"}}}
	reg := commands.NewRegistry(func() *config.Config { return cfg }, storetest.SQLite(t), nil)
	reg.MustRegister(cache.Verbs(cache.Deps{Config: func() *config.Config { return cfg }})...)
	req := func(user string) commands.Request {
		return commands.Request{Platform: "slack", User: user, Channel: "C1", Text: "cache flush"}
	}
	if r := reg.Handle(ctx, req("UX")); !strings.Contains(r.Text, "you may not run cache flush") {
		t.Fatalf("no role: %q", r.Text)
	}
	r := reg.Handle(ctx, req("UOPS"))
	if r.Title != "Confirm: flush cache db 14 of api" || rc.DBSize(ctx).Val() != 2 {
		t.Fatalf("want a confirmation and nothing flushed yet: %+v", r)
	}
	out := reg.Button(ctx, req("UOPS"), "confirm", r.Buttons[0].Value)
	if !strings.HasPrefix(out.Text, "api: flushed database: 2 key(s) removed") || rc.DBSize(ctx).Val() != 0 {
		t.Fatalf("flush: %q", out.Text)
	}
	if r := reg.Handle(ctx, commands.Request{Platform: "console", User: "me", Local: true, Confirmed: true, Text: "cache flush nosuch"}); r.Text != `unknown target "nosuch"; targets: api` {
		t.Fatalf("unknown target: %q", r.Text)
	}
}

// A flush that cannot run says so before anyone is asked to confirm it.
func TestFlushWithoutRedisIsRefusedBeforeTheConfirmation(t *testing.T) {
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "demo"}}
	reg := commands.NewRegistry(func() *config.Config { return cfg }, storetest.SQLite(t), nil)
	reg.MustRegister(cache.Verbs(cache.Deps{Config: func() *config.Config { return cfg }})...)
	r := reg.Handle(context.Background(), commands.Request{Platform: "console", User: "op", Local: true, Text: "cache flush"})
	if len(r.Buttons) != 0 || r.Text != "demo has no Redis configured (targets[].redis.addr): there is no cache to flush" {
		t.Fatalf("got %+v", r.Message)
	}
}
