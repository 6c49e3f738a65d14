package cache_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"opsbot/config"
	"opsbot/ops/cache"
	"opsbot/store/storetest"
)

// Databases 11 and 12 belong to this test.
func TestFlushDBLeavesOtherDatabases(t *testing.T) {
	addr := os.Getenv("OPSBOT_TEST_REDIS_ADDR")
	if addr == "" {
		storetest.Skip(t, "OPSBOT_TEST_REDIS_ADDR not set")
	}
	ctx := context.Background()
	cache11 := redis.NewClient(&redis.Options{Addr: addr, DB: 11})
	other12 := redis.NewClient(&redis.Options{Addr: addr, DB: 12})
	defer cache11.Close()
	defer other12.Close()
	if err := cache11.Ping(ctx).Err(); err != nil {
		storetest.Skip(t, "redis unreachable: %v", err)
	}
	for i := 0; i < 5; i++ {
		cache11.Set(ctx, fmt.Sprint("k", i), "v", 0)
	}
	other12.Set(ctx, "keep", "v", 0)
	defer other12.Del(ctx, "keep")
	res, err := cache.Flush(ctx, config.Redis{Addr: addr, DB: 11})
	if err != nil {
		t.Fatal(err)
	}
	if res.KeysBefore != 5 || res.All {
		t.Fatalf("result %+v", res)
	}
	if n := cache11.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("cache db still has %d keys", n)
	}
	if other12.Get(ctx, "keep").Val() != "v" {
		t.Fatal("FLUSHDB touched another database")
	}
}

func TestFlushUnreachable(t *testing.T) {
	_, err := cache.Flush(context.Background(), config.Redis{Addr: "127.0.0.1:1"})
	if err == nil {
		t.Fatal("flush of a closed port succeeded")
	}
	if _, err := cache.Flush(context.Background(), config.Redis{}); err == nil || err.Error() != "flush cache: no redis configured for this target" {
		t.Fatalf("got %v", err)
	}
}
