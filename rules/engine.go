package rules

import (
	"opsbot/alert"
	"opsbot/chat"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"sync"
	"time"

	"opsbot/store"
)

// Sink receives alerts (the notifier).
type Sink interface {
	Notify(ctx context.Context, alerts ...alert.Alert) error
}

// Store keeps samples and the engine's small state; *store.Store satisfies it.
type Store interface {
	AddSamples(ctx context.Context, samples []store.Sample) error
	PruneSamples(ctx context.Context, before time.Time, maxPerSeries int) (int64, error)
	PutState(ctx context.Context, key string, v any, now time.Time) error
	GetState(ctx context.Context, key string, v any) error
}

// Finding is a problem a source found now (a security scan, a log burst).
// It fires when first found and resolves when a later complete collection
// of the same source no longer has it.
type Finding struct {
	Kind     string // notifier kind; default "security"
	Rule     string
	Target   string
	Labels   map[string]string
	Severity string
	Summary  string
	Value    float64
}

// Output of one collection.
type Output struct {
	Samples  []store.Sample
	Findings []Finding
}

// Source produces samples and findings. When Collect returns an error
// with its output, the output is used but missing findings are not taken
// as resolved (the scan was incomplete).
type Source interface {
	Name() string
	Collect(ctx context.Context, now time.Time) (Output, error)
}

// Groups of sources: Eval collects GroupRules, Scan collects GroupSecurity.
const (
	GroupRules    = "rules"
	GroupSecurity = "security"
)

// Health of a check.
const (
	HealthUnknown = "unknown"
	HealthOK      = "ok"
	HealthErr     = "err"
	HealthNoData  = "nodata"
)

// Check is the health of one source or rule, as Prometheus rule groups
// record theirs.
type Check struct {
	Name      string        `json:"name"`
	Group     string        `json:"group"`
	Health    string        `json:"health"`
	LastError string        `json:"last_error,omitempty"`
	LastRun   time.Time     `json:"last_run"`
	Duration  time.Duration `json:"duration_ns"`
}

// Active is a pending or firing alert.
type Active struct {
	Fingerprint string            `json:"fingerprint"`
	Kind        string            `json:"kind"`
	Rule        string            `json:"rule"`
	Target      string            `json:"target"`
	Labels      map[string]string `json:"labels,omitempty"`
	Severity    string            `json:"severity"`
	State       string            `json:"state"` // pending | firing
	Summary     string            `json:"summary"`
	Value       float64           `json:"value"`
	ActiveAt    time.Time         `json:"active_at"`
	FiredAt     time.Time         `json:"fired_at,omitzero"`
	Count       int               `json:"count"`  // samples in a row beyond the threshold
	Source      string            `json:"source"` // the source of a finding; "" for a rule
	// NormalSince is when a firing alert's value came back (keep_firing_for).
	NormalSince time.Time `json:"normal_since,omitzero"`
	Detail      string    `json:"detail,omitempty"`
}

// States of an alert.
const (
	StatePending = "pending"
	StateFiring  = "firing"
)

type registered struct {
	src   Source
	group string
	check Check
}

// Engine evaluates rules over the sources' samples and reconciles findings.
type Engine struct {
	Rules []Rule
	Sink  Sink
	Store Store // nil: nothing kept
	Log   *slog.Logger
	// Now is the clock (injected in tests).
	Now func() time.Time
	// Interval of Run's evaluations; ScanEvery of its security scans (0: none).
	Interval, ScanEvery time.Duration
	// Retention of samples (at least 24 h is kept regardless) and the cap
	// per series that bounds the table whatever the interval.
	Retention    time.Duration
	MaxPerSeries int
	// StateKey is where alert states are kept across restarts.
	StateKey string
	// Redact cleans an alert's summary before it leaves the engine (a
	// finding may quote a log); nil applies chat's built-in rules.
	Redact func(string) string

	// MaxUnsent bounds the alerts kept while the sink refuses them (the
	// oldest go first); UnsentBatch is the most handed over in one call
	// when the backlog drains. Zero means the defaults.
	MaxUnsent, UnsentBatch int

	mu        sync.Mutex // guards what follows
	groupMu   map[string]*sync.Mutex
	sources   []*registered
	active    map[string]*Active
	unsent    []alert.Alert
	latest    map[seriesKey]store.Sample
	ruleCheck map[string]*Check
	loaded    bool
	lastPrune time.Time
	lastEval  time.Time
	getenv    func(string) string // the sql checks' (Deps.Getenv), for Prepare
}

