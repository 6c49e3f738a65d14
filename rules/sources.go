package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"opsbot/config"
	"opsbot/ops"
	"opsbot/ops/security"
	"opsbot/ops/watch"
	"opsbot/store"
)

// HostSampler reads the host's CPU, memory and disk use; *ops.Host
// satisfies it, tests use a fake that drives exact values.
type HostSampler interface {
	Sample(ctx context.Context) (ops.HostSample, error)
}

// HostSource samples the host.
type HostSource struct{ Sampler HostSampler }

// Name implements Source.
func (HostSource) Name() string { return "host" }

// Collect implements Source.
func (h HostSource) Collect(ctx context.Context, now time.Time) (Output, error) {
	s, err := h.Sampler.Sample(ctx)
	if err != nil {
		return Output{}, fmt.Errorf("host sample: %w", err)
	}
	at := store.T(now)
	return Output{Samples: []store.Sample{
		{Metric: MetricCPU, At: at, Value: s.CPU},
		{Metric: MetricMemory, At: at, Value: s.Mem},
		{Metric: MetricDisk, At: at, Value: s.Disk},
	}}, nil
}

// Prober probes a health URL; ops.CheckHealth is one.
type Prober func(ctx context.Context, url string, timeout time.Duration) ops.HealthResult

// HealthSource measures each target's health latency.
type HealthSource struct {
	Targets []config.Target
	Probe   Prober
}

// Name implements Source.
func (HealthSource) Name() string { return "health" }

