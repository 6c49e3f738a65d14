// Package scheduler decides when things run: cron specs from config drive
// the health checks, backups, cleanup, scans and rule passes (what they do
// lives in their rooms; automatic actions in remediate); a lease in the
// store makes one replica the leader that runs them.
package scheduler

import (
	"opsbot/alert"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"opsbot/store"
)

// Parser reads the five-field specs of config plus descriptors (@hourly,
// @every 10s).
var Parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Job is one scheduled job. Run gets the due time it runs for.
type Job struct {
	Name     string
	Spec     string
	Location *time.Location
	// Slack is how long past its period a job may go without a success
	// before the dead man's switch alerts (default: a tenth of the period, at least 1 m).
	Slack time.Duration
	// Kind of the overdue alert (backup, health, …).
	Kind string
	// Off jobs are listed but never run (a job the configuration disables).
	Off bool
	Run func(ctx context.Context, due time.Time) error
}

// Sink receives alerts (the notifier).
type Sink interface {
	Notify(ctx context.Context, alerts ...alert.Alert) error
}

type jobState struct {
	Job
	sched   cron.Schedule
	period  time.Duration
	next    time.Time
	running bool
	// runStart is when the current run started (a running job gets its
	// slack to finish before the dead man's switch counts it overdue).
	runStart time.Time
	overdue  bool
	// synced is set once the overdue state has been told to the notifier
	// since Start: an overdue alert left firing by an earlier process is
	// resolved when the job is found on time.
	synced bool
	last   store.JobRun
}

// Scheduler runs jobs at their due times. Time is injected: Tick(now) runs
// what is due at now; Run drives Tick from a clock.
type Scheduler struct {
	Store  *store.Store
	Sink   Sink
	Log    *slog.Logger
	Holder string
	Now    func() time.Time
	// Sleep waits for d or ctx (tests replace it).
	Sleep func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex
	jobs     map[string]*jobState
	started  time.Time
	lastTick time.Time
	wg       sync.WaitGroup

	lastSuccess *prometheus.GaugeVec
	runs        *prometheus.CounterVec
}

// New makes a scheduler for jobs; a bad spec is an error naming the job.
func New(st *store.Store, sink Sink, log *slog.Logger, holder string, jobs []Job) (*Scheduler, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Scheduler{Store: st, Sink: sink, Log: log, Holder: holder, Now: time.Now, Sleep: sleepCtx, jobs: map[string]*jobState{},
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "opsbot_job_last_success_timestamp_seconds", Help: "Time of each job's last successful run."}, []string{"job"}),
		runs:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opsbot_job_runs_total", Help: "Job runs by result."}, []string{"job", "result"}),
	}
	for _, j := range jobs {
		if _, dup := s.jobs[j.Name]; dup {
			return nil, fmt.Errorf("scheduler: duplicate job %q", j.Name)
		}
		sched, err := Parser.Parse(j.Spec)
		if err != nil {
			return nil, fmt.Errorf("scheduler: job %s: bad spec %q: %w", j.Name, j.Spec, err)
		}
		if j.Location == nil {
			j.Location = time.Local
		}
		if j.Kind == "" {
			j.Kind = "health"
		}
		s.jobs[j.Name] = &jobState{Job: j, sched: sched}
	}
	return s, nil
}

// Collectors are the scheduler's metrics.
func (s *Scheduler) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.lastSuccess, s.runs}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Start computes every job's next due time from now. A job whose last
// success is older than its period runs once at the first Tick (catch-up:
// the bot was down when it was due).
func (s *Scheduler) Start(ctx context.Context, now time.Time) error {
	states, err := s.Store.JobStates(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = now
	for name, j := range s.jobs {
		local := now.In(j.Location)
		n1 := j.sched.Next(local)
		j.period = j.sched.Next(n1).Sub(n1)
		if j.Slack == 0 {
			j.Slack = max(j.period/10, time.Minute)
		}
		j.next = n1
		j.synced = false
		if st, ok := states[name]; ok && !st.LastSuccess.IsZero() {
			s.lastSuccess.WithLabelValues(name).Set(float64(st.LastSuccess.Unix()))
			if now.Sub(st.LastSuccess.Time) > j.period {
				j.next = now
				s.Log.Info("job missed while down; catching up", "job", name, "last_success", st.LastSuccess.Time)
			}
		}
		if last, err := s.Store.LastJobRun(ctx, name); err == nil {
			// A run left "running" by a process that died is over; if its
			// holder still runs it after all, its own result overwrites this.
			if last.Result == "running" && !j.running {
				if err := s.Store.FinishJobRun(ctx, last.ID, name, "interrupted", "the bot stopped before the run finished", now); err != nil {
					return err
				}
				last.Result, last.Error, last.FinishedAt = "interrupted", "the bot stopped before the run finished", store.T(now)
			}
			j.last = last
		}
	}
	return nil
}

// Tick runs every job due at or before now (each once, however many due
// times were missed) and checks the dead man's switch. Jobs run in their own
// goroutines; a job still running when it is due again is skipped and the
// skip recorded.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) {
	if !LeaseValid(ctx) {
		// Not sure it still leads: neither start jobs nor judge them overdue.
		s.Log.Info("scheduler: nothing run: leader lease lost")
		return
	}
	states, err := s.Store.JobStates(ctx)
	if err != nil {
		s.Log.Error("scheduler: job states", "err", err)
		return
	}
	s.mu.Lock()
	s.lastTick = now
	for _, j := range s.jobs {
		if now.Before(j.next) {
			continue
		}
		d := j.next
		j.next = j.sched.Next(now.In(j.Location))
		if states[j.Name].Paused || j.Off {
			continue
		}
		if j.running {
			_ = s.Store.RecordSkippedRun(ctx, j.Name, d, now, s.Holder, "still running")
			s.runs.WithLabelValues(j.Name, "skipped").Inc()
			continue
		}
		j.running, j.runStart = true, now
		dd := d
		s.wg.Add(1)
		go func(j *jobState) {
			defer s.wg.Done()
			s.runJob(ctx, j, dd)
		}(j)
	}
	s.mu.Unlock()
	s.checkOverdue(ctx, now, states)
}

