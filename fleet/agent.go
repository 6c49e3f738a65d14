package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"

	"opsbot/alert"
	"opsbot/config"
	"opsbot/human"
	"opsbot/ops"
	"opsbot/ops/cache"
	"opsbot/ops/cleanup"
	"opsbot/store"
	"opsbot/textclip"
)

// Monitors are the agent's local log monitors and security scans (the
// rules engine): Eval and Scan observe into the sink they were built with.
type Monitors interface {
	Eval(ctx context.Context, now time.Time) error
	Scan(ctx context.Context, now time.Time) error
}

// Agent is `opsbot agent`: one per host of a fleet.
type Agent struct {
	Store   *store.Store
	Config  func() *config.Config
	Version string
	// Host samples this machine; Actions runs argv under the instance's lock.
	Host    ops.HostSampler
	Actions *ops.Actions
	// Monitors, when set, run at rules.interval (Eval) and on the security
	// schedule (Scan).
	Monitors Monitors
	Log      *slog.Logger
	// Redact cleans command output before it leaves the host.
	Redact func(string) string

	name        string
	incarnation string

	mu      sync.Mutex
	healthy bool
	lastErr string
}

// HostName is the host name the agent uses: agent.host, else the machine's.
func HostName(cfg *config.Config) string {
	if cfg.Agent.Host != "" {
		return cfg.Agent.Host
	}
	h, _ := os.Hostname()
	h = strings.ToLower(h)
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	return h
}

// Name is this agent's host name (set once Run started).
func (a *Agent) Name() string { return a.name }

// Healthy reports the agent's health for /healthz: registered and
// heartbeating.
func (a *Agent) Healthy() (bool, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.healthy {
		return true, "heartbeating as " + a.name
	}
	if a.lastErr == "" {
		return false, "starting"
	}
	return false, a.lastErr
}