// Collect implements Source: latency in ms and up (1) or down (0) per
// target. A down target is a sample, not a failure of the source. Targets
// are probed at once: one that does not answer costs the pass its timeout
// once, not once per target, and the rules group (the log monitor's pass
// with it) is not held for the sum.
func (h HealthSource) Collect(ctx context.Context, now time.Time) (Output, error) {
	probe := h.Probe
	if probe == nil {
		probe = ops.CheckHealth
	}
	results := make([]*ops.HealthResult, len(h.Targets))
	var wg sync.WaitGroup
	for i, t := range h.Targets {
		if t.HealthURL == "" {
			continue
		}
		wg.Go(func() {
			r := probe(ctx, t.HealthURL, t.HealthTimeout)
			results[i] = &r
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return Output{}, ctx.Err()
	}
	var out Output
	at := store.T(now)
	for i, t := range h.Targets {
		r := results[i]
		if r == nil {
			continue
		}
		up := 0.0
		if r.OK() {
			up = 1
		}
		out.Samples = append(out.Samples,
			store.Sample{Metric: MetricHealthMS, Target: t.Name, At: at, Value: float64(r.Latency) / float64(time.Millisecond)},
			store.Sample{Metric: MetricHealthUp, Target: t.Name, At: at, Value: up})
	}
	return out, nil
}

// LogSource runs a target's log monitor pass: service signals as samples,
// failed-login bursts and request floods as security findings.
type LogSource struct {
	Monitor    *watch.Monitor
	Thresholds security.Thresholds
}

// Name implements Source.
func (l LogSource) Name() string { return "logs:" + l.Monitor.Target }

// Collect implements Source.
func (l LogSource) Collect(ctx context.Context, now time.Time) (Output, error) {
	s, err := l.Monitor.Pass(ctx, now)
	if ctx.Err() != nil {
		return Output{}, ctx.Err()
	}
	at := store.T(now)
	var out Output
	add := func(metric string, v float64) {
		out.Samples = append(out.Samples, store.Sample{Metric: metric, Target: s.Target, At: at, Value: v})
	}
	if s.HasAccess {
		add(MetricRequests, float64(s.Requests))
		// No traffic, no rate: absent rather than a reassuring zero.
		if s.Requests > 0 {
			add(Metric5xx, s.Rate5xxPct)
		}
		if s.TimedLines > 0 {
			add(MetricResponseTime, s.ResponseMS)
		}
	}
	if s.HasLLM {
		add(MetricLLMCalls, float64(s.LLMCalls))
		add(MetricLLMErrors, float64(s.LLMErrors))
		if s.LLMCalls > 0 {
			add(MetricLLMSuccess, s.LLMSuccess)
		}
	}
	if s.HasError {
		add(MetricErrorLines, float64(s.ErrorLines))
	}
	if s.HasSecurity {
		add(MetricLoginFailed, float64(s.LoginFailed))
	}
	var unparsed int64
	for _, ls := range s.Logs {
		unparsed += ls.Unparsed
	}
	if len(s.Logs) > 0 {
		add(MetricUnparsed, float64(unparsed))
	}
	for _, f := range security.FromLogs(s, l.Thresholds) {
		out.Findings = append(out.Findings, fromSecurity(f))
	}
	return out, err
}

func fromSecurity(f security.Finding) Finding {
	return Finding{Kind: "security", Rule: f.Rule, Target: f.Target, Labels: f.Labels, Severity: f.Severity, Summary: f.Summary, Value: f.Value}
}

// ScanSource runs the file and certificate checks.
type ScanSource struct {
	Roots, Globs, EnvFiles, TLSURLs []string
	TLS                             security.TLSOptions
}

// Name implements Source.
func (ScanSource) Name() string { return "security-scan" }

// Collect implements Source. Each check runs whatever the others did.
func (s ScanSource) Collect(ctx context.Context, now time.Time) (Output, error) {
	var out Output
	var errs []error
	add := func(fs []security.Finding, err error) {
		for _, f := range fs {
			out.Findings = append(out.Findings, fromSecurity(f))
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(security.WorldWritable(ctx, s.Roots, s.Globs))
	add(security.EnvReadable(s.EnvFiles))
	add(security.TLSExpiry(ctx, s.TLSURLs, now, s.TLS))
	if ctx.Err() != nil {
		return Output{}, ctx.Err()
	}
	return out, errors.Join(errs...)
}

// Deps are what FromConfig needs besides the config.
type Deps struct {
	Sink  Sink
	Store *store.Store
	Host  HostSampler // nil: ops.NewHost("/")
	Probe Prober      // nil: ops.CheckHealth
	Log   *slog.Logger
	Now   func() time.Time
	// Redact cleans alert summaries (the registry's redactor); nil applies
	// the built-in rules only.
	Redact func(string) string
	// Getenv reads the sql checks' DSN variables; nil: os.Getenv.
	Getenv func(string) string
}

// FromConfig builds the engine with the default rules and every source the
// configuration asks for: host, health, each target's logs, the security scan.
func FromConfig(cfg *config.Config, d Deps) (*Engine, error) {
	var st Store
	if d.Store != nil {
		st = d.Store
	}
	rs, err := RulesFrom(cfg)
	if err != nil {
		return nil, err
	}
	e := NewEngine(rs, d.Sink, st, d.Log)
	if d.Now != nil {
		e.Now = d.Now
	}
	e.Redact = d.Redact
	e.Interval = cfg.Rules.Interval
	e.Retention = cfg.Store.Retention.Samples
	// Twice a day's worth of samples per series at the configured interval.
	e.MaxPerSeries = max(int(2*max(e.Retention, 24*time.Hour)/e.Interval), 1000)
	host := d.Host
	if host == nil {
		disk := "/"
		for _, t := range cfg.Targets {
			if t.Workdir != "" {
				disk = t.Workdir
				break
			}
		}
		host = ops.NewHost(disk)
	}
	e.Add(GroupRules, HostSource{Sampler: host})
	e.Add(GroupRules, HealthSource{Targets: cfg.Targets, Probe: d.Probe})
	th := security.ThresholdsFrom(cfg.Security)
	for _, t := range cfg.Targets {
		if len(t.Logs) == 0 {
			continue
		}
		m, err := watch.NewMonitor(t.Name, t.Logs, watch.Options{
			Window: cfg.Rules.Window, SecurityWindow: cfg.Security.Window,
			RequestsPerIP: th.RequestsPerIP, LoginFailedPerIP: th.LoginFailedPerIP, Store: st,
			Keywords: cfg.Keywords,
		})
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		// Watching starts now, not at the first pass: a burst in the
		// first interval after start is counted.
		if err := m.Begin(context.Background(), time.Now()); err != nil {
			slog.Default().Warn("log monitor: start offset not recorded", "target", t.Name, "err", err)
		}
		e.Add(GroupRules, LogSource{Monitor: m, Thresholds: th})
	}
	env := cfg.Security.EnvFiles
	if len(env) == 0 {
		for _, t := range cfg.Targets {
			if t.Workdir != "" {
				env = append(env, filepath.Join(t.Workdir, ".env"))
			}
		}
	}
	e.Add(GroupSecurity, ScanSource{Roots: cfg.Security.WritableRoots, Globs: cfg.Security.WritableGlobs, EnvFiles: env, TLSURLs: cfg.Security.TLSURLs,
		TLS: security.TLSOptions{Warn: cfg.Security.TLSWarn, Critical: cfg.Security.TLSCritical, Timeout: cfg.Security.TLSTimeout}})
	if d.Store != nil {
		e.Add(GroupRules, ForecastSource{Samples: d.Store, Horizon: cfg.Diagnose.ForecastHorizon})
	}
	e.Add(GroupRules, MemorySource{Targets: cfg.Targets})
	e.getenv = d.Getenv
	srcs, err := checkSources(cfg, d.Getenv, nil)
	if err != nil {
		return nil, err
	}
	for _, s := range srcs {
		e.Add(GroupRules, s)
	}
	return e, nil
}
