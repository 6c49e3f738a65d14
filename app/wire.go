package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"opsbot/bot/slack"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/incidents"
	"opsbot/notifier"
	"opsbot/ops"
	"opsbot/ops/cache"
	oplogs "opsbot/ops/logs"
	"opsbot/scheduler"
	"opsbot/standin"
	"opsbot/store"
	alertverbs "opsbot/verbs/alerts"
	cacheverbs "opsbot/verbs/cache"
	incidentverbs "opsbot/verbs/incident"
	logverbs "opsbot/verbs/logs"
	scheduleverbs "opsbot/verbs/schedule"
)

// wire builds the components beyond the core and registers their verbs,
// routes, health and run loops.
func (a *App) wire(ctx context.Context, shell bool) error {
	cfg := a.Config()
	if cfg.Demo {
		if err := a.startDemo(ctx); err != nil {
			return err
		}
		cfg = a.Config()
	}
	// With no chat platform, alerts and incidents go to the console channel.
	consoleOnly := cfg.Secrets.SlackBotToken == "" && cfg.Secrets.DiscordBotToken == ""
	if consoleOnly {
		c := *cfg
		c.Channels.Subscriptions = append(append([]config.Subscription{}, c.Channels.Subscriptions...),
			config.Subscription{Channel: "console", Kinds: notifier.Kinds, MinSeverity: "warning"})
		if c.Channels.Incident == "" {
			c.Channels.Incident = "console"
		}
		a.cfg.Store(&c)
		cfg = &c
	}

	n := notifier.New(a.store, a.router, a.Config, a.log)
	a.routes["/webhooks/alertmanager"] = n.AlertmanagerHandler()
	inc := incidents.New(a.store, n, a.Config, a.log)
	inc.Redact = func(s string) string { return a.reg.Redactor().Redact(s) }
	n.OnAlert(inc.OnAlert)
	a.reg.AddHook(func(ctx context.Context, c *commands.Call, result string, resp commands.Response) {
		if c.Verb.Target == nil {
			return
		}
		// An empty target concerns every target (status of all).
		inc.RecordCommand(ctx, c.Verb.Target(c), c.Actor(), c.Path, result, firstLine(resp.Text, resp.Title), c.Now)
	})

	holder := fmt.Sprintf("%s-%d", hostname(), os.Getpid())
	rem := &scheduler.Remediator{
		Store: a.store, Config: a.Config, Sink: n, Outbox: n, Incidents: inc, Log: a.log,
		Probe: func(ctx context.Context, t config.Target) error {
			return ops.CheckHealth(ctx, t.HealthURL, t.HealthTimeout).Err
		},
		Handlers: map[string]scheduler.Action{},
		OnAction: inc.RecordAction,
	}
	if cfg.Remediation.FlushCacheOnMemory {
		rem.Handlers[cfg.Remediation.MemoryRule] = func(ctx context.Context, target string) (string, error) {
			t, ok := a.Config().Target(target)
			if !ok {
				return "", fmt.Errorf("unknown target %q", target)
			}
			res, err := cache.Flush(ctx, t.Redis)
			return res.String(), err
		}
	}
	n.OnAlert(rem.OnAlert)
	jobs := a.jobs(rem)
	sched, err := scheduler.New(a.store, n, a.log, holder, jobs)
	if err != nil {
		return err
	}
	a.metrics.MustRegister(sched.Collectors()...)

	a.reg.MustRegister(alertverbs.Verbs(alertverbs.Deps{Notifier: n})...)
	for id, h := range alertverbs.Buttons(alertverbs.Deps{Notifier: n}) {
		a.reg.RegisterButton(id, h)
	}
	a.reg.MustRegister(incidentverbs.Verbs(incidentverbs.Deps{Incidents: inc})...)
	a.reg.MustRegister(scheduleverbs.Verbs(scheduleverbs.Deps{Scheduler: func() *scheduler.Scheduler { return sched }})...)
	a.reg.MustRegister(cacheverbs.Verbs(cacheverbs.Deps{Config: a.Config})...)
	a.reg.MustRegister(logverbs.Verbs(logverbs.Deps{Config: a.Config, Logs: oplogs.New(a.Config)})...)

	if sec := cfg.Secrets; sec.SlackBotToken != "" || sec.SlackSigningSecret != "" || sec.SlackAppToken != "" {
		sl := slack.New(a.Config, a.reg, a.log)
		a.routes["/slack/commands"] = sl.Handler()
		a.routes["/slack/interactions"] = sl.Handler()
		a.router.Set("slack", sl.Poster())
		a.addHealth("slack", sl.Healthy)
		if !shell {
			a.runners = append(a.runners, sl.Run)
		}
	}

	elector := &scheduler.Elector{Store: a.store, Holder: holder, TTL: cfg.Leader.TTL, Log: a.log}
	a.addHealth("leader", func() (bool, string) { return true, "" })
	// The leader runs the scheduler, the delivery worker, reminders and pruning;
	// every replica serves commands.
	a.runners = append(a.runners, func(ctx context.Context) error {
		return elector.Run(ctx, func(ctx context.Context) error {
			g, gctx := errgroup.WithContext(ctx)
			g.Go(func() error { return n.Run(gctx) })
			g.Go(func() error { return inc.Run(gctx) })
			g.Go(func() error { return sched.Run(gctx) })
			g.Go(func() error { return a.prune(gctx) })
			hb := &scheduler.Heartbeat{URL: cfg.Remediation.HeartbeatURL, Every: cfg.Remediation.HeartbeatEvery, Healthy: sched.Healthy, Log: a.log}
			g.Go(func() error { return hb.Run(gctx) })
			return g.Wait()
		})
	})
	return nil
}

