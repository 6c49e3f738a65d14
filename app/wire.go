package app

import (
	"opsbot/alert"

	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"opsbot/bot/discord"
	"opsbot/bot/slack"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/incidents"
	"opsbot/notifier"
	"opsbot/ops"
	"opsbot/ops/backup"
	"opsbot/ops/cleanup"
	oplogs "opsbot/ops/logs"
	"opsbot/remediate"
	"opsbot/rules"
	"opsbot/scheduler"
	"opsbot/standin"
	"opsbot/store"
	alertverbs "opsbot/verbs/alerts"
	backupverbs "opsbot/verbs/backup"
	cacheverbs "opsbot/verbs/cache"
	capacityverbs "opsbot/verbs/capacity"
	cleanupverbs "opsbot/verbs/cleanup"
	demoverbs "opsbot/verbs/demo"
	incidentverbs "opsbot/verbs/incident"
	logverbs "opsbot/verbs/logs"
	monitorverbs "opsbot/verbs/monitor"
	reloadverbs "opsbot/verbs/reload"
	restartverbs "opsbot/verbs/restart"
	scheduleverbs "opsbot/verbs/schedule"
	statusverbs "opsbot/verbs/status"
)

// wire builds the components beyond the core and registers their verbs,
// routes, health and run loops.
func (a *App) wire(ctx context.Context, shell bool) error {
	cfg := a.Config()
	if cfg.Demo {
		if err := a.startDemo(ctx); err != nil {
			return err
		}
	}
	a.cfg.Store(a.adjust(cfg))
	cfg = a.Config()

	n := notifier.New(a.store, a.router, a.Config, a.log)
	a.reloadSink = n
	if err := a.wireFleet(ctx); err != nil {
		return err
	}
	// Configured subscriptions are routes from the start, not only once
	// the leader's background work runs: a piped shell runs none, and
	// `subscriptions test` must answer as a running bot would.
	if err := n.Seed(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("subscriptions not seeded", "err", err)
	}
	redact := func(s string) string { return a.reg.Redactor().Redact(s) }
	// Observations are redacted before they are stored: a probe's error
	// can hold a URL with a password.
	n.Redact = redact
	a.routes["/webhooks/alertmanager"] = n.AlertmanagerHandler()
	inc := incidents.New(a.store, n, a.Config, a.log)
	inc.Redact = redact
	n.OnAlert(inc.OnAlert)
	// A warning that turns critical opens (or joins) an incident too; the
	// remediator is not told twice.
	n.OnEscalate(inc.OnAlert)
	pg := a.wirePaging(n)
	pg.Timeline = inc.RecordActionTx
	a.reg.AddHook(func(ctx context.Context, c *commands.Call, result string, resp commands.Response) {
		if c.Verb.Target == nil {
			return
		}
		// An empty target concerns every target (status of all).
		inc.RecordCommand(ctx, c.Verb.Target(c), c.Actor(), c.Line(), result, firstLine(resp.Text, resp.Title), c.Now)
	})

	holder := fmt.Sprintf("%s-%d", hostname(), os.Getpid())
	acts := ops.NewActions(a.store, a.log)
	// Remediation: a firing alert whose rule has an action queues it (see
	// remediate); the health job observes the six status checks.
	rem, err := remediate.New(ctx, remediate.Deps{Store: a.store, Config: a.Config, Sink: n.Source("remediation"), Outbox: n, Incidents: inc,
		Timeline: inc.RecordAction, Actions: acts, Host: ops.NewHost(dataDir(cfg)), Log: a.log})
	if err != nil {
		return err
	}
	// The pipeline tells remediation of every firing observation (and
	// whether a silence covers it) and queues mapped Alertmanager actions.
	n.SetActions(rem)
	a.hostRemediation(rem)
	health := &remediate.Health{Store: a.store, Config: a.Config, Checker: ops.NewChecker(nil), Sink: n.Source("health"), Log: a.log}
	bk := backup.New(a.store, a.Config, a.log)
	// Rules and security scans are driven by the scheduler's "rules" and
	// "security" jobs (cron specs in config), on the leader.
	eng, err := rules.FromConfig(cfg, rules.Deps{Sink: n.Source("rules"), Store: a.store, Log: a.log, Redact: redact})
	if err != nil {
		return err
	}
	jobs := a.jobs(health, n, bk, restarter{a.Config, acts}, eng)
	sched, err := scheduler.New(a.store, n.Source("scheduler"), a.log, holder, jobs)
	if err != nil {
		return err
	}
	a.metrics.MustRegister(sched.Collectors()...)
	a.preparers = append(a.preparers, eng.Prepare)
	a.reloaders = append(a.reloaders, func(c *config.Config) {
		for name, js := range c.Schedules {
			if !sched.Has(name) {
				continue
			}
			loc := time.Local
			if js.Timezone != "" {
				loc, _ = time.LoadLocation(js.Timezone)
			}
			if err := sched.Reschedule(name, js.Spec, loc, !js.On()); err != nil {
				a.log.Error("reload: schedule", "job", name, "err", err)
			}
		}
	})

	checker := ops.NewChecker(ops.NewHost(dataDir(cfg)))
	a.metrics.MustRegister(checker.Collectors()...)
	a.reg.MustRegister(a.fleetVerbs(statusverbs.Verbs(statusverbs.Deps{Config: a.Config, Checker: checker, Extras: []statusverbs.Extra{
		func(ctx context.Context) []ops.Line { return notificationLines(ctx, n) },
		rem.Lines,
		func(ctx context.Context) []ops.Line { return jobLines(ctx, sched) },
	}}))...)
	a.reg.MustRegister(monitorverbs.Verbs(monitorverbs.Deps{Engine: eng, Samples: a.store, Config: a.Config})...)
	a.reg.MustRegister(a.fleetVerbs(restartverbs.Verbs(restartverbs.Deps{Config: a.Config, Actions: acts}))...)
	a.reg.MustRegister(alertverbs.Verbs(alertverbs.Deps{Notifier: n})...)
	a.reg.MustRegister(reloadverbs.Verbs(reloadverbs.Deps{Reload: a.reload})...)
	for id, h := range alertverbs.Buttons(alertverbs.Deps{Notifier: n}) {
		a.reg.RegisterButton(id, h)
	}
	a.reg.MustRegister(incidentverbs.Verbs(incidentverbs.Deps{Incidents: inc, Alerts: pg})...)
	a.reg.MustRegister(scheduleverbs.Verbs(scheduleverbs.Deps{Scheduler: func() *scheduler.Scheduler { return sched }})...)
	a.reg.MustRegister(cacheverbs.Verbs(cacheverbs.Deps{Config: a.Config})...)
	if a.demo != nil {
		a.reg.MustRegister(demoverbs.Verbs(a.demo)...)
	}
	a.reg.MustRegister(backupverbs.Verbs(backupverbs.Deps{Config: a.Config, Backups: bk})...)
	a.reg.MustRegister(cleanupverbs.Verbs(cleanupverbs.Deps{Config: a.Config})...)
	a.reg.MustRegister(capacityverbs.Verbs()...)
	a.reg.MustRegister(logverbs.Verbs(logverbs.Deps{Config: a.Config, Logs: oplogs.New(a.Config)})...)
	a.wireDiagnose(n, inc, eng)
	a.wireLocale()

	if sec := cfg.Secrets; sec.SlackBotToken != "" || sec.SlackSigningSecret != "" || sec.SlackAppToken != "" {
		sl := slack.New(a.Config, a.reg, a.log, a.slackLists(inc))
		a.routes["/slack/commands"] = sl.Handler()
		a.routes["/slack/interactions"] = sl.Handler()
		a.router.Set("slack", sl.Poster())
		pg.DMs.Set("slack", sl.Poster())
		a.addHealth("slack", sl.Healthy)
		if !shell {
			a.runners = append(a.runners, sl.Run)
		}
	}

	if sec := cfg.Secrets; sec.DiscordBotToken != "" || sec.DiscordPublicKey != "" || sec.DiscordAppID != "" {
		d := discord.New(a.Config, a.reg, a.log, a.completions(inc, n, bk, sched)...)
		a.routes["/discord/interactions"] = d.Handler()
		a.router.Set("discord", d.Poster())
		setDMs(pg, "discord", d.Poster())
		a.addHealth("discord", d.Healthy)
		if !shell {
			// Registers /ops from the verbs at start, so it runs after wiring.
			a.runners = append(a.runners, d.Run)
		}
	}

	elector := &scheduler.Elector{Store: a.store, Holder: holder, TTL: cfg.Leader.TTL, Log: a.log}
	// A replica that may have lost the lease writes no alert state and sends nothing.
	n.Fence = elector.Valid
	pg.Fence = elector.Valid
	a.addHealth("leader", func() (bool, string) {
		if elector.Valid() {
			return true, "leading"
		}
		return true, "following"
	})
	// The leader runs the scheduler, the delivery worker, reminders and pruning;
	// every replica serves commands.
	a.runners = append(a.runners, func(ctx context.Context) error {
		return elector.Run(ctx, func(ctx context.Context) error {
			g, gctx := errgroup.WithContext(ctx)
			g.Go(func() error { return n.Run(gctx) })
			g.Go(func() error { return pg.Run(gctx) })
			g.Go(func() error { return inc.Run(gctx) })
			g.Go(func() error { return sched.Run(gctx) })
			g.Go(func() error { return rem.Run(gctx) })
			g.Go(func() error { return a.prune(gctx) })
			g.Go(func() error { return a.runFleet(gctx, n.Source("fleet")) })
			rc := a.Config().Remediation // as reloaded when this replica took the lead
			hb := &scheduler.Heartbeat{URL: rc.HeartbeatURL, Every: rc.HeartbeatEvery, Healthy: sched.Healthy, Log: a.log}
			g.Go(func() error { return hb.Run(gctx) })
			return g.Wait()
		})
	})
	return nil
}

