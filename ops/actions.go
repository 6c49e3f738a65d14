package ops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"opsbot/config"
	"opsbot/store"
)

// Action names a configured argv of a target.
type Action string

const (
	ActRestart  Action = "restart"
	ActUpdate   Action = "update"
	ActRollback Action = "rollback"
	ActStop     Action = "stop"
	ActStart    Action = "start"
)

// Argv returns the target's configured argv for a.
func (a Action) Argv(t config.Target) []string {
	switch a {
	case ActRestart:
		return t.Restart
	case ActUpdate:
		return t.Update
	case ActRollback:
		return t.Rollback
	case ActStop:
		return t.Stop
	case ActStart:
		return t.Start
	}
	return nil
}

// BusyError says another dangerous action holds the target's lock.
type BusyError struct {
	Target string
	Holder string // "restart by slack:U123" or "" when unknown
}

func (e *BusyError) Error() string {
	if e.Holder == "" {
		return fmt.Sprintf("another action on %s is running; try again when it has finished", e.Target)
	}
	return fmt.Sprintf("another action on %s is running (%s); try again when it has finished", e.Target, e.Holder)
}

// ErrNotConfigured is wrapped when a target has no argv for an action.
var ErrNotConfigured = errors.New("not configured")

// Actions runs the guarded actions on targets: one at a time per target
// across users and replicas (a store lock), the target held in maintenance
// while it runs, then a health check.
type Actions struct {
	Store *store.Store
	// Now is the clock for locks and maintenance windows [time.Now].
	Now func() time.Time
	// HealthInterval between health probes after an action [500ms].
	HealthInterval time.Duration
	Log            *slog.Logger
}

// NewActions makes Actions on st.
func NewActions(st *store.Store, log *slog.Logger) *Actions {
	if log == nil {
		log = slog.Default()
	}
	return &Actions{Store: st, Now: time.Now, HealthInterval: 500 * time.Millisecond, Log: log}
}

func (a *Actions) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

// ActionResult is what one guarded action did.
type ActionResult struct {
	Target string
	Action Action
	By     string
	Run    RunResult
	RunErr error // nil when the argv exited 0
	// Healthy is the health after the action; HealthTook how long until
	// healthy (or until the deadline); HealthErr the last failure.
	Healthy    bool
	HealthTook time.Duration
	HealthErr  error
	Took       time.Duration // the whole action, command and health wait
}

// OK reports whether the command succeeded and the target is healthy.
func (r ActionResult) OK() bool { return r.RunErr == nil && r.Healthy }

// Guard runs fn holding the target's action lock, with the target in
// maintenance: until fn's end plus MaintenanceGrace when fn returns nil,
// until its end when it returns an error (a failed action must not hide
// the outage it leaves). what and by name the holder for whoever is
// refused ("restore by slack:U1"). maxDur bounds how long the lock may be
// held if this process dies. A held lock gives a *BusyError and fn is not
// run. Other dangerous actions (restore) use it too.
func (a *Actions) Guard(ctx context.Context, target, what, by string, maxDur time.Duration, fn func(ctx context.Context) error) error {
	return a.guard(ctx, target, what, by, maxDur, true, fn)
}

// Exclusive runs fn holding the target's action lock like Guard, without
// a maintenance hold: for actions the bot starts to fix a firing alert,
// which must stay visible while they run.
func (a *Actions) Exclusive(ctx context.Context, target, what, by string, maxDur time.Duration, fn func(ctx context.Context) error) error {
	return a.guard(ctx, target, what, by, maxDur, false, fn)
}

