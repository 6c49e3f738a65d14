package rules

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"opsbot/checks"
	"opsbot/config"
	"opsbot/store"
)

// CheckSource runs one user-defined check (checks:) and hands its samples
// to the rules, as the built-in sources do.
type CheckSource struct {
	Check *checks.Check
	spec  checkSpec // what it was built from
}

// checkSpec is what a check is built from: its entry, the target it reads
// (a log or sql check reads the target's logs or database) and the default
// window. A reload keeps a check whose spec did not change, with its state.
type checkSpec struct {
	Check  config.Check
	Target config.Target
	Window time.Duration
}

func specOf(c config.Check, cfg *config.Config) checkSpec {
	t, _ := cfg.Target(c.Target)
	return checkSpec{Check: c, Target: t, Window: cfg.Rules.Window}
}

// Name implements Source.
func (c CheckSource) Name() string { return "check:" + c.Check.Name() }

// Collect implements Source.
func (c CheckSource) Collect(ctx context.Context, now time.Time) (Output, error) {
	ss, err := c.Check.Run(ctx, now)
	if ctx.Err() != nil {
		return Output{}, ctx.Err()
	}
	out := Output{Samples: make([]store.Sample, 0, len(ss))}
	at := store.T(now)
	for _, s := range ss {
		out.Samples = append(out.Samples, store.Sample{Metric: s.Metric, Target: s.Target, At: at, Value: s.Value})
	}
	return out, err
}

// checkSources builds a source per configured check; one in old with the
// same spec is kept as it is.
func checkSources(cfg *config.Config, getenv func(string) string, old map[string]CheckSource) ([]Source, error) {
	var out []Source
	for _, c := range cfg.Checks {
		spec := specOf(c, cfg)
		if o, ok := old[c.Name]; ok && reflect.DeepEqual(o.spec, spec) {
			out = append(out, o)
			continue
		}
		ch, err := checks.New(c, checks.Options{Getenv: getenv, Targets: cfg.Targets, Window: cfg.Rules.Window})
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		out = append(out, CheckSource{Check: ch, spec: spec})
	}
	return out, nil
}

// Prepare builds a reloaded configuration's rules and checks without
// touching the running ones: an error (a rule that does not compile, a
// check that cannot be built) leaves everything as it was. commit then
// swaps rules and checks in at once: new and changed checks start, removed
// ones stop, unchanged ones keep their state (a log check's offset, their
// health), and alerts pending or firing under unchanged rules keep their
// timers.
func (e *Engine) Prepare(cfg *config.Config) (commit func(), err error) {
	rs, err := RulesFrom(cfg)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	old := map[string]CheckSource{}
	for _, r := range e.sources {
		if cs, ok := r.src.(CheckSource); ok {
			old[cs.Check.Name()] = cs
		}
	}
	getenv := e.getenv
	e.mu.Unlock()
	srcs, err := checkSources(cfg, getenv, old)
	if err != nil {
		return nil, err
	}
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		regs := map[*checks.Check]*registered{}
		sources := make([]*registered, 0, len(e.sources)+len(srcs))
		for _, r := range e.sources {
			if cs, ok := r.src.(CheckSource); ok {
				regs[cs.Check] = r
				continue
			}
			sources = append(sources, r)
		}
		for _, s := range srcs {
			if r := regs[s.(CheckSource).Check]; r != nil {
				sources = append(sources, r)
				continue
			}
			sources = append(sources, &registered{src: s, group: GroupRules, check: Check{Name: s.Name(), Group: GroupRules, Health: HealthUnknown}})
		}
		e.sources = sources
		e.setRules(rs)
	}, nil
}