// jobs builds the scheduled jobs from config.
func (a *App) jobs(health *remediate.Health, n *notifier.Notifier, bk *backup.Service, rs restarter, eng *rules.Engine) []scheduler.Job {
	cfg := a.Config()
	run := map[string]func(ctx context.Context, due time.Time) error{
		"health":   health.Check,
		"rules":    eng.Eval,
		"security": eng.Scan,
		"backup": func(ctx context.Context, due time.Time) error {
			return a.eachTarget(ctx, func(ctx context.Context, t config.Target) error {
				res, err := bk.Create(ctx, t.Name, nil)
				if err == nil && !res.Verified {
					err = fmt.Errorf("backup %d of %s failed verification: %s", res.ID, t.Name, res.VerifyErr)
				}
				a.jobAlert(ctx, n, "backup", "backup_failed", t.Name, err)
				return err
			})
		},
		"cleanup": func(ctx context.Context, due time.Time) error {
			return a.eachTarget(ctx, func(ctx context.Context, t config.Target) error {
				rep, err := cleanup.Run(ctx, t, cleanup.Options{Now: time.Now()})
				if err == nil && len(rep.Errors) > 0 {
					err = fmt.Errorf("cleanup of %s: %s", t.Name, rep.Errors[0])
				}
				return err
			})
		},
		"restart": func(ctx context.Context, due time.Time) error {
			// The guide's nightly restart of a leaking service (off by default).
			return a.eachTarget(ctx, func(ctx context.Context, t config.Target) error {
				summary, healthy, err := rs.Restart(ctx, t.Name, remediate.Actor)
				if err == nil && !healthy {
					err = fmt.Errorf("nightly restart of %s: %s", t.Name, summary)
				}
				return err
			})
		},
	}
	kinds := map[string]string{"backup": "backup", "health": "health", "security": "security", "rules": "threshold"}
	var jobs []scheduler.Job
	for name, s := range cfg.Schedules {
		fn, ok := run[name]
		if !ok {
			continue
		}
		loc := time.Local
		if s.Timezone != "" {
			loc, _ = time.LoadLocation(s.Timezone)
		}
		jobs = append(jobs, scheduler.Job{Name: name, Spec: s.Spec, Location: loc, Kind: kinds[name], Off: !s.On(), Run: fn})
	}
	return jobs
}