type seriesKey struct{ metric, target string }

// SetRules replaces the rules (a reloaded configuration's thresholds).
// Alerts already pending or firing keep their state.
func (e *Engine) SetRules(rules []Rule) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setRules(rules)
}

func (e *Engine) setRules(rules []Rule) {
	e.Rules = rules
	if e.ruleCheck == nil {
		return // load fills the checks on the first pass
	}
	for _, r := range rules {
		if e.ruleCheck[r.Name] == nil {
			e.ruleCheck[r.Name] = &Check{Name: r.Name, Group: GroupRules, Health: HealthUnknown}
		}
	}
}

// NewEngine makes an engine with the given rules.
func NewEngine(rules []Rule, sink Sink, st Store, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.Default()
	}
	return &Engine{Rules: rules, Sink: sink, Store: st, Log: log, Now: time.Now, Interval: time.Minute, ScanEvery: time.Hour,
		Retention: 48 * time.Hour, MaxPerSeries: 20000, StateKey: "rules:state"}
}

func (e *Engine) groupMutex(group string) *sync.Mutex {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.groupMu == nil {
		e.groupMu = map[string]*sync.Mutex{}
	}
	m := e.groupMu[group]
	if m == nil {
		m = &sync.Mutex{}
		e.groupMu[group] = m
	}
	return m
}

// Add registers a source in a group (GroupRules or GroupSecurity).
func (e *Engine) Add(group string, src Source) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sources = append(e.sources, &registered{src: src, group: group, check: Check{Name: src.Name(), Group: group, Health: HealthUnknown}})
}

// persisted is the state kept in the store.
type persisted struct {
	Active []*Active         `json:"active"`
	Unsent []alert.Alert     `json:"unsent,omitempty"`
	Extra  map[string]string `json:"extra,omitempty"`
}

func (e *Engine) load(ctx context.Context) {
	if e.loaded {
		return
	}
	e.loaded = true
	e.active = map[string]*Active{}
	e.latest = map[seriesKey]store.Sample{}
	e.ruleCheck = map[string]*Check{}
	for _, r := range e.Rules {
		e.ruleCheck[r.Name] = &Check{Name: r.Name, Group: GroupRules, Health: HealthUnknown}
	}
	if e.Store == nil {
		return
	}
	var p persisted
	if err := e.Store.GetState(ctx, e.StateKey, &p); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			e.Log.Warn("rules: load state", "err", err)
		}
		return
	}
	for _, a := range p.Active {
		e.active[a.Fingerprint] = a
	}
	// A state saved before the bound existed may hold any number.
	e.unsent = e.boundUnsent(p.Unsent)
}

func (e *Engine) save(ctx context.Context, now time.Time) error {
	if e.Store == nil {
		return nil
	}
	p := persisted{Unsent: e.unsent}
	for _, a := range e.sortedActive() {
		p.Active = append(p.Active, a)
	}
	if err := e.Store.PutState(ctx, e.StateKey, p, now); err != nil {
		return fmt.Errorf("rules: save state: %w", err)
	}
	return nil
}

// Eval collects the rules group's sources, stores their samples, evaluates
// the rules, reconciles findings and hands changes to the sink. The error
// joins what failed (each source's, the store's, the sink's); the other
// parts still ran. A cancelled context returns nil and records nothing.
func (e *Engine) Eval(ctx context.Context, now time.Time) error {
	return e.evalGroup(ctx, now, GroupRules)
}

