package rules

import (
	"context"
	"fmt"
	"time"

	"opsbot/config"
	"opsbot/ops/diagnose"
	"opsbot/store"
)

// RuleDiskForecast is the alert raised when the disk is forecast to fill
// within the configured horizon, before the threshold is reached.
const RuleDiskForecast = "disk_fill_forecast"

// ForecastSource fits a line through the stored disk samples (the disk
// rule's own measurement) over the last 24 h and 7 d and raises
// disk_fill_forecast (warning) when either says full within Horizon.
type ForecastSource struct {
	Samples diagnose.SampleReader
	Horizon time.Duration
	// MinSpan: a fit over less time than this is noise, not a trend [1h].
	MinSpan time.Duration
}

// Name implements Source.
func (ForecastSource) Name() string { return "disk-forecast" }

// Collect implements Source.
func (f ForecastSource) Collect(ctx context.Context, now time.Time) (Output, error) {
	if f.Samples == nil || f.Horizon <= 0 {
		return Output{}, nil
	}
	fc, err := diagnose.DiskForecast(ctx, f.Samples, MetricDisk, "", now)
	if err != nil {
		return Output{}, err
	}
	span := f.MinSpan
	if span <= 0 {
		span = time.Hour
	}
	fc.DayOK = fc.DayOK && fc.DayFit.To.Sub(fc.DayFit.From) >= span
	fc.WeekOK = fc.WeekOK && fc.WeekFit.To.Sub(fc.WeekFit.From) >= span
	d, ok := fc.Soonest()
	if !ok || d > f.Horizon {
		return Output{}, nil
	}
	rate := fc.DayFit.PerDay()
	if !fc.DayOK {
		rate = fc.WeekFit.PerDay()
	}
	return Output{Findings: []Finding{{Kind: "threshold", Rule: RuleDiskForecast, Severity: "warning", Value: d.Hours() / 24,
		Summary: fmt.Sprintf("disk of the host forecast full in about %s (%s now, %+.2f %% a day; alert within %s)",
			diagnose.Days(d), FormatValue(fc.Latest, "%"), rate, diagnose.Days(f.Horizon))}}}, nil
}

// MemorySource samples the resident memory of each target's service
// process (found by pid file, name or port), the series the memory
// diagnosis reads growth from.
type MemorySource struct{ Targets []config.Target }

// Name implements Source.
func (MemorySource) Name() string { return "service-memory" }

// Collect implements Source. A target whose process is not found has no
// sample (absent, not zero).
func (m MemorySource) Collect(ctx context.Context, now time.Time) (Output, error) {
	var out Output
	for _, t := range m.Targets {
		s := t.Service
		if s.PIDFile == "" && s.Process == "" && s.Port == 0 {
			continue
		}
		if rss, ok := diagnose.ServiceRSS(ctx, t); ok {
			out.Samples = append(out.Samples, store.Sample{Metric: diagnose.MetricRSS, Target: t.Name, At: store.T(now), Value: float64(rss)})
		}
	}
	return out, ctx.Err()
}
