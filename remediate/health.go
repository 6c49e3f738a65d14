package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"opsbot/alert"
	"opsbot/config"
	"opsbot/human"
	"opsbot/ops"
	"opsbot/store"
)

// Checks are the guide's six status checks the health job observes.
var Checks = []string{"api", "database", "redis", "llm", "uploads", "logging"}

// DownRule is the rule name of a failing check: api_down, database_down, …
func DownRule(check string) string { return check + "_down" }

// DownFingerprint is the fingerprint of a target's failing check.
func DownFingerprint(check, target string) string { return DownRule(check) + ":" + target }

// Health is the scheduled health job, a producer: on its schedule it runs
// every target's six status checks (the same probes as /ops status) and
// observes each failing one as a <check>_down alert of kind health, with
// the cause first in its summary, the evidence in its detail and the
// consecutive failed checks as its value, and a check that passes again
// as resolved. It only observes through Sink; its counters live in the
// store's state table.
//
// Severity: database_down is critical (nothing the bot does fixes it; a
// human is needed now). api_down is a warning while the bot's own
// restarts may fix it, and critical on a target the bot will not restart
// (restarts off, no restart command, no budget): the critical alert of a
// target its restarts did not fix is restart_budget, with its incident.
// The other checks (redis, llm, uploads, logging) are warnings.
type Health struct {
	Store   *store.Store
	Config  func() *config.Config
	Checker *ops.Checker
	Sink    alert.Sink
	Log     *slog.Logger
	// Now is the clock of the counters [time.Now].
	Now func() time.Time

	mu sync.Mutex // one pass at a time
}

// checkState is one check's counter.
type checkState struct {
	Failures int   `json:"failures"`
	Since    int64 `json:"since,omitempty"` // unix ms of the first failed check in a row
}

// healthState is kept per target under healthKey.
type healthState struct {
	Checks map[string]checkState `json:"checks"`
}

func healthKey(target string) string { return "health:" + target }