// Wait blocks until jobs started by Tick have finished (tests, shutdown).
func (s *Scheduler) Wait() { s.wg.Wait() }

// RunNow runs a job at once (schedule run <job>), whatever its schedule.
func (s *Scheduler) RunNow(ctx context.Context, name string) (store.JobRun, error) {
	s.mu.Lock()
	j, ok := s.jobs[name]
	if !ok {
		s.mu.Unlock()
		return store.JobRun{}, fmt.Errorf("unknown job %q", name)
	}
	if j.running {
		s.mu.Unlock()
		return store.JobRun{}, fmt.Errorf("job %s is running already", name)
	}
	j.running, j.runStart = true, s.Now()
	s.mu.Unlock()
	s.runJob(ctx, j, s.Now())
	return s.Store.LastJobRun(ctx, name)
}

func (s *Scheduler) runJob(ctx context.Context, j *jobState, due time.Time) {
	defer func() {
		s.mu.Lock()
		j.running = false
		s.mu.Unlock()
	}()
	// A leader paused past its lease (and resumed before its elector has
	// noticed) must not act: the lease is looked at right before the claim
	// and again right before the run.
	if !LeaseValid(ctx) {
		s.Log.Info("job not run: leader lease lost", "job", j.Name, "due", due)
		return
	}
	start := s.Now()
	id, claimed, err := s.Store.ClaimJobRun(ctx, j.Name, due, start, s.Holder)
	if err != nil {
		s.Log.Error("scheduler: claim", "job", j.Name, "err", err)
		return
	}
	if !claimed {
		return // another replica ran this due time
	}
	if !LeaseValid(ctx) {
		s.Log.Info("job not run: leader lease lost", "job", j.Name, "due", due)
		if err := s.Store.FinishJobRun(context.WithoutCancel(ctx), id, j.Name, "cancelled", "leader lease lost before the run started", s.Now()); err != nil {
			s.Log.Error("scheduler: finish", "job", j.Name, "err", err)
		}
		s.runs.WithLabelValues(j.Name, "cancelled").Inc()
		return
	}
	runErr := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return j.Run(ctx, due)
	}()
	result, msg := "ok", ""
	if runErr != nil {
		result, msg = "error", runErr.Error()
		if errors.Is(runErr, context.Canceled) && ctx.Err() != nil {
			// Shutdown or a lost lease, not a failure of the job.
			result = "cancelled"
			s.Log.Info("job cancelled", "job", j.Name)
		} else {
			s.Log.Warn("job failed", "job", j.Name, "err", msg)
		}
	}
	end := s.Now()
	if err := s.Store.FinishJobRun(context.WithoutCancel(ctx), id, j.Name, result, msg, end); err != nil {
		s.Log.Error("scheduler: finish", "job", j.Name, "err", err)
	}
	s.runs.WithLabelValues(j.Name, result).Inc()
	if result == "ok" {
		s.lastSuccess.WithLabelValues(j.Name).Set(float64(end.Unix()))
	}
	s.mu.Lock()
	j.last = store.JobRun{ID: id, Job: j.Name, DueAt: store.T(due), StartedAt: store.T(start), FinishedAt: store.T(end), Result: result, Error: msg}
	s.mu.Unlock()
}

