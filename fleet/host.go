package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"opsbot/config"
	"opsbot/store"
)

// TargetInfo is a target an agent serves and the actions it allows on it.
type TargetInfo struct {
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// TargetHealth is a target's health at the last sample.
type TargetHealth struct {
	Healthy bool   `json:"healthy"`
	Err     string `json:"err,omitempty"`
	MS      int64  `json:"ms"`
}

// Metrics are a host's last sample.
type Metrics struct {
	CPU     float64                 `json:"cpu"`
	Mem     float64                 `json:"mem"`
	Disk    float64                 `json:"disk"`
	At      int64                   `json:"at"`
	Targets map[string]TargetHealth `json:"targets,omitempty"`
}

// Host is a host of the fleet as the store has it.
type Host struct {
	Name          string
	Version       string
	Labels        map[string]string
	Targets       []TargetInfo
	Every         time.Duration
	Incarnation   string
	StartedAt     time.Time
	LastHeartbeat time.Time
	Stopped       bool
	Metrics       Metrics
}

// Host states, worst first.
const (
	StateDown     = "down"
	StateDegraded = "degraded"
	StateStopped  = "stopped"
	StateHealthy  = "healthy"
)

var stateRank = map[string]int{StateDown: 0, StateDegraded: 1, StateStopped: 2, StateHealthy: 3}

// Serves reports whether the host runs target.
func (h Host) Serves(target string) bool {
	for _, t := range h.Targets {
		if t.Name == target {
			return true
		}
	}
	return false
}

// Down reports whether the host missed downAfter heartbeats at now (a
// cleanly stopped agent is not down).
func (h Host) Down(now time.Time, downAfter int) bool {
	return !h.Stopped && now.Sub(h.LastHeartbeat) > time.Duration(downAfter)*h.Every
}

// State is the host's state at now, and why when it is not healthy.
func (h Host) State(now time.Time, downAfter int, th config.Thresholds) (string, string) {
	switch {
	case h.Down(now, downAfter):
		return StateDown, fmt.Sprintf("no heartbeat for %s", roundDur(now.Sub(h.LastHeartbeat)))
	case h.Stopped:
		return StateStopped, "agent stopped"
	}
	var why []string
	names := make([]string, 0, len(h.Metrics.Targets))
	for n := range h.Metrics.Targets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if th := h.Metrics.Targets[n]; !th.Healthy {
			why = append(why, n+" unhealthy")
		}
	}
	for _, m := range []struct {
		name string
		v    float64
		t    config.Threshold
	}{{"cpu", h.Metrics.CPU, th.CPUPct}, {"memory", h.Metrics.Mem, th.MemoryPct}, {"disk", h.Metrics.Disk, th.DiskPct}} {
		if m.t.Alert > 0 && m.v >= m.t.Alert {
			why = append(why, fmt.Sprintf("%s %.0f %%", m.name, m.v))
		}
	}
	if len(why) > 0 {
		return StateDegraded, joinComma(why)
	}
	return StateHealthy, ""
}

func joinComma(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}

func roundDur(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// LoadHosts reads the fleet from the store.
func LoadHosts(ctx context.Context, st *store.Store) ([]Host, error) {
	rows, err := st.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Host, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromRow(r))
	}
	return out, nil
}

func fromRow(r store.Host) Host {
	h := Host{Name: r.Name, Version: r.Version, Every: time.Duration(r.HeartbeatEvery) * time.Millisecond, Incarnation: r.Incarnation,
		StartedAt: r.StartedAt.Time, LastHeartbeat: r.LastHeartbeat.Time, Stopped: !r.StoppedAt.IsZero()}
	_ = json.Unmarshal([]byte(r.Labels), &h.Labels)
	_ = json.Unmarshal([]byte(r.Targets), &h.Targets)
	_ = json.Unmarshal([]byte(r.Metrics), &h.Metrics)
	return h
}

// Instances are the hosts serving target, by name.
func Instances(hosts []Host, target string) []Host {
	var out []Host
	for _, h := range hosts {
		if h.Serves(target) {
			out = append(out, h)
		}
	}
	return out
}
