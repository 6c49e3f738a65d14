package commands

import (
	"fmt"
	"testing"
	"time"

	"opsbot/config"
)

// Buckets of users who stopped sending commands are dropped once they have
// refilled (a fresh bucket is the same), so the set does not grow with the
// number of users ever seen; a bucket still refilling is kept and still
// limits its user.
func TestLimiterSetDropsRefilledBuckets(t *testing.T) {
	var s limiterSet
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	perMinute := config.RateLimit{Count: 2, Per: time.Minute}
	perHour := config.RateLimit{Count: 1, Per: time.Hour}
	for i := range 1000 {
		if _, ok := s.allow(fmt.Sprintf("slack:U%d|*", i), perMinute, t0); !ok {
			t.Fatalf("user %d limited on a first command", i)
		}
	}
	// One user spends the hourly bucket of a guarded verb.
	if _, ok := s.allow("slack:UOPS|restart", perHour, t0); !ok {
		t.Fatal("first restart limited")
	}
	if n := s.len(); n != 1001 {
		t.Fatalf("%d buckets, want 1001", n)
	}
	// Half a minute on, nobody's bucket is full yet: nothing is dropped.
	s.allow("slack:UNEW|*", perMinute, t0.Add(30*time.Second))
	if n := s.len(); n != 1002 {
		t.Fatalf("after 30s: %d buckets, want 1002 (none full yet)", n)
	}
	// Two minutes on, the per-minute buckets are full again and go; the
	// hourly one is still refilling and stays.
	s.allow("slack:UNEW|*", perMinute, t0.Add(2*time.Minute))
	if n := s.len(); n != 2 {
		t.Fatalf("after 2m: %d buckets, want 2 (the hourly one and the caller's)", n)
	}
	if d, ok := s.allow("slack:UOPS|restart", perHour, t0.Add(2*time.Minute)); ok || d != 58*time.Minute {
		t.Fatalf("the kept hourly bucket: ok=%v wait %s, want refused for 58m", ok, d)
	}
	// An hour on, it is full and dropped too.
	s.allow("slack:UNEW|*", perMinute, t0.Add(3*time.Hour))
	if n := s.len(); n != 1 {
		t.Fatalf("after 3h: %d buckets, want 1", n)
	}
}

// Sweeps run at most once a minute of the registry's clock, so a busy bot
// does not walk the whole set on every command.
func TestLimiterSetSweepsAtMostOncePerMinute(t *testing.T) {
	var s limiterSet
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	rl := config.RateLimit{Count: 1, Per: time.Second}
	s.allow("a", rl, t0)
	s.allow("b", rl, t0.Add(10*time.Second)) // a is full again, but no sweep is due
	if n := s.len(); n != 2 {
		t.Fatalf("%d buckets before the sweep is due, want 2", n)
	}
	s.allow("c", rl, t0.Add(61*time.Second))
	if n := s.len(); n != 1 {
		t.Fatalf("%d buckets after the sweep, want 1 (c)", n)
	}
}