func (h *Health) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Check is the job: one pass over every target.
func (h *Health) Check(ctx context.Context, _ time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	cfg := h.Config()
	rep := h.Checker.Status(ctx, cfg.Thresholds, cfg.Targets)
	if ctx.Err() != nil {
		// Probes cut short by shutdown say nothing about the targets.
		return nil
	}
	lines := map[string]map[string]ops.Line{}
	for _, l := range rep.Lines {
		if lines[l.Target] == nil {
			lines[l.Target] = map[string]ops.Line{}
		}
		lines[l.Target][l.Check] = l
	}
	var errs []error
	for _, t := range cfg.Targets {
		if err := h.observe(ctx, cfg, t, lines[t.Name]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (h *Health) observe(ctx context.Context, cfg *config.Config, t config.Target, lines map[string]ops.Line) error {
	now := h.now()
	var st healthState
	err := h.Store.GetState(ctx, healthKey(t.Name), &st)
	first := errors.Is(err, store.ErrNotFound)
	if err != nil && !first {
		return err
	}
	if st.Checks == nil {
		st.Checks = map[string]checkState{}
	}
	var obs []alert.Alert
	for _, check := range Checks {
		l, ok := lines[check]
		cs := st.Checks[check]
		if ok && down(l) {
			if check == "api" && cs.Failures > 0 && h.restartCleared(ctx, t.Name, time.UnixMilli(cs.Since)) {
				// Down again after a restart brought it back (and resolved
				// its alert): a new outage, counted and announced afresh.
				cs = checkState{}
			}
			cs.Failures++
			if cs.Since == 0 {
				cs.Since = now.UnixMilli()
			}
			st.Checks[check] = cs
			obs = append(obs, alert.Alert{Fingerprint: DownFingerprint(check, t.Name), Kind: "health", Rule: DownRule(check),
				Target: t.Name, Severity: severity(cfg, t, check), Status: alert.Firing, Summary: Cause(t, l),
				Detail: fmt.Sprintf("%s check of %s: %s (expected: %s)", check, t.Name, l.Value, l.Threshold),
				Value:  float64(cs.Failures), StartsAt: time.UnixMilli(cs.Since)})
			continue
		}
		if cs.Failures > 0 {
			downFor := now.Sub(time.UnixMilli(cs.Since))
			summary := fmt.Sprintf("%s healthy again after %s down", checkNoun(check), human.Duration(downFor))
			if ok && l.Value != "" {
				summary = fmt.Sprintf("%s healthy again: %s after %s down", checkNoun(check), l.Value, human.Duration(downFor))
			}
			if check == "api" {
				summary += h.recovery(ctx, t.Name, time.UnixMilli(cs.Since))
			}
			obs = append(obs, alert.Alert{Fingerprint: DownFingerprint(check, t.Name), Kind: "health", Rule: DownRule(check),
				Target: t.Name, Severity: severity(cfg, t, check), Status: alert.Resolved, Summary: summary,
				StartsAt: time.UnixMilli(cs.Since), EndsAt: now})
			if check == "api" {
				// The target is up: the alert that its restarts had not
				// fixed it ends too.
				obs = append(obs, alert.Alert{Fingerprint: BudgetFingerprint(t.Name), Kind: "incident", Rule: "restart_budget",
					Target: t.Name, Severity: "critical", Status: alert.Resolved, Summary: t.Name + " is up again: " + summary, EndsAt: now})
			}
		} else if first && check == "api" && ok && !down(l) {
			// The health_down alert of earlier versions ends once the api
			// is seen up, so none is left firing forever.
			obs = append(obs, alert.Alert{Fingerprint: "health_down:" + t.Name, Kind: "health", Rule: "health_down", Target: t.Name,
				Severity: "critical", Status: alert.Resolved, Summary: t.Name + " is healthy", EndsAt: now})
		}
		delete(st.Checks, check)
	}
	if err := h.Store.PutState(ctx, healthKey(t.Name), st, now); err != nil {
		return err
	}
	if len(obs) == 0 || h.Sink == nil {
		return nil
	}
	if err := h.Sink.Notify(ctx, obs...); err != nil {
		return fmt.Errorf("observe health: %w", err)
	}
	return nil
}

// recovery names the automatic restart that brought the api back, if
// one finished while it was down: "; recovered after restart 1 of 3 (14 s)".
func (h *Health) recovery(ctx context.Context, target string, downSince time.Time) string {
	a, err := store.LastRemediationAttempt(ctx, h.Store.DB, target, ActRestart)
	if err != nil || a.Outcome != outcomeCleared || a.FinishedAt.Before(downSince) || a.StartedAt.IsZero() {
		return ""
	}
	return fmt.Sprintf("; recovered after restart %d of %d (%s)", a.Attempt, a.Budget, human.Duration(a.FinishedAt.Sub(a.StartedAt.Time)))
}

// restartCleared reports whether an automatic restart of target brought
// its api back after since.
func (h *Health) restartCleared(ctx context.Context, target string, since time.Time) bool {
	a, err := store.LastRemediationAttempt(ctx, h.Store.DB, target, ActRestart)
	return err == nil && a.Outcome == outcomeCleared && !a.FinishedAt.IsZero() && a.FinishedAt.After(since)
}

// down reports whether a status line means its check is down. A slow api
// that answers 2xx is the response-time rule's business, not an outage;
// a skipped (unconfigured) check is never down.
func down(l ops.Line) bool {
	if l.Level != ops.LevelFailing {
		return false
	}
	if l.Check == "api" && strings.HasPrefix(l.Value, "status 2") {
		return false
	}
	return true
}

func severity(cfg *config.Config, t config.Target, check string) string {
	switch check {
	case "database":
		return "critical"
	case "api":
		rc := cfg.Remediation
		if !rc.RestartOnAPIDown || rc.Budget <= 0 || len(t.Restart) == 0 {
			return "critical"
		}
	}
	return "warning"
}

func checkNoun(check string) string {
	switch check {
	case "api":
		return "API"
	case "llm":
		return "LLM API"
	case "redis":
		return "Redis"
	}
	return check
}

var statusRE = regexp.MustCompile(`^status (\d{3})\b`)

// Cause words a failing status line for people, cause first:
// "/health answered 503", "database file missing: ai_tutor.db".
func Cause(t config.Target, l ops.Line) string {
	v := l.Value
	switch l.Check {
	case "api":
		path := "/health"
		if u, err := url.Parse(t.HealthURL); err == nil && u.Path != "" {
			path = u.Path
		}
		if m := statusRE.FindStringSubmatch(v); m != nil {
			return path + " answered " + m[1]
		}
		return path + " does not answer: " + v
	case "database":
		if rest, ok := strings.CutPrefix(v, "missing: "); ok {
			return "database file missing: " + rest
		}
		if rest, ok := strings.CutPrefix(v, "open: "); ok {
			return "database cannot be opened: " + rest
		}
		return "database " + v
	case "redis":
		if rest, ok := strings.CutPrefix(v, "no PONG: "); ok {
			return "Redis does not answer PING: " + rest
		}
		return "Redis: " + v
	case "llm":
		if m := statusRE.FindStringSubmatch(v); m != nil {
			return "LLM API answered " + m[1] + strings.TrimPrefix(v, m[0])
		}
		if rest, ok := strings.CutPrefix(v, "unreachable: "); ok {
			return "LLM API unreachable: " + rest
		}
		// Reachable, but its recent calls in the log fail.
		if _, rate, ok := strings.Cut(v, ", "); ok && strings.Contains(rate, "recent calls") {
			return "LLM API calls failing: " + rate
		}
		return "LLM API: " + v
	case "uploads":
		if v == "folder missing" {
			return "uploads folder missing: " + t.UploadsDir
		}
		if strings.HasPrefix(v, "writable") {
			return "uploads disk almost full: " + v
		}
		return "uploads folder " + v
	case "logging":
		if rest, ok := strings.CutPrefix(v, "missing: "); ok {
			return "log files missing: " + rest
		}
		return "logs " + v
	}
	return l.Check + ": " + v
}
