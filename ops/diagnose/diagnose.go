// Package diagnose runs the guide's troubleshooting runbooks as checks: for
// a symptom (api-down, db, llm, memory, disk, redis, security) it runs that
// symptom's checks concurrently, each bounded, and ranks what they found by
// a score computed from the evidence, each finding with the next verb to
// run. It only reads: no check writes a file or a row, and no check runs a
// shell; the one command it may run is the target's configured status argv.
package diagnose

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"opsbot/human"
	"slices"
	"sort"
	"sync"
	"time"

	"opsbot/config"
	"opsbot/store"
)

// Symptoms a diagnosis knows.
const (
	APIDown  = "api-down"
	DB       = "db"
	LLM      = "llm"
	Memory   = "memory"
	Disk     = "disk"
	Redis    = "redis"
	Security = "security"
)

// Symptoms lists them in the order help shows them.
var Symptoms = []string{APIDown, DB, LLM, Memory, Disk, Redis, Security}

// Known reports whether s names a symptom.
func Known(s string) bool { return slices.Contains(Symptoms, s) }

// Finding is one thing a check found, with its evidence and the next step.
type Finding struct {
	Check string `json:"check"` // the check that found it (process, port, health…)
	// Title says what was found in one line.
	Title string `json:"title"`
	// Score (0–100) is computed from the evidence: how likely this is the
	// cause. Healthy observations score low and sink to the bottom.
	Score float64 `json:"score"`
	// Evidence: numbers, log excerpts, paths.
	Evidence []string `json:"evidence,omitempty"`
	// Next is the suggested verb ("/ops restart api"), if any.
	Next string `json:"next,omitempty"`
	// Failed: the check itself could not run to the end (timed out,
	// errored); Title says why.
	Failed bool `json:"failed,omitempty"`
}

// OK reports whether the finding is a healthy observation (nothing to do).
func (f Finding) OK() bool { return f.Score < ScoreNotable && !f.Failed }

// Score bands: below ScoreNotable a finding is reassurance, not a cause.
const ScoreNotable = 20

// Report is a diagnosis' answer.
type Report struct {
	Symptom  string        `json:"symptom"`
	Target   string        `json:"target"`
	At       time.Time     `json:"at"`
	Took     time.Duration `json:"took_ns"`
	Checks   int           `json:"checks"`
	Findings []Finding     `json:"findings"` // ranked, highest score first
}

// Top returns the highest-ranked finding (zero when none).
func (r Report) Top() Finding {
	if len(r.Findings) == 0 {
		return Finding{}
	}
	return r.Findings[0]
}

// SampleReader reads stored samples; *store.Store satisfies it.
type SampleReader interface {
	Samples(ctx context.Context, metric, target string, from, to time.Time) ([]store.Sample, error)
}

// Event is a past action on a target (a restart and its outcome).
type Event struct {
	At      time.Time
	What    string // restart
	By      string
	Outcome string // ok | error …
	Detail  string
}

// Deps are what the checks read.
type Deps struct {
	Config func() *config.Config
	// Samples (nil: trends and forecasts say "no samples").
	Samples SampleReader
	// Restarts returns the target's restarts since a time (nil: none known).
	Restarts func(ctx context.Context, target string, since time.Time) ([]Event, error)
	// Now is the clock [time.Now].
	Now func() time.Time
	// TLS verifies the vendor's certificate (nil: the system's roots).
	TLS *tls.Config
	Log *slog.Logger
}

// Diagnoser runs diagnoses.
type Diagnoser struct {
	d Deps
	// checks per symptom; tests may add to them.
	checks map[string][]Check
}

// Check is one step of a runbook. Run returns what it found; an error
// becomes a failed finding and never stops the other checks.
type Check struct {
	Name string
	Run  func(ctx context.Context, e *Env) ([]Finding, error)
}

// Env is what a check sees: the target, the settings, the clock.
type Env struct {
	Target   config.Target
	Config   *config.Config
	Now      time.Time
	Samples  SampleReader
	Restarts func(ctx context.Context, target string, since time.Time) ([]Event, error)
	TLS      *tls.Config
}

// New makes a diagnoser with the built-in runbooks.
func New(d Deps) *Diagnoser {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Diagnoser{d: d, checks: runbooks()}
}

// AddCheck adds a check to a symptom's runbook.
func (g *Diagnoser) AddCheck(symptom string, c Check) {
	g.checks[symptom] = append(g.checks[symptom], c)
}

// Errors a caller words for the user.
var (
	ErrUnknownSymptom = errors.New("unknown symptom")
	ErrUnknownTarget  = errors.New("unknown target")
)

