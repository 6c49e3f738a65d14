package scheduler_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/scheduler"
)

func TestHeartbeatOnlyWhileHealthy(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	healthy := []bool{true, true, false, false, true}
	i := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var beats []error
	h := &scheduler.Heartbeat{URL: srv.URL, Every: time.Minute,
		Healthy:  func() bool { return healthy[i] },
		OnResult: func(err error) { beats = append(beats, err) },
		Sleep: func(ctx context.Context, d time.Duration) error {
			if d != time.Minute {
				t.Errorf("slept %s", d)
			}
			i++
			if i == len(healthy) {
				cancel()
				return ctx.Err()
			}
			return nil
		}}
	if err := h.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 3 || len(beats) != 3 {
		t.Fatalf("want 3 beats (healthy cycles), got %d hits %d results", hits.Load(), len(beats))
	}
	for _, err := range beats {
		if err != nil {
			t.Fatal(err)
		}
	}
}
