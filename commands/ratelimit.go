package commands

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"opsbot/config"
)

// sweepEvery is the least time between two sweeps of the limiter set.
const sweepEvery = time.Minute

// limiterSet holds one token bucket per user, verb and limit. A bucket
// that has refilled completely behaves exactly like a new one, so it is
// dropped: the set holds only users who ran something within their
// limit's period, however many users a workspace has or how often the
// limits are reloaded (a changed limit is a new key; the old one ages out).
type limiterSet struct {
	mu        sync.Mutex
	m         map[string]*limiterEntry
	lastSweep time.Time
}

type limiterEntry struct {
	l     *rate.Limiter
	burst int
}

// allow takes one token of the bucket key (made with rl when new) at now,
// or says how long until one is free.
func (s *limiterSet) allow(key string, rl config.RateLimit, now time.Time) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*limiterEntry{}
	}
	if now.Sub(s.lastSweep) >= sweepEvery || now.Before(s.lastSweep) {
		s.sweep(now)
	}
	e, ok := s.m[key]
	if !ok {
		e = &limiterEntry{l: rate.NewLimiter(rate.Every(rl.Per/time.Duration(rl.Count)), rl.Count), burst: rl.Count}
		s.m[key] = e
	}
	res := e.l.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// sweep drops the buckets that are full again at now.
func (s *limiterSet) sweep(now time.Time) {
	for k, e := range s.m {
		if e.l.TokensAt(now) >= float64(e.burst) {
			delete(s.m, k)
		}
	}
	s.lastSweep = now
}

// len is the number of buckets held (tests).
func (s *limiterSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
