package rules

import (
	"context"
	"fmt"
	"time"

	"opsbot/checks"
	"opsbot/config"
	"opsbot/store"
)

// CheckSource runs one user-defined check (checks:) and hands its samples
// to the rules, as the built-in sources do.
type CheckSource struct{ Check *checks.Check }

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

// checkSources builds a source per configured check.
func checkSources(cfg *config.Config, getenv func(string) string) ([]Source, error) {
	var out []Source
	for _, c := range cfg.Checks {
		ch, err := checks.New(c, checks.Options{Getenv: getenv, Targets: cfg.Targets, Window: cfg.Rules.Window})
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		out = append(out, CheckSource{Check: ch})
	}
	return out, nil
}
