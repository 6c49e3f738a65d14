package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Healthy reports whether the scheduler's loop is alive (it ticks at least
// once a minute) and no job is overdue.
func (s *Scheduler) Healthy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lastTick.IsZero() && s.Now().Sub(s.lastTick) > 3*time.Minute {
		return false
	}
	for _, j := range s.jobs {
		if j.overdue {
			return false
		}
	}
	return true
}

// Heartbeat requests url every interval while healthy() holds, so an outside
// dead man's switch notices when the bot (or its scheduler) dies. A failed
// request is logged and tried again next interval.
type Heartbeat struct {
	URL      string
	Every    time.Duration
	Healthy  func() bool
	Client   *http.Client
	Log      *slog.Logger
	Sleep    func(ctx context.Context, d time.Duration) error
	OnResult func(err error) // tests and metrics
}

// Run beats until ctx ends.
func (h *Heartbeat) Run(ctx context.Context) error {
	if h.URL == "" {
		<-ctx.Done()
		return nil
	}
	client, sleep, log := h.Client, h.Sleep, h.Log
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	if log == nil {
		log = slog.Default()
	}
	for {
		if h.Healthy == nil || h.Healthy() {
			err := h.beat(ctx, client)
			if err != nil && ctx.Err() == nil {
				log.Warn("heartbeat failed", "err", err)
			}
			if h.OnResult != nil {
				h.OnResult(err)
			}
		}
		if sleep(ctx, h.Every) != nil {
			return nil
		}
	}
}

func (h *Heartbeat) beat(ctx context.Context, c *http.Client) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("heartbeat: status %d", resp.StatusCode)
	}
	return nil
}