// Scan runs the security group's sources (file modes, TLS expiry) and
// reconciles their findings.
func (e *Engine) Scan(ctx context.Context, now time.Time) error {
	return e.evalGroup(ctx, now, GroupSecurity)
}

type collected struct {
	reg *registered
	out Output
	err error
	dur time.Duration
}

func (e *Engine) evalGroup(ctx context.Context, now time.Time, group string) error {
	// One evaluation of a group at a time; the engine's state is locked only
	// around its use, so Status answers while a slow scan collects.
	gm := e.groupMutex(group)
	gm.Lock()
	defer gm.Unlock()
	e.mu.Lock()
	e.load(ctx)
	var regs []*registered
	for _, r := range e.sources {
		if r.group == group {
			regs = append(regs, r)
		}
	}
	e.mu.Unlock()
	results := make([]collected, len(regs))
	var wg sync.WaitGroup
	for i, r := range regs {
		wg.Go(func() {
			start := time.Now()
			out, err := safeCollect(ctx, r.src, now)
			results[i] = collected{reg: r, out: out, err: err, dur: time.Since(start)}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil // cancellation is not an error, and a half-done pass changes nothing
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	var samples []store.Sample
	var outgoing []alert.Alert
	for _, c := range results {
		ch := &c.reg.check
		ch.LastRun, ch.Duration = now, c.dur
		if c.err != nil {
			ch.Health, ch.LastError = HealthErr, c.err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", c.reg.src.Name(), c.err))
			e.Log.Warn("rules: source failed", "source", c.reg.src.Name(), "err", c.err)
		} else {
			ch.Health, ch.LastError = HealthOK, ""
		}
		for _, s := range c.out.Samples {
			if s.At.IsZero() {
				s.At = store.T(now)
			}
			samples = append(samples, s)
			e.latest[seriesKey{s.Metric, s.Target}] = s
		}
		outgoing = append(outgoing, e.reconcile(c.reg.src.Name(), c.out.Findings, c.err == nil, now)...)
	}
	if group == GroupRules {
		outgoing = append(outgoing, e.evalRules(samples, now)...)
		e.lastEval = now
	}
	if e.Store != nil && len(samples) > 0 {
		if err := e.Store.AddSamples(ctx, samples); err != nil {
			errs = append(errs, err)
		}
		if now.Sub(e.lastPrune) >= time.Hour {
			keep := max(e.Retention, 24*time.Hour)
			if _, err := e.Store.PruneSamples(ctx, now.Add(-keep), e.MaxPerSeries); err != nil {
				errs = append(errs, err)
			} else {
				e.lastPrune = now
			}
		}
	}
	if err := e.deliver(ctx, outgoing); err != nil {
		errs = append(errs, err)
	}
	if err := e.save(ctx, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// safeCollect keeps one source's panic from stopping the others.
func safeCollect(ctx context.Context, src Source, now time.Time) (out Output, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return src.Collect(ctx, now)
}

// Defaults of the unsent backlog: a sink down for a day of one-minute
// evaluations keeps the latest news of up to a thousand conditions.
const (
	defaultMaxUnsent   = 1000
	defaultUnsentBatch = 200
)

// deliver hands alerts (and earlier unsent ones) to the sink in batches; on
// a failure what was not taken is kept, bounded, and tried again at the next
// evaluation.
func (e *Engine) deliver(ctx context.Context, alerts []alert.Alert) error {
	if e.Sink == nil {
		e.unsent = nil
		return nil
	}
	pending := append(e.unsent, alerts...)
	e.unsent = nil
	batch := e.UnsentBatch
	if batch <= 0 {
		batch = defaultUnsentBatch
	}
	for len(pending) > 0 {
		n := min(len(pending), batch)
		if err := e.Sink.Notify(ctx, pending[:n]...); err != nil {
			e.unsent = e.boundUnsent(pending)
			return fmt.Errorf("rules: notify: %w", err)
		}
		pending = pending[n:]
	}
	return nil
}

// boundUnsent keeps, of the alerts of one fingerprint and status, only the
// latest (a condition that fired twice while the sink was down is announced
// once, with its latest severity and value), then at most MaxUnsent of what
// remains, newest kept. Order is kept.
func (e *Engine) boundUnsent(all []alert.Alert) []alert.Alert {
	if len(all) == 0 {
		return nil
	}
	type key struct{ fp, status string }
	seen := make(map[key]bool, len(all))
	keep := make([]bool, len(all))
	n := 0
	for i := len(all) - 1; i >= 0; i-- {
		k := key{all[i].Fingerprint, all[i].Status}
		if !seen[k] {
			seen[k], keep[i] = true, true
			n++
		}
	}
	out := make([]alert.Alert, 0, n)
	for i, a := range all {
		if keep[i] {
			out = append(out, a)
		}
	}
	limit := e.MaxUnsent
	if limit <= 0 {
		limit = defaultMaxUnsent
	}
	if drop := len(out) - limit; drop > 0 {
		e.Log.Warn("rules: the sink has refused alerts for long; dropping the oldest unsent", "dropped", drop, "kept", limit)
		out = append([]alert.Alert(nil), out[drop:]...)
	}
	return out
}

// evalRules moves each rule's per-target state with this evaluation's samples.
func (e *Engine) evalRules(samples []store.Sample, now time.Time) []alert.Alert {
	byKey := map[seriesKey]float64{}
	for _, s := range samples {
		byKey[seriesKey{s.Metric, s.Target}] = s.Value
	}
	var out []alert.Alert
	for _, r := range e.Rules {
		ch := e.ruleCheck[r.Name]
		ch.LastRun = now
		seen := false
		for _, s := range samples {
			if s.Metric != r.Metric {
				continue
			}
			seen = true
			if a := e.step(r, s.Target, s.Value, byKey, now); a != nil {
				out = append(out, *a)
			}
		}
		if seen {
			ch.Health = HealthOK
		} else {
			ch.Health = HealthNoData
		}
	}
	return out
}

// step is the one transition function of a threshold rule on one target.
// A target without a sample this time keeps its state: no data is neither
// a breach nor a recovery.
func (e *Engine) step(r Rule, target string, v float64, byKey map[seriesKey]float64, now time.Time) *alert.Alert {
	fp := Fingerprint(r.Name, target, nil)
	a := e.active[fp]
	guardOK := true
	if r.Guard != "" {
		gop := r.GuardOp
		if gop == "" {
			gop = ">="
		}
		if g, ok := byKey[seriesKey{r.Guard, target}]; ok && !compare(gop, g, r.GuardMin) {
			guardOK = false
		}
	}
	beyond := r.beyond(v) && guardOK
	if a == nil {
		if !beyond {
			return nil
		}
		a = &Active{Fingerprint: fp, Kind: "threshold", Rule: r.Name, Target: target, Severity: r.Severity, State: StatePending, ActiveAt: now}
		e.active[fp] = a
	} else if a.State == StatePending && !beyond {
		delete(e.active, fp)
		return nil
	}
	a.Value = v
	a.Labels = maps.Clone(r.Labels)
	a.Summary, a.Detail = r.words(target, v, a.Severity, e.Log)
	// A reloaded rule may carry another severity: the alert takes it, and
	// a firing one is sent again under its fingerprint with the new one.
	sevChanged := r.Severity != "" && a.Severity != r.Severity
	if r.Severity != "" {
		a.Severity = r.Severity
	}
	switch a.State {
	case StatePending:
		a.Count++
		held := now.Sub(a.ActiveAt) >= r.For
		if r.ForSamples > 0 {
			held = a.Count >= r.ForSamples
		}
		if held {
			a.State, a.FiredAt = StateFiring, now
			return e.alert(a, alert.Firing, now)
		}
	case StateFiring:
		if beyond {
			a.Count++
		} else {
			a.Count = 0
		}
		if r.normal(v) {
			// keep_firing_for: back to normal must last that long first.
			if a.NormalSince.IsZero() {
				a.NormalSince = now
			}
			if now.Sub(a.NormalSince) >= r.KeepFiringFor {
				delete(e.active, fp)
				return e.alert(a, alert.Resolved, now)
			}
		} else {
			a.NormalSince = time.Time{}
		}
		if sevChanged {
			return e.alert(a, alert.Firing, now)
		}
	}
	return nil
}

// reconcile fires new findings of a source and, after a complete
// collection, resolves its findings that are gone.
func (e *Engine) reconcile(source string, findings []Finding, complete bool, now time.Time) []alert.Alert {
	var out []alert.Alert
	seen := map[string]bool{}
	for _, f := range findings {
		fp := Fingerprint(f.Rule, f.Target, f.Labels)
		seen[fp] = true
		kind := f.Kind
		if kind == "" {
			kind = "security"
		}
		a := e.active[fp]
		if a == nil {
			a = &Active{Fingerprint: fp, Kind: kind, Rule: f.Rule, Target: f.Target, Labels: maps.Clone(f.Labels),
				State: StateFiring, ActiveAt: now, FiredAt: now, Source: source}
			e.active[fp] = a
			a.Severity, a.Summary, a.Value, a.Count = f.Severity, f.Summary, f.Value, 1
			out = append(out, *e.alert(a, alert.Firing, now))
			continue
		}
		a.Count++
		changed := a.Severity != f.Severity
		a.Severity, a.Summary, a.Value = f.Severity, f.Summary, f.Value
		if changed {
			// Same condition, new severity (a certificate a day closer):
			// announced again under the same fingerprint.
			out = append(out, *e.alert(a, alert.Firing, now))
		}
	}
	if complete {
		for fp, a := range e.active {
			if a.Source == source && !seen[fp] {
				delete(e.active, fp)
				out = append(out, *e.alert(a, alert.Resolved, now))
			}
		}
	}
	return out
}

func (e *Engine) alert(a *Active, status string, now time.Time) *alert.Alert {
	redact := e.Redact
	if redact == nil {
		redact = (*chat.Redactor)(nil).Redact
	}
	al := &alert.Alert{Fingerprint: a.Fingerprint, Kind: a.Kind, Rule: a.Rule, Target: a.Target, Severity: a.Severity,
		Status: status, Summary: redact(a.Summary), Value: a.Value, Labels: maps.Clone(a.Labels), StartsAt: a.ActiveAt}
	if a.Detail != "" {
		al.Detail = redact(a.Detail)
	}
	for _, r := range e.Rules {
		if r.Name == a.Rule {
			al.Remediation = r.Remediation
			break
		}
	}
	if status == alert.Resolved {
		al.EndsAt = now
	}
	return al
}

func (e *Engine) sortedActive() []*Active {
	out := make([]*Active, 0, len(e.active))
	for _, a := range e.active {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rule != out[j].Rule {
			return out[i].Rule < out[j].Rule
		}
		if out[i].Target != out[j].Target {
			return out[i].Target < out[j].Target
		}
		return labelString(out[i].Labels) < labelString(out[j].Labels)
	})
	return out
}

// Run evaluates every Interval and scans every ScanEvery on the engine's
// clock until ctx ends. Failures are logged and recorded, never fatal.
func (e *Engine) Run(ctx context.Context) error {
	interval := e.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var nextScan time.Time
	for {
		now := e.Now()
		if err := e.Eval(ctx, now); err != nil {
			e.Log.Warn("rules: evaluation", "err", err)
		}
		if e.ScanEvery > 0 && !now.Before(nextScan) {
			if err := e.Scan(ctx, now); err != nil {
				e.Log.Warn("rules: security scan", "err", err)
			}
			nextScan = now.Add(e.ScanEvery)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
