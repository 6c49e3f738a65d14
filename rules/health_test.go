package rules

import (
	"context"
	"sync"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/ops"
)

// TestHealthProbesRunTogether: every target's probe is under way before
// any answers, so one slow target holds the pass for its own timeout only.
// Run one at a time, the first probe would wait for the others forever.
func TestHealthProbesRunTogether(t *testing.T) {
	targets := []config.Target{
		{Name: "a", HealthURL: "http://a/health"},
		{Name: "b"}, // no URL: no probe, no sample
		{Name: "c", HealthURL: "http://c/health"},
		{Name: "d", HealthURL: "http://d/health"},
	}
	var mu sync.Mutex
	started := 0
	all := make(chan struct{})
	probe := func(ctx context.Context, url string, _ time.Duration) ops.HealthResult {
		mu.Lock()
		started++
		if started == 3 {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			return ops.HealthResult{Status: 200, Latency: time.Millisecond}
		case <-ctx.Done():
			return ops.HealthResult{Err: ctx.Err()}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := HealthSource{Targets: targets, Probe: probe}.Collect(ctx, time.Unix(1e9, 0))
	if err != nil {
		t.Fatalf("collect: %v (the probes did not all start: run one after another?)", err)
	}
	var got []string
	for _, s := range out.Samples {
		if s.Metric == MetricHealthUp {
			if s.Value != 1 {
				t.Fatalf("%s down: %+v", s.Target, out.Samples)
			}
			got = append(got, s.Target)
		}
	}
	if len(got) != 3 || got[0] != "a" || got[1] != "c" || got[2] != "d" {
		t.Fatalf("samples in target order a, c, d: %v", got)
	}
}