func (a *Actions) guard(ctx context.Context, target, what, by string, maxDur time.Duration, hold bool, fn func(ctx context.Context) error) (err error) {
	if a.Store == nil {
		return errors.New("guard: no store for the action lock")
	}
	holder := what
	if by != "" {
		holder += " by " + by
	}
	holder += " #" + randID()
	lock := ActionLock(target)
	ok, err := a.Store.TryLock(ctx, lock, holder, maxDur+time.Minute, a.now())
	if err != nil {
		return fmt.Errorf("guard %s: %w", target, err)
	}
	if !ok {
		h, _ := a.Store.LockHolder(ctx, lock, a.now())
		h, _, _ = strings.Cut(h, " #")
		return &BusyError{Target: target, Holder: h}
	}
	bg := context.WithoutCancel(ctx)
	defer func() {
		if err := a.Store.Unlock(bg, lock, holder); err != nil {
			a.Log.Error("action lock not released", "target", target, "err", err)
		}
	}()
	if !hold {
		return fn(ctx)
	}
	key := MaintenanceKey(target)
	until := a.now().Add(maxDur).UnixMilli() + MaintenanceGrace
	if err := a.Store.PutState(ctx, key, Maintenance{Until: until}, a.now()); err != nil {
		return fmt.Errorf("guard %s: maintenance: %w", target, err)
	}
	defer func() {
		end := a.now().UnixMilli()
		if err == nil {
			end += MaintenanceGrace
		}
		if perr := a.Store.PutState(bg, key, Maintenance{Until: end}, a.now()); perr != nil {
			a.Log.Error("maintenance window not updated", "target", target, "err", perr)
		}
	}()
	return fn(ctx)
}

// errNotHealthy ends Run's guarded part when the action failed or health
// did not return by its deadline, so the hold ends with it; Run reports
// the failure in its result, not as an error.
var errNotHealthy = errors.New("action failed or target unhealthy")

// Run runs the target's argv for act under Guard, then waits for health
// until the target's health deadline: a human-started (or planned) action,
// whose target's health alerts are held while it runs and for the grace
// after it succeeded; a failure or a target still unhealthy at the
// deadline ends the hold at once. The error is only for what stopped the
// action from being tried (busy, not configured, store failure); a failing
// command or health is in the result.
func (a *Actions) Run(ctx context.Context, t config.Target, act Action, by string) (ActionResult, error) {
	return a.run(ctx, t, act, by, true)
}

// RunAutomatic is Run for an action the bot started on its own to fix a
// firing alert: the same lock, command and health wait, and no hold, so
// the alert that caused it is not hidden while it runs.
func (a *Actions) RunAutomatic(ctx context.Context, t config.Target, act Action, by string) (ActionResult, error) {
	return a.run(ctx, t, act, by, false)
}

func (a *Actions) run(ctx context.Context, t config.Target, act Action, by string, hold bool) (ActionResult, error) {
	res := ActionResult{Target: t.Name, Action: act, By: by}
	argv := act.Argv(t)
	if len(argv) == 0 {
		return res, fmt.Errorf("%s %s: no %s command in the configuration: %w", act, t.Name, act, ErrNotConfigured)
	}
	cmdTimeout := orDefault(t.CommandTimeout, 2*time.Minute)
	deadline := orDefault(t.HealthDeadline, time.Minute)
	start := time.Now()
	err := a.guard(ctx, t.Name, string(act), by, cmdTimeout+deadline, hold, func(ctx context.Context) error {
		a.Log.Info("action started", "target", t.Name, "action", act, "by", by)
		res.Run, res.RunErr = RunArgv(ctx, argv, t.Workdir, ActionEnv(t), cmdTimeout)
		if res.RunErr == nil {
			res.HealthTook, res.HealthErr = WaitHealthy(ctx, t.HealthURL, deadline, orDefault(a.HealthInterval, 500*time.Millisecond))
		} else {
			// The command failed: say how the target is now, without waiting.
			h := CheckHealth(ctx, t.HealthURL, orDefault(t.HealthTimeout, 2*time.Second))
			res.HealthErr = h.Err
		}
		res.Healthy = res.HealthErr == nil
		if !res.OK() {
			return errNotHealthy
		}
		return nil
	})
	res.Took = time.Since(start)
	if err != nil && !errors.Is(err, errNotHealthy) {
		return res, err
	}
	a.Log.Info("action finished", "target", t.Name, "action", act, "by", by, "ok", res.OK(), "took", res.Took)
	return res, nil
}

func randID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d", hex.EncodeToString(b), os.Getpid())
}