func (a *Agent) setHealth(ok bool, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.healthy = ok
	if err != nil {
		a.lastErr = err.Error()
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Run registers the host, works its queue, heartbeats, samples and runs
// the monitors until ctx ends; then it marks the host stopped (a clean
// stop raises no host_down). The store must be PostgreSQL with the
// queue's tables migrated.
func (a *Agent) Run(ctx context.Context) error {
	if a.Store.Dialect != "postgres" {
		return ErrNeedsPostgres
	}
	if a.Log == nil {
		a.Log = slog.Default()
	}
	cfg := a.Config()
	a.name = HostName(cfg)
	if !config.HostNameRE.MatchString(a.name) || len(a.name) > 58 {
		return fmt.Errorf("agent: host name %q is not usable in a queue name; set agent.host", a.name)
	}
	a.incarnation = "agent-" + a.name + "-" + randHex(4)
	a.Log = a.Log.With("host", a.name)

	workers := river.NewWorkers()
	river.AddWorker(workers, &worker{a: a})
	client, err := river.NewClient(driver(a.Store), &river.Config{
		ID:                   a.incarnation,
		Queues:               map[string]river.QueueConfig{QueueName(a.name): {MaxWorkers: 4}},
		Workers:              workers,
		FetchPollInterval:    FetchPollInterval,
		FetchCooldown:        FetchPollInterval / 2,
		MaxAttempts:          1,
		RescueStuckJobsAfter: stuckAfter,
		Logger:               quiet(a.Log),
	})
	if err != nil {
		return fmt.Errorf("agent: queue: %w", err)
	}
	now := time.Now()
	if err := a.register(ctx, now); err != nil {
		return err
	}
	a.setHealth(true, nil)
	a.Log.Info("agent registered", "incarnation", a.incarnation, "targets", len(cfg.Targets), "every", cfg.Agent.HeartbeatInterval)
	if err := client.Start(ctx); err != nil {
		a.markStopped(ctx)
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("agent: queue: %w", err)
	}
	// A loop that fails (the host name taken over) stops the others.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context) error{a.heartbeats, a.samples, a.monitors} {
		wg.Go(func() {
			if err := loop(ctx); err != nil && ctx.Err() == nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	bg := context.WithoutCancel(ctx)
	sctx, scancel := context.WithTimeout(bg, 5*time.Second)
	defer scancel()
	if err := client.StopAndCancel(sctx); err != nil {
		a.Log.Warn("agent: queue did not stop in time", "err", err)
	}
	cancel()
	wg.Wait()
	a.markStopped(ctx)
	return runErr
}

// markStopped records a clean stop: no host_down for this host.
func (a *Agent) markStopped(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := a.Store.StopHost(sctx, a.name, a.incarnation, time.Now()); err != nil {
		a.Log.Warn("agent: not marked stopped", "err", err)
	}
}

func (a *Agent) register(ctx context.Context, now time.Time) error {
	cfg := a.Config()
	var targets []TargetInfo
	for _, t := range cfg.Targets {
		acts := append([]string(nil), cfg.Agent.Allow[t.Name]...)
		sort.Strings(acts)
		targets = append(targets, TargetInfo{Name: t.Name, Actions: acts})
	}
	labels := map[string]string{}
	maps.Copy(labels, cfg.Agent.Labels)
	lb, _ := json.Marshal(labels)
	tb, _ := json.Marshal(targets)
	err := a.Store.RegisterHost(ctx, store.Host{Name: a.name, Version: a.Version, Labels: string(lb), Targets: string(tb),
		HeartbeatEvery: cfg.Agent.HeartbeatInterval.Milliseconds(), Incarnation: a.incarnation,
		StartedAt: store.T(now), LastHeartbeat: store.T(now)})
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return nil
}

// errTakenOver ends an agent whose host name another agent registered.
var errTakenOver = errors.New("agent: another agent registered this host name; stopping")

func (a *Agent) heartbeats(ctx context.Context) error {
	every := a.Config().Agent.HeartbeatInterval
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		ok, err := a.Store.HostHeartbeat(ctx, a.name, a.incarnation, time.Now(), "")
		switch {
		case err != nil:
			a.setHealth(false, err)
			a.Log.Warn("agent: heartbeat", "err", err)
		case !ok:
			a.setHealth(false, errTakenOver)
			return errTakenOver
		default:
			a.setHealth(true, nil)
		}
	}
}

// samples measures the host and its targets' health every sample
// interval: the host row keeps the last, the samples table the series.
func (a *Agent) samples(ctx context.Context) error {
	every := a.Config().Agent.SampleInterval
	for {
		a.sampleOnce(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

func (a *Agent) sampleOnce(ctx context.Context) {
	cfg := a.Config()
	now := time.Now()
	m := Metrics{At: now.UnixMilli(), Targets: map[string]TargetHealth{}}
	if a.Host != nil {
		s, err := a.Host.Sample(ctx)
		if err != nil && ctx.Err() == nil {
			a.Log.Warn("agent: host sample", "err", err)
		}
		m.CPU, m.Mem, m.Disk = s.CPU, s.Mem, s.Disk
	}
	for _, t := range cfg.Targets {
		h := ops.CheckHealth(ctx, t.HealthURL, t.HealthTimeout)
		th := TargetHealth{Healthy: h.Err == nil, MS: h.Latency.Milliseconds()}
		if h.Err != nil {
			th.Err = a.redact(h.Err.Error())
		}
		m.Targets[t.Name] = th
	}
	if ctx.Err() != nil {
		return
	}
	b, _ := json.Marshal(m)
	if _, err := a.Store.HostHeartbeat(ctx, a.name, a.incarnation, now, string(b)); err != nil {
		a.Log.Warn("agent: sample", "err", err)
		return
	}
	series := "@" + a.name
	if err := a.Store.AddSamples(ctx, []store.Sample{
		{Metric: "cpu_pct", Target: series, At: store.T(now), Value: m.CPU},
		{Metric: "mem_pct", Target: series, At: store.T(now), Value: m.Mem},
		{Metric: "disk_pct", Target: series, At: store.T(now), Value: m.Disk},
	}); err != nil && ctx.Err() == nil {
		a.Log.Warn("agent: samples", "err", err)
	}
}

// monitors runs the local log monitors at rules.interval and the
// security scans on their schedule.
func (a *Agent) monitors(ctx context.Context) error {
	if a.Monitors == nil {
		<-ctx.Done()
		return nil
	}
	cfg := a.Config()
	var sched cron.Schedule
	if s, ok := cfg.Schedules["security"]; ok && s.On() {
		sched, _ = cron.ParseStandard(s.Spec)
	}
	nextScan := time.Now()
	for {
		now := time.Now()
		if err := a.Monitors.Eval(ctx, now); err != nil && ctx.Err() == nil {
			a.Log.Warn("agent: monitors", "err", err)
		}
		if sched != nil && !now.Before(nextScan) {
			if err := a.Monitors.Scan(ctx, now); err != nil && ctx.Err() == nil {
				a.Log.Warn("agent: security scan", "err", err)
			}
			nextScan = sched.Next(now)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.Rules.Interval):
		}
	}
}

func (a *Agent) redact(s string) string {
	if a.Redact == nil {
		return s
	}
	return a.Redact(s)
}

// HostSink tags every observation of an agent with its host: the
// fingerprint gets @host (two hosts' cpu_high are two alerts), the labels
// get host and the agent's labels (routing and inhibition match on them),
// the summary names the host.
type HostSink struct {
	Sink   alert.Sink
	Host   string
	Labels map[string]string
}

// Notify implements alert.Sink.
func (s HostSink) Notify(ctx context.Context, alerts ...alert.Alert) error {
	out := make([]alert.Alert, len(alerts))
	for i, al := range alerts {
		ls := map[string]string{}
		maps.Copy(ls, s.Labels)
		maps.Copy(ls, al.Labels)
		ls["host"] = s.Host
		al.Labels = ls
		al.Fingerprint += "@" + s.Host
		al.Summary = "[" + s.Host + "] " + al.Summary
		out[i] = al
	}
	return s.Sink.Notify(ctx, out...)
}

// worker runs the action jobs of this agent's queue.
type worker struct {
	river.WorkerDefaults[ActionArgs]
	a *Agent
}

func (w *worker) Timeout(j *river.Job[ActionArgs]) time.Duration {
	t, ok := w.a.Config().Target(j.Args.Target)
	if !ok {
		return time.Minute
	}
	return t.CommandTimeout + t.HealthDeadline + 30*time.Second
}

func (w *worker) Work(ctx context.Context, j *river.Job[ActionArgs]) error {
	res := w.a.run(ctx, j.Args)
	res.JobID = j.ID
	if err := river.RecordOutput(ctx, res); err != nil {
		return fmt.Errorf("record result: %w", err)
	}
	return nil
}

// run runs one action, if this agent's own configuration allows it.
func (a *Agent) run(ctx context.Context, args ActionArgs) Result {
	res := Result{Host: a.name, Target: args.Target, Action: args.Action, Exit: -1}
	cfg := a.Config()
	t, known := cfg.Target(args.Target)
	switch {
	case args.Host != a.name:
		res.Outcome, res.Text = OutcomeRefused, fmt.Sprintf("refused by %s: the job is addressed to %s", a.name, args.Host)
	case !known:
		res.Outcome, res.Text = OutcomeRefused, fmt.Sprintf("refused by %s: no target %s on this host", a.name, args.Target)
	case !cfg.Agent.Allows(args.Target, args.Action):
		res.Outcome, res.Text = OutcomeRefused, fmt.Sprintf("refused by %s: %s is not allowed on %s by the agent's configuration (agent.allow)", a.name, args.Action, args.Target)
	}
	if res.Outcome != "" {
		a.Log.Warn("agent: action refused", "target", args.Target, "action", args.Action, "by", args.By)
		return res
	}
	a.Log.Info("agent: action", "target", args.Target, "action", args.Action, "by", args.By)
	inst := t
	// The lock is the instance's: api on web-1 and api on web-2 are two.
	inst.Name = args.Target + "@" + a.name
	start := time.Now()
	switch args.Action {
	case "cleanup", "cache_flush":
		var detail string
		err := a.Actions.Exclusive(ctx, inst.Name, args.Action, args.By, 10*time.Minute, func(ctx context.Context) error {
			if args.Action == "cleanup" {
				rep, err := cleanup.Run(ctx, t, cleanup.Options{Now: time.Now()})
				detail = fmt.Sprintf("freed %s", human.Bytes(rep.Freed))
				return err
			}
			r, err := cache.Flush(ctx, t.Redis)
			detail = fmt.Sprintf("removed %d keys", r.KeysBefore)
			return err
		})
		res.TookMS = time.Since(start).Milliseconds()
		var busy *ops.BusyError
		switch {
		case errors.As(err, &busy):
			res.Outcome, res.Text = OutcomeBusy, busy.Error()
		case err != nil:
			res.Outcome, res.Text = OutcomeFailed, a.redact(fmt.Sprintf("%s of %s failed: %v", args.Action, res.Instance(), err))
		default:
			res.Outcome, res.Exit, res.Healthy = OutcomeOK, 0, true
			res.Text = fmt.Sprintf("%s of %s: %s", args.Action, res.Instance(), detail)
		}
		return res
	}
	ar, err := a.Actions.Run(ctx, inst, ops.Action(args.Action), args.By)
	res.TookMS = ar.Took.Milliseconds()
	res.Exit = ar.Run.ExitCode
	res.Output = a.redact(textclip.TailBytes(ar.Run.Output, outputTail, textclip.Ellipsis))
	res.Healthy = ar.Healthy
	res.HealthMS = ar.HealthTook.Milliseconds()
	var busy *ops.BusyError
	switch {
	case errors.As(err, &busy):
		res.Outcome, res.Text = OutcomeBusy, busy.Error()
	case err != nil:
		res.Outcome, res.Text = OutcomeFailed, a.redact(fmt.Sprintf("%s of %s could not start: %v", args.Action, res.Instance(), err))
	case ar.RunErr != nil:
		res.Outcome, res.Text = OutcomeFailed, a.redact(fmt.Sprintf("%s of %s failed after %s: %v", args.Action, res.Instance(), human.Duration(ar.Took), ar.RunErr))
	case !ar.Healthy:
		res.Outcome, res.Text = OutcomeUnhealthy, a.redact(fmt.Sprintf("%s of %s ran; still unhealthy after %s: %v", args.Action, res.Instance(), human.Duration(ar.HealthTook), ar.HealthErr))
	default:
		res.Outcome, res.Text = OutcomeOK, fmt.Sprintf("%s of %s: healthy %s after the command (took %s)", args.Action, res.Instance(), human.Duration(ar.HealthTook), human.Duration(ar.Took))
	}
	return res
}
