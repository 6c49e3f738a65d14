// Package monitor holds the `monitor` verb: the seed's monitor dashboard
// from chat. Every signal's latest value against its normal range and alert
// threshold, the pending and firing alerts, the checks' health, and a PNG
// chart of the last hour; `--json` gives the same as JSON.
package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/human"
	"opsbot/policy"
	"opsbot/rules"
	"opsbot/store"
)

// Engine is the rules engine's view (*rules.Engine).
type Engine interface {
	Status(target string) rules.Status
}

// SampleReader reads stored samples (*store.Store).
type SampleReader interface {
	Samples(ctx context.Context, metric, target string, from, to time.Time) ([]store.Sample, error)
	LatestSamples(ctx context.Context, t time.Time) ([]store.Sample, error)
}

// Deps are what the verb needs.
type Deps struct {
	Engine  Engine
	Samples SampleReader
	Config  func() *config.Config
}

// ChartWindow is how far back the chart reaches.
const ChartWindow = time.Hour

// Verbs returns the monitor verb.
func Verbs(d Deps) []*commands.Verb {
	return []*commands.Verb{{
		Name:     "monitor",
		Access:   policy.Read,
		Summary:  "signals against their thresholds, pending and firing alerts, and a chart of the last hour",
		Params:   []commands.Param{{Name: "target", Help: "a configured target (default: all)"}},
		Flags:    []commands.Flag{{Name: "json", Bool: true, Help: "machine-readable output"}},
		Examples: []string{"/ops monitor", "/ops monitor api", "/ops monitor --json"},
		// "" (no target named) concerns every target.
		Target: func(c *commands.Call) string { return c.Arg(0) },
		Run:    func(ctx context.Context, c *commands.Call) (commands.Response, error) { return d.run(ctx, c) },
	}}
}

// View is the --json form.
type View struct {
	Target string        `json:"target,omitempty"`
	At     time.Time     `json:"at"`
	Status rules.Status  `json:"status"`
	Chart  []ChartSeries `json:"chart"`
}

// ChartSeries is one line of the chart.
type ChartSeries struct {
	Metric string         `json:"metric"`
	Target string         `json:"target,omitempty"`
	Alert  float64        `json:"alert"` // drawn as a dashed line
	Points []store.Sample `json:"points"`
}

func (d Deps) run(ctx context.Context, c *commands.Call) (commands.Response, error) {
	var err error
	cfg := d.Config()
	target := c.Arg(0)
	if target != "" {
		if _, ok := cfg.Target(target); !ok {
			return commands.Response{}, commands.UnknownTarget(cfg, target)
		}
	}
	st := d.Engine.Status(target)
	if len(st.Signals) == 0 && d.Samples != nil {
		// This replica has not evaluated (a follower, or just started):
		// show the stored values, judged against the rules' bounds.
		if st.Signals, err = d.storedSignals(ctx, cfg, target, c.Now); err != nil {
			return commands.Response{}, err
		}
	}
	chartTarget := target
	if chartTarget == "" && len(cfg.Targets) > 0 {
		chartTarget = cfg.Targets[0].Name
	}
	series, err := d.chartSeries(ctx, cfg, chartTarget, c.Now)
	if err != nil {
		return commands.Response{}, err
	}
	if c.Has("json") {
		b, err := json.MarshalIndent(View{Target: target, At: c.Now, Status: st, Chart: series}, "", "  ")
		if err != nil {
			return commands.Response{}, fmt.Errorf("monitor json: %w", err)
		}
		return commands.Response{Message: chat.Message{Title: "monitor", Code: string(b)}}, nil
	}
	png, err := Chart(series, chartTarget, c.Now)
	if err != nil {
		return commands.Response{}, err
	}
	return commands.Response{Message: render(st, target, png, c.Now, c.Zone())}, nil
}