// checkOverdue raises an alert for each job with no success within its
// period plus slack, and resolves it after a success. The time counts from
// the last success, so restarting the bot does not reset it; a job that has
// never succeeded counts from the start (a fresh install is not overdue at
// once), and a running job gets its slack to finish (a catch-up run at start).
func (s *Scheduler) checkOverdue(ctx context.Context, now time.Time, states map[string]store.JobState) {
	if s.Sink == nil {
		return
	}
	var alerts []alert.Alert
	s.mu.Lock()
	for name, j := range s.jobs {
		if states[name].Paused || j.Off {
			continue
		}
		since := s.started
		if ls := states[name].LastSuccess; !ls.IsZero() {
			since = ls.Time
		}
		limit := j.period + j.Slack
		a := alert.Alert{Fingerprint: "job_overdue:" + name, Kind: j.Kind, Rule: "job_overdue", Severity: "critical",
			Labels: map[string]string{"job": name}, StartsAt: now}
		overdue := now.Sub(since) > limit
		if overdue && j.running && now.Sub(j.runStart) <= j.Slack {
			continue
		}
		switch {
		case overdue && !j.overdue:
			j.overdue, j.synced = true, true
			a.Status = alert.Firing
			a.Summary = fmt.Sprintf("job %s has not succeeded for %s (expected every %s)", name, now.Sub(since).Round(time.Minute), j.period)
			alerts = append(alerts, a)
		case !overdue && j.overdue,
			// An earlier process may have left the alert firing; a success
			// on time proves it over (a resolve of no firing alert is nothing).
			!overdue && !j.synced && !states[name].LastSuccess.IsZero():
			j.overdue, j.synced = false, true
			a.Status = alert.Resolved
			a.EndsAt = now
			a.Summary = fmt.Sprintf("job %s succeeded again", name)
			alerts = append(alerts, a)
		}
	}
	s.mu.Unlock()
	if len(alerts) > 0 {
		if err := s.Sink.Notify(ctx, alerts...); err != nil {
			s.Log.Error("scheduler: overdue alert", "err", err)
		}
	}
}

// Run drives Tick from the clock until ctx ends, waking at the next due time
// (at least once a minute, for the dead man's switch).
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.Start(ctx, s.Now()); err != nil {
		return err
	}
	defer s.wg.Wait()
	for {
		if !LeaseValid(ctx) {
			// The elector cancels ctx as soon as its own timers wake.
			s.Log.Info("scheduler: paused: leader lease lost")
			<-ctx.Done()
			return nil
		}
		now := s.Now()
		s.Tick(ctx, now)
		wait := time.Minute
		s.mu.Lock()
		for _, j := range s.jobs {
			if d := j.next.Sub(now); d < wait {
				wait = d
			}
		}
		s.mu.Unlock()
		if wait < 10*time.Millisecond {
			wait = 10 * time.Millisecond
		}
		if err := s.Sleep(ctx, wait); err != nil {
			return nil
		}
	}
}

// Reschedule applies a reloaded configuration to a job: its spec, time zone
// and whether it is on. The next due time is computed afresh from now.
func (s *Scheduler) Reschedule(name, spec string, loc *time.Location, off bool) error {
	sched, err := Parser.Parse(spec)
	if err != nil {
		return fmt.Errorf("scheduler: job %s: bad spec %q: %w", name, spec, err)
	}
	if loc == nil {
		loc = time.Local
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if !ok {
		return fmt.Errorf("unknown job %q", name)
	}
	now := s.Now()
	j.Spec, j.Location, j.Off, j.sched = spec, loc, off, sched
	n1 := sched.Next(now.In(loc))
	j.period = sched.Next(n1).Sub(n1)
	j.Slack = max(j.period/10, time.Minute)
	j.next = n1
	return nil
}

// JobInfo is a row of `schedule list`.
type JobInfo struct {
	Name    string
	Spec    string
	Next    time.Time
	Last    store.JobRun
	Paused  bool
	Off     bool
	Running bool
	Overdue bool
}

// List returns every job with its next and last run.
func (s *Scheduler) List(ctx context.Context) ([]JobInfo, error) {
	states, err := s.Store.JobStates(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobInfo, 0, len(s.jobs))
	for name, j := range s.jobs {
		next := j.next
		if next.IsZero() {
			next = j.sched.Next(s.Now().In(j.Location))
		}
		out = append(out, JobInfo{Name: name, Spec: j.Spec, Next: next, Last: j.last, Paused: states[name].Paused, Off: j.Off, Running: j.running, Overdue: j.overdue})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

// Has reports whether a job exists.
func (s *Scheduler) Has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.jobs[name]
	return ok
}

// Names lists the jobs.
func (s *Scheduler) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.jobs))
	for n := range s.jobs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// SetPaused pauses or resumes a job, persistently.
func (s *Scheduler) SetPaused(ctx context.Context, name string, paused bool) error {
	if !s.Has(name) {
		return fmt.Errorf("unknown job %q", name)
	}
	return s.Store.SetJobPaused(ctx, name, paused)
}