// jobs builds the scheduled jobs from config.
func (a *App) jobs(rem *scheduler.Remediator) []scheduler.Job {
	cfg := a.Config()
	run := map[string]func(ctx context.Context, due time.Time) error{
		"health": rem.CheckHealth,
	}
	kinds := map[string]string{"backup": "backup", "health": "health", "security": "security", "rules": "threshold"}
	var jobs []scheduler.Job
	for name, s := range cfg.Schedules {
		fn, ok := run[name]
		if !ok || !s.On() {
			continue
		}
		loc := time.Local
		if s.Timezone != "" {
			loc, _ = time.LoadLocation(s.Timezone)
		}
		jobs = append(jobs, scheduler.Job{Name: name, Spec: s.Spec, Location: loc, Kind: kinds[name], Run: fn})
	}
	return jobs
}

// prune applies the store's retention once an hour.
func (a *App) prune(ctx context.Context) error {
	for {
		r := a.Config().Store.Retention
		if n, err := a.store.Prune(ctx, store.RetentionPolicy{Audit: r.Audit, Samples: r.Samples, Outbox: r.Outbox, Events: r.Events}, time.Now()); err != nil {
			a.log.Warn("retention", "err", err)
		} else if n > 0 {
			a.log.Info("retention pruned rows", "rows", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Hour):
		}
	}
}

// startDemo starts the stand-in backend and points the targets at it.
func (a *App) startDemo(ctx context.Context) error {
	cfg := a.Config()
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	dir := filepath.Join(dataDir(cfg), "demo")
	b, err := standin.Start(context.WithoutCancel(ctx), dir, standin.Options{Name: "demo", Self: self, Log: a.log})
	if err != nil {
		return fmt.Errorf("demo: start the stand-in backend: %w", err)
	}
	a.closers = append(a.closers, func() { b.Close() })
	c := *cfg
	if len(c.Targets) == 0 {
		c.Targets = []config.Target{b.Target()}
	}
	a.cfg.Store(&c)
	a.log.Debug("demo backend started", "dir", dir, "url", b.URL())
	return nil
}

func standinCtl(args []string) int { return standin.CtlMain(args) }

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "opsbot"
	}
	return h
}

func firstLine(ss ...string) string {
	for _, s := range ss {
		if s == "" {
			continue
		}
		for i, r := range s {
			if r == '\n' {
				return s[:i]
			}
		}
		return s
	}
	return ""
}