// storedSignals are the latest stored samples of the last ChartWindow.
func (d Deps) storedSignals(ctx context.Context, cfg *config.Config, target string, now time.Time) ([]rules.Signal, error) {
	latest, err := d.Samples.LatestSamples(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	ruleOf := map[string]rules.Rule{}
	for _, r := range rules.DefaultRules(cfg) {
		ruleOf[r.Metric] = r
	}
	var out []rules.Signal
	for _, s := range latest {
		if s.At.Before(now.Add(-ChartWindow)) || (target != "" && s.Target != "" && s.Target != target) {
			continue
		}
		sig := rules.Signal{Metric: s.Metric, Target: s.Target, Value: s.Value, At: s.At.Time}
		if r, ok := ruleOf[s.Metric]; ok {
			sig.Rule, sig.Alert, sig.Normal, sig.Below, sig.Unit, sig.Title = r.Name, r.Alert, r.Normal, r.Below, r.Unit, r.Title
			sig.State = "ok"
			if (r.Below && s.Value < r.Normal) || (!r.Below && s.Value > r.Normal) {
				sig.State = "elevated"
			}
		}
		out = append(out, sig)
	}
	return out, nil
}

// chartMetrics are drawn, in this order: host CPU and memory, the target's
// response time and 5xx rate.
var chartMetrics = []struct{ metric, title, unit string }{
	{rules.MetricCPU, "CPU", "%"},
	{rules.MetricMemory, "memory", "%"},
	{rules.MetricResponseTime, "response time", "ms"},
	{rules.Metric5xx, "5xx rate", "%"},
}

func (d Deps) chartSeries(ctx context.Context, cfg *config.Config, target string, now time.Time) ([]ChartSeries, error) {
	th := cfg.Thresholds
	alerts := map[string]float64{rules.MetricCPU: th.CPUPct.Alert, rules.MetricMemory: th.MemoryPct.Alert,
		rules.MetricResponseTime: th.ResponseTimeMS.Alert, rules.Metric5xx: th.Error5xxPct.Alert}
	var out []ChartSeries
	for _, m := range chartMetrics {
		t := ""
		if m.metric == rules.MetricResponseTime || m.metric == rules.Metric5xx {
			t = target
		}
		var pts []store.Sample
		hostWide := m.metric == rules.MetricCPU || m.metric == rules.MetricMemory
		if d.Samples != nil && (hostWide || t != "") {
			var err error
			pts, err = d.Samples.Samples(ctx, m.metric, t, now.Add(-ChartWindow), now)
			if err != nil {
				return nil, fmt.Errorf("monitor chart: %w", err)
			}
		}
		out = append(out, ChartSeries{Metric: m.metric, Target: t, Alert: alerts[m.metric], Points: pts})
	}
	return out, nil
}

func render(st rules.Status, target string, png []byte, now time.Time, loc *time.Location) chat.Message {
	var b strings.Builder
	row := func(cells ...string) {
		fmt.Fprintf(&b, "%-18s %-8s %s %s %s  %s\n", cells[0], cells[1], right(cells[2], 10), right(cells[3], 10), right(cells[4], 11), cells[5])
	}
	row("signal", "target", "value", "normal", "alert", "state")
	for _, s := range st.Signals {
		name := s.Metric
		tgt := s.Target
		if tgt == "" {
			tgt = "host"
		}
		normal, alert, state := "", "", s.State
		if s.Rule != "" {
			if s.Below {
				normal, alert = "≥ "+rules.FormatValue(s.Normal, s.Unit), "< "+rules.FormatValue(s.Alert, s.Unit)
			} else {
				normal, alert = "≤ "+rules.FormatValue(s.Normal, s.Unit), "> "+rules.FormatValue(s.Alert, s.Unit)
			}
		}
		if state == "" {
			state = "-"
		}
		row(name, tgt, rules.FormatValue(s.Value, s.Unit), normal, alert, state)
	}
	if len(st.Signals) == 0 {
		b.WriteString("(no samples yet)\n")
	}
	sev := chat.SevOK
	var alerts []string
	for _, a := range st.Alerts {
		if a.State == rules.StateFiring {
			if a.Severity == "critical" {
				sev = chat.SevCritical
			} else if sev != chat.SevCritical {
				sev = chat.SevWarning
			}
		}
		since := a.ActiveAt
		if !a.FiredAt.IsZero() {
			since = a.FiredAt
		}
		alerts = append(alerts, fmt.Sprintf("• %s %s [%s] %s — since %s", strings.ToUpper(a.State), a.Rule, a.Severity, a.Summary, human.Time(since, loc)))
	}
	var checks []string
	for _, ch := range st.Checks {
		if ch.Health == rules.HealthErr {
			checks = append(checks, fmt.Sprintf("• %s: %s", ch.Name, ch.LastError))
		}
	}
	sort.Strings(checks)
	text := "No alerts pending or firing."
	if len(alerts) > 0 {
		text = strings.Join(alerts, "\n")
	}
	if len(checks) > 0 {
		text += "\nChecks failing:\n" + strings.Join(checks, "\n")
	}
	title := "monitor"
	if target != "" {
		title += " " + target
	}
	ctxLine := "no evaluation yet"
	if !st.At.IsZero() {
		ctxLine = "last evaluation " + human.Ago(st.At, now, loc)
	}
	return chat.Message{
		Title: title, Severity: sev, Text: text, Code: strings.TrimRight(b.String(), "\n"), Context: ctxLine,
		Files: []chat.File{{Name: "monitor.png", Mime: "image/png", Data: png}},
	}
}

// right pads s on the left to w runes (≤ and ≥ are one rune, three bytes).
func right(s string, w int) string {
	if n := utf8.RuneCountInString(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return s
}

// SeriesColor is the colour of the samples' line and markers.
var SeriesColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}

// Chart draws the series as a 2×2 grid of small line charts over the last
// hour and returns the PNG.
func Chart(series []ChartSeries, target string, now time.Time) ([]byte, error) {
	plots := make([][]*plot.Plot, 2)
	for i := range plots {
		plots[i] = make([]*plot.Plot, 2)
	}
	for i, s := range series {
		if i >= 4 {
			break
		}
		p := plot.New()
		meta := chartMetrics[i]
		where := "host"
		if s.Target != "" {
			where = s.Target
		}
		if s.Target == "" && (meta.metric == rules.MetricResponseTime || meta.metric == rules.Metric5xx) {
			where = target
		}
		p.Title.Text = fmt.Sprintf("%s (%s), %s", meta.title, meta.unit, where)
		p.X.Min, p.X.Max = float64(now.Add(-ChartWindow).Unix()), float64(now.Unix())
		p.X.Tick.Marker = plot.TimeTicks{Format: "15:04", Time: func(t float64) time.Time { return time.Unix(int64(t), 0).In(now.Location()) }}
		// CPU and memory on 0–100 %; the others scaled to their data and
		// their alert line.
		p.Y.Min, p.Y.Max = 0, s.Alert*1.25
		if meta.metric == rules.MetricCPU || meta.metric == rules.MetricMemory {
			p.Y.Max = 100
		}
		p.Add(plotter.NewGrid())
		if s.Alert > 0 {
			al, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: s.Alert}, {X: p.X.Max, Y: s.Alert}})
			if err != nil {
				return nil, fmt.Errorf("monitor chart: %w", err)
			}
			al.Color = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
			al.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(al)
		}
		if len(s.Points) > 0 {
			xy := make(plotter.XYs, len(s.Points))
			for j, pt := range s.Points {
				xy[j].X, xy[j].Y = float64(pt.At.Unix()), pt.Value
				if pt.Value*1.1 > p.Y.Max {
					p.Y.Max = pt.Value * 1.1
				}
			}
			if len(xy) > 1 {
				line, err := plotter.NewLine(xy)
				if err != nil {
					return nil, fmt.Errorf("monitor chart: %w", err)
				}
				line.Color = SeriesColor
				line.Width = vg.Points(1.5)
				p.Add(line)
			}
			// Markers on the samples: a line needs two points, and a lone
			// sample (the first minute, or after a gap) would draw nothing.
			dots, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, fmt.Errorf("monitor chart: %w", err)
			}
			dots.GlyphStyle = draw.GlyphStyle{Color: SeriesColor, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
			p.Add(dots)
		} else {
			p.Title.Text += " — no data"
		}
		if p.Y.Max <= 0 {
			p.Y.Max = 1
		}
		plots[i/2][i%2] = p
	}
	img := vgimg.New(vg.Points(720), vg.Points(440))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Points(12), PadY: vg.Points(12), PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12)}
	canvases := plot.Align(plots, tiles, dc)
	for r := range plots {
		for c := range plots[r] {
			if plots[r][c] != nil {
				plots[r][c].Draw(canvases[r][c])
			}
		}
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("monitor chart: %w", err)
	}
	return buf.Bytes(), nil
}