// restarter lets remediation use the operations' restart: the same lock,
// maintenance window and health check as a restart from chat.
type restarter struct {
	cfg  func() *config.Config
	acts *ops.Actions
}

func (r restarter) Restart(ctx context.Context, target, actor string) (string, bool, error) {
	t, ok := r.cfg().Target(target)
	if !ok {
		return "", false, fmt.Errorf("unknown target %q", target)
	}
	res, err := r.acts.Run(ctx, t, ops.ActRestart, actor)
	if err != nil {
		return "", false, err
	}
	if res.RunErr != nil {
		return fmt.Sprintf("restart command failed after %s: %v", res.Took.Round(time.Second), res.RunErr), false, nil
	}
	if !res.Healthy {
		return fmt.Sprintf("restart ran in %s, still unhealthy: %v", res.Took.Round(time.Second), res.HealthErr), false, nil
	}
	return fmt.Sprintf("restart took %s", res.Took.Round(time.Second)), true, nil
}

func notificationLines(ctx context.Context, n *notifier.Notifier) []ops.Line {
	parked, err := n.Parked(ctx)
	if err != nil {
		return []ops.Line{{Check: "notifications", Level: ops.LevelWarning, Value: "unreadable: " + err.Error()}}
	}
	pending, _ := n.Pending(ctx)
	l := ops.Line{Check: "notifications", Level: ops.LevelOK, Value: fmt.Sprintf("%d pending, %d parked", pending, parked), Threshold: "0 parked"}
	if parked > 0 {
		l.Level = ops.LevelWarning
	}
	return []ops.Line{l}
}