// Progress hears of each check as it ends (for progress on long work).
type Progress func(done, total int, check string)

// Run diagnoses symptom on target ("" for the first target). Each check is
// bounded by diagnose.check_timeout and the whole by diagnose.timeout: a
// check that overruns reports "timed out after 5 s" while the others answer.
func (g *Diagnoser) Run(ctx context.Context, symptom, target string, progress Progress) (Report, error) {
	cfg := g.d.Config()
	checks, ok := g.checks[symptom]
	if !ok {
		return Report{}, worded{msg: human.Unknown("symptom", "symptoms", symptom, Symptoms), kind: ErrUnknownSymptom}
	}
	var t config.Target
	switch {
	case target != "":
		if t, ok = cfg.Target(target); !ok {
			return Report{}, worded{msg: human.Unknown("target", "targets", target, cfg.TargetNames()), kind: ErrUnknownTarget}
		}
	case len(cfg.Targets) > 0:
		t = cfg.Targets[0]
	}
	per, whole := cfg.Diagnose.CheckTimeout, cfg.Diagnose.Timeout
	if per <= 0 {
		per = 5 * time.Second
	}
	if whole <= 0 {
		whole = 15 * time.Second
	}
	start := time.Now()
	now := g.d.Now()
	env := &Env{Target: t, Config: cfg, Now: now, Samples: g.d.Samples, Restarts: g.d.Restarts, TLS: g.d.TLS}
	ctx, cancel := context.WithTimeout(ctx, whole)
	defer cancel()

	results := make([][]Finding, len(checks))
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	for i, c := range checks {
		wg.Go(func() {
			results[i] = runOne(ctx, c, env, per, g.d.Log)
			if progress != nil {
				mu.Lock()
				done++
				n := done
				mu.Unlock()
				progress(n, len(checks), c.Name)
			}
		})
	}
	wg.Wait()
	var all []Finding
	for _, fs := range results {
		all = append(all, fs...)
	}
	Rank(all)
	return Report{Symptom: symptom, Target: t.Name, At: now, Took: time.Since(start), Checks: len(checks), Findings: all}, nil
}

// runOne runs one check within its own bound. A check that does not return
// in time is abandoned (its goroutine ends when its context does) and
// reported as timed out.
func runOne(ctx context.Context, c Check, env *Env, per time.Duration, log *slog.Logger) []Finding {
	cctx, cancel := context.WithTimeout(ctx, per)
	defer cancel()
	type out struct {
		fs  []Finding
		err error
	}
	ch := make(chan out, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- out{err: fmt.Errorf("panic: %v", r)}
			}
		}()
		fs, err := c.Run(cctx, env)
		ch <- out{fs, err}
	}()
	var o out
	select {
	case o = <-ch:
	case <-cctx.Done():
		// A check that ignores its context is not waited for.
		o = out{err: cctx.Err()}
	}
	for i := range o.fs {
		if o.fs[i].Check == "" {
			o.fs[i].Check = c.Name
		}
	}
	if o.err == nil {
		return o.fs
	}
	f := Finding{Check: c.Name, Failed: true, Score: scoreFailedCheck}
	switch {
	case errors.Is(o.err, context.DeadlineExceeded):
		f.Title = fmt.Sprintf("%s: timed out after %s", c.Name, seconds(per))
	case errors.Is(o.err, context.Canceled):
		f.Title = c.Name + ": cancelled"
	default:
		f.Title = fmt.Sprintf("%s: check failed: %v", c.Name, o.err)
		log.Debug("diagnose: check failed", "check", c.Name, "err", o.err)
	}
	return append(o.fs, f)
}

// scoreFailedCheck: a check that could not answer is worth a look, but
// less than any cause another check proved.
const scoreFailedCheck = 30

// seconds words a bound as the guide does: "5 s", "1.5 s", "300 ms".
func seconds(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	s := d.Seconds()
	if s == float64(int64(s)) {
		return fmt.Sprintf("%d s", int64(s))
	}
	return fmt.Sprintf("%.1f s", s)
}

// Rank orders findings by score, highest first; ties keep their order.
func Rank(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Score > fs[j].Score })
}

func runbooks() map[string][]Check {
	return map[string][]Check{
		APIDown:  apiDownChecks(),
		DB:       dbChecks(),
		LLM:      llmChecks(),
		Memory:   memoryChecks(),
		Disk:     diskChecks(),
		Redis:    redisChecks(),
		Security: securityChecks(),
	}
}

// worded is an error of a kind (errors.Is) worded for people as a whole.
type worded struct {
	msg  string
	kind error
}

func (e worded) Error() string { return e.msg }
func (e worded) Unwrap() error { return e.kind }
