package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthClient opens a fresh connection per probe: a kept-alive connection
// to a process that has since stopped listening would hide the outage.
var healthClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// HealthResult is one probe of a health URL.
type HealthResult struct {
	Status  int // HTTP status, 0 when no response came
	Latency time.Duration
	Err     error // nil only for a 2xx answer in time
	// TimedOut: no answer came within the probe's timeout.
	TimedOut bool
}

// OK reports whether the probe got a 2xx answer in time.
func (h HealthResult) OK() bool { return h.Err == nil }

// CheckHealth GETs url once within timeout.
func CheckHealth(ctx context.Context, url string, timeout time.Duration) HealthResult {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return HealthResult{Err: fmt.Errorf("health %s: %w", url, err)}
	}
	start := time.Now()
	resp, err := healthClient.Do(req)
	if err != nil {
		lat := time.Since(start)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return HealthResult{Latency: lat, TimedOut: true, Err: fmt.Errorf("health: no answer within %s", timeout)}
		}
		return HealthResult{Latency: lat, Err: fmt.Errorf("health: %w", err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	r := HealthResult{Status: resp.StatusCode, Latency: time.Since(start)}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		r.Err = fmt.Errorf("health: status %d", resp.StatusCode)
	}
	return r
}

// WaitHealthy probes url every interval until it answers 2xx or deadline
// passes. It returns how long it took; the error names the last failure
// that says something: a last probe cut short by the deadline that got no
// answer does not hide the answer before it (a 503).
func WaitHealthy(ctx context.Context, url string, deadline, interval time.Duration) (time.Duration, error) {
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	const fullProbe = 2 * time.Second
	start := time.Now()
	end := start.Add(deadline)
	var last error
	for {
		probe := min(fullProbe, time.Until(end))
		if probe <= 0 {
			probe = time.Millisecond // the first probe is always tried
		}
		r := CheckHealth(ctx, url, probe)
		if r.OK() {
			return time.Since(start), nil
		}
		if ctx.Err() != nil {
			return time.Since(start), fmt.Errorf("wait healthy: %w", ctx.Err())
		}
		if last == nil || !r.TimedOut || probe >= fullProbe {
			last = r.Err
		}
		if time.Until(end) <= 0 {
			return time.Since(start), fmt.Errorf("wait healthy: not healthy after %s: %w", deadline.Round(time.Millisecond), last)
		}
		wait := min(interval, time.Until(end))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return time.Since(start), fmt.Errorf("wait healthy: %w", ctx.Err())
		case <-t.C:
		}
	}
}
