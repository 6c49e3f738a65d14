// Package cache flushes the served service's Redis cache: the configured
// cache database with FLUSHDB, never FLUSHALL unless configured.
package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"opsbot/config"
)

// Result of a flush.
type Result struct {
	KeysBefore int64
	All        bool
	Took       time.Duration
}

func (r Result) String() string {
	what := "database"
	if r.All {
		what = "every database (FLUSHALL)"
	}
	return fmt.Sprintf("flushed %s: %d key(s) removed in %s", what, r.KeysBefore, r.Took.Round(time.Millisecond))
}

// Flush empties the target's cache database.
func Flush(ctx context.Context, rc config.Redis) (Result, error) {
	if rc.Addr == "" {
		return Result{}, errors.New("flush cache: no redis configured for this target")
	}
	c := redis.NewClient(&redis.Options{Addr: rc.Addr, DB: rc.DB, Password: rc.Password.Reveal(), DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, MaxRetries: 0})
	defer c.Close()
	start := time.Now()
	n, err := c.DBSize(ctx).Result()
	if err != nil {
		return Result{}, fmt.Errorf("flush cache: %w", err)
	}
	if rc.AllowFlush {
		err = c.FlushAll(ctx).Err()
	} else {
		err = c.FlushDB(ctx).Err()
	}
	if err != nil {
		return Result{}, fmt.Errorf("flush cache: %w", err)
	}
	return Result{KeysBefore: n, All: rc.AllowFlush, Took: time.Since(start)}, nil
}
