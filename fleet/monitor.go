package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"opsbot/alert"
	"opsbot/config"
	"opsbot/store"
)

// HostDownRule is the rule of the alert a host raises when its agent
// stops heartbeating.
const HostDownRule = "host_down"

// HostDownFingerprint is host's host_down alert.
func HostDownFingerprint(host string) string { return HostDownRule + ":" + host }

// Monitor runs on the leader: it raises host_down for a host whose agent
// missed fleet.down_after heartbeats (resolved when it comes back or
// stops cleanly), and marks lost the action jobs of a dead agent, or of
// an agent that started again since it took them.
type Monitor struct {
	Store  *store.Store
	Config func() *config.Config
	Sink   alert.Sink
	Log    *slog.Logger
	// Every is the check's period [1s].
	Every time.Duration
	Now   func() time.Time

	firing map[string]bool
}

// Run checks until ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	if m.Store.Dialect != "postgres" {
		return ErrNeedsPostgres
	}
	every := m.Every
	if every <= 0 {
		every = time.Second
	}
	m.firing = nil
	for {
		if err := m.Check(ctx); err != nil && ctx.Err() == nil {
			m.Log.Warn("fleet: check", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

func (m *Monitor) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}

// Check looks at every host and every running action job once.
func (m *Monitor) Check(ctx context.Context) error {
	hosts, err := LoadHosts(ctx, m.Store)
	if err != nil {
		return err
	}
	now := m.now()
	downAfter := m.Config().Fleet.DownAfter
	first := m.firing == nil
	if first {
		m.firing = map[string]bool{}
	}
	byName := map[string]Host{}
	var obs []alert.Alert
	for _, h := range hosts {
		byName[h.Name] = h
		down := h.Down(now, downAfter)
		was, known := m.firing[h.Name]
		if known && was == down {
			continue
		}
		if !known && !down && !first {
			m.firing[h.Name] = false
			continue
		}
		m.firing[h.Name] = down
		labels := map[string]string{}
		maps.Copy(labels, h.Labels)
		labels["host"] = h.Name
		a := alert.Alert{Fingerprint: HostDownFingerprint(h.Name), Kind: "health", Rule: HostDownRule, Severity: "critical",
			Labels: labels, StartsAt: now}
		if down {
			a.Status = alert.Firing
			a.Value = float64(now.Sub(h.LastHeartbeat).Milliseconds()) / 1000
			a.Summary = fmt.Sprintf("host %s down: no heartbeat for %s (%d intervals of %s)", h.Name, roundDur(now.Sub(h.LastHeartbeat)), downAfter, h.Every)
		} else {
			a.Status, a.EndsAt = alert.Resolved, now
			a.Summary = fmt.Sprintf("host %s is back: heartbeating again", h.Name)
			if h.Stopped {
				a.Summary = fmt.Sprintf("host %s: agent stopped cleanly", h.Name)
			}
		}
		obs = append(obs, a)
	}
	if len(obs) > 0 && m.Sink != nil {
		if err := m.Sink.Notify(ctx, obs...); err != nil {
			return fmt.Errorf("host_down: %w", err)
		}
	}
	jobs, err := runningJobs(ctx, m.Store.DB.DB)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		name := HostOfQueue(j.Queue)
		h, ok := byName[name]
		var why string
		switch {
		case !ok:
			why = "its host " + name + " is not registered"
		case h.Down(now, downAfter):
			why = fmt.Sprintf("the agent on %s stopped heartbeating while it ran", name)
		case h.Incarnation != "" && j.By != "" && j.By != h.Incarnation:
			why = fmt.Sprintf("the agent on %s started again while it ran", name)
		default:
			continue
		}
		lost, err := markLost(ctx, m.Store.DB.DB, j.ID, why)
		if err != nil {
			return err
		}
		if lost {
			m.Log.Warn("fleet: action lost", "job", j.ID, "host", name, "target", j.Args.Target, "action", j.Args.Action, "why", why)
		}
	}
	return nil
}
