package diagnose

import (
	"context"
	"fmt"
	"math"
	"time"

	"opsbot/store"
)

// Fit is a least-squares line through samples: value = Intercept + Slope·t,
// t in seconds since From.
type Fit struct {
	Slope     float64 // per second
	Intercept float64
	N         int
	From, To  time.Time
}

// At is the fitted value at t.
func (f Fit) At(t time.Time) float64 { return f.Intercept + f.Slope*t.Sub(f.From).Seconds() }

// PerDay is the slope per day.
func (f Fit) PerDay() float64 { return f.Slope * 86400 }

// LinearFit fits a line through samples (at least 3, spanning time).
func LinearFit(ss []store.Sample) (Fit, bool) {
	if len(ss) < 3 {
		return Fit{}, false
	}
	from := ss[0].At.Time
	var sx, sy, sxx, sxy float64
	n := float64(len(ss))
	for _, s := range ss {
		x := s.At.Time.Sub(from).Seconds()
		sx += x
		sy += s.Value
		sxx += x * x
		sxy += x * s.Value
	}
	den := n*sxx - sx*sx
	if den == 0 || math.IsNaN(den) {
		return Fit{}, false
	}
	slope := (n*sxy - sx*sy) / den
	return Fit{Slope: slope, Intercept: (sy - slope*sx) / n, N: len(ss), From: from, To: ss[len(ss)-1].At.Time}, true
}

// FullIn is how long from now until the fitted line reaches limit; false
// when the line does not rise (or there are too few samples).
func FullIn(ss []store.Sample, now time.Time, limit float64) (time.Duration, Fit, bool) {
	f, ok := LinearFit(ss)
	if !ok || f.Slope <= 0 {
		return 0, f, false
	}
	secs := (limit - f.At(now)) / f.Slope
	if secs < 0 {
		secs = 0
	}
	if secs > 100*365*86400 {
		return 0, f, false
	}
	return time.Duration(secs * float64(time.Second)), f, true
}

// Forecast is a disk-fill forecast over the two windows the guide's
// capacity review looks at.
type Forecast struct {
	Metric, Target string
	// Day and Week: time to full over the last 24 h and 7 d (ok false: no rise).
	Day, Week     time.Duration
	DayOK, WeekOK bool
	DayFit        Fit
	WeekFit       Fit
	Latest        float64
}

// Soonest is the nearer of the two forecasts.
func (f Forecast) Soonest() (time.Duration, bool) {
	switch {
	case f.DayOK && f.WeekOK:
		return min(f.Day, f.Week), true
	case f.DayOK:
		return f.Day, true
	case f.WeekOK:
		return f.Week, true
	}
	return 0, false
}

// DiskForecast reads a percent series (disk_pct) and forecasts when it
// reaches 100 %.
func DiskForecast(ctx context.Context, sr SampleReader, metric, target string, now time.Time) (Forecast, error) {
	fc := Forecast{Metric: metric, Target: target}
	week, err := sr.Samples(ctx, metric, target, now.Add(-7*24*time.Hour), now)
	if err != nil {
		return fc, fmt.Errorf("forecast: %w", err)
	}
	if len(week) > 0 {
		fc.Latest = week[len(week)-1].Value
	}
	var day []store.Sample
	for i, s := range week {
		if !s.At.Time.Before(now.Add(-24 * time.Hour)) {
			day = week[i:]
			break
		}
	}
	fc.Day, fc.DayFit, fc.DayOK = FullIn(day, now, 100)
	fc.Week, fc.WeekFit, fc.WeekOK = FullIn(week, now, 100)
	return fc, nil
}

// Days words a duration in days, as the forecast speaks.
func Days(d time.Duration) string {
	days := d.Hours() / 24
	switch {
	case days < 1:
		return fmt.Sprintf("%.0f h", math.Max(d.Hours(), 0))
	case days < 10:
		return fmt.Sprintf("%.1f days", days)
	}
	return fmt.Sprintf("%.0f days", days)
}
