package fleet_test

import (
	"testing"
	"time"

	"opsbot/config"
	"opsbot/fleet"
)

// A host is down after down_after intervals without a heartbeat (not
// when stopped cleanly), degraded with an unhealthy target or a metric at
// its alert threshold, healthy otherwise.
func TestHostState(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	th := config.Default().Thresholds
	ok := fleet.Metrics{CPU: 10, Mem: 20, Disk: 30, Targets: map[string]fleet.TargetHealth{"api": {Healthy: true}}}
	h := fleet.Host{Name: "web-1", Every: 10 * time.Second, LastHeartbeat: now.Add(-29 * time.Second), Metrics: ok}
	for _, c := range []struct {
		name       string
		edit       func(h *fleet.Host)
		state, why string
	}{
		{"healthy", func(h *fleet.Host) {}, fleet.StateHealthy, ""},
		{"down", func(h *fleet.Host) { h.LastHeartbeat = now.Add(-31 * time.Second) }, fleet.StateDown, "no heartbeat for 31s"},
		{"stopped", func(h *fleet.Host) { h.LastHeartbeat, h.Stopped = now.Add(-time.Hour), true }, fleet.StateStopped, "agent stopped"},
		{"target", func(h *fleet.Host) {
			h.Metrics.Targets = map[string]fleet.TargetHealth{"api": {Healthy: false, Err: "status 503"}}
		}, fleet.StateDegraded, "api unhealthy"},
		{"disk", func(h *fleet.Host) { h.Metrics.Disk = 95 }, fleet.StateDegraded, "disk 95 %"},
	} {
		x := h
		x.Metrics.Targets = ok.Targets
		c.edit(&x)
		st, why := x.State(now, 3, th)
		if st != c.state || why != c.why {
			t.Errorf("%s: got %s %q, want %s %q", c.name, st, why, c.state, c.why)
		}
	}
	if got := fleet.QueueName("web-2"); got != "host_web-2" || fleet.HostOfQueue(got) != "web-2" || fleet.HostOfQueue("actions") != "" {
		t.Fatalf("queue name %q", got)
	}
}