func jobLines(ctx context.Context, s *scheduler.Scheduler) []ops.Line {
	jobs, err := s.List(ctx)
	if err != nil {
		return nil
	}
	var bad []string
	for _, j := range jobs {
		if j.Overdue || j.Last.Result == "error" {
			bad = append(bad, j.Name)
		}
	}
	l := ops.Line{Check: "jobs", Level: ops.LevelOK, Value: fmt.Sprintf("%d scheduled, all on time", len(jobs)), Threshold: "no job overdue or failing"}
	if len(bad) > 0 {
		l.Level, l.Value = ops.LevelWarning, fmt.Sprintf("overdue or failing: %v", bad)
	}
	return []ops.Line{l}
}

// eachTarget runs fn for every target; one failing never stops the others.
func (a *App) eachTarget(ctx context.Context, fn func(ctx context.Context, t config.Target) error) error {
	var errs []error
	for _, t := range a.Config().Targets {
		if err := fn(ctx, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// jobAlert raises a job's failure as an alert, and resolves it on success.
func (a *App) jobAlert(ctx context.Context, n *notifier.Notifier, kind, rule, target string, err error) {
	al := alert.Alert{Fingerprint: rule + ":" + target, Kind: kind, Rule: rule, Target: target, Severity: "critical", StartsAt: time.Now()}
	if err != nil {
		al.Status, al.Summary = alert.Firing, err.Error()
	} else {
		al.Status, al.Summary, al.EndsAt = alert.Resolved, rule+" cleared", time.Now()
	}
	if nerr := n.Notify(ctx, al); nerr != nil {
		a.log.Warn("job alert", "err", nerr)
	}
}

// prune applies the store's retention once an hour.
func (a *App) prune(ctx context.Context) error {
	for {
		r := a.Config().Store.Retention
		if n, err := a.store.Prune(ctx, store.RetentionPolicy{Audit: r.Audit, Samples: r.Samples, Outbox: r.Outbox, Events: r.Events, Inbox: r.Inbox}, time.Now()); err != nil {
			if ctx.Err() != nil {
				return nil
			}
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
	a.demo = b
	a.log.Debug("demo backend started", "dir", dir, "url", b.URL())
	return nil
}

// adjust fills in what the running bot derives from a loaded
// configuration; it runs at start and after every reload.
func (a *App) adjust(cfg *config.Config) *config.Config {
	c := *cfg
	if a.demo != nil {
		if len(c.Targets) == 0 {
			c.Targets = []config.Target{a.demo.Target()}
		}
		// A demo shows its reactions in seconds, not in the minutes a real
		// service deserves; explicit settings are left as they are.
		def := config.Default()
		if c.Rules.For == def.Rules.For {
			// Long enough that one spike (the first sample after start) is not
			// an alert: two passes beyond the threshold.
			c.Rules.For = 30 * time.Second
		}
		if c.Notifier.GroupWait == def.Notifier.GroupWait {
			c.Notifier.GroupWait = 2 * time.Second
		}
		c.Schedules = maps.Clone(c.Schedules)
		for _, job := range []string{"health", "rules"} {
			if s, ok := c.Schedules[job]; ok && s.Spec == def.Schedules[job].Spec {
				s.Spec = "@every 20s"
				c.Schedules[job] = s
			}
		}
	}
	// With no chat platform, alerts and incidents go to the console channel.
	if c.Secrets.SlackBotToken == "" && c.Secrets.DiscordBotToken == "" {
		c.Channels.Subscriptions = append(append([]config.Subscription{}, c.Channels.Subscriptions...),
			config.Subscription{Channel: "console", Kinds: alert.Kinds, MinSeverity: "warning"})
		if c.Channels.Incident == "" {
			c.Channels.Incident = "console"
		}
	}
	return &c
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
