package monitor

import (
	"opsbot/alert"

	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/rules"
	"opsbot/store"
	"opsbot/store/storetest"
)

type nullSink struct{}

func (nullSink) Notify(context.Context, ...alert.Alert) error { return nil }

// series is a source replaying fixed values per evaluation.
type series struct {
	i    int
	rows [][]store.Sample
}

func (s *series) Name() string { return "fixture" }

func (s *series) Collect(_ context.Context, now time.Time) (rules.Output, error) {
	row := s.rows[min(s.i, len(s.rows)-1)]
	s.i++
	out := make([]store.Sample, len(row))
	for i, x := range row {
		x.At = store.T(now)
		out[i] = x
	}
	return rules.Output{Samples: out}, nil
}

type env struct {
	reg *commands.Registry
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := storetest.SQLite(t)
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "api", HealthURL: "http://127.0.0.1:1/health"}, {Name: "web", HealthURL: "http://127.0.0.1:1/health"}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := rules.NewEngine(rules.DefaultRules(cfg), nullSink{}, st, log)
	src := &series{}
	for i := range 30 {
		cpu := 40 + float64(i)
		src.rows = append(src.rows, []store.Sample{
			{Metric: rules.MetricCPU, Value: cpu}, {Metric: rules.MetricMemory, Value: 50}, {Metric: rules.MetricDisk, Value: 93},
			{Metric: rules.MetricRequests, Target: "api", Value: 500}, {Metric: rules.MetricResponseTime, Target: "api", Value: 300 + 10*float64(i)},
			{Metric: rules.Metric5xx, Target: "api", Value: 0.5}, {Metric: rules.MetricResponseTime, Target: "web", Value: 120},
		})
	}
	e.Add(rules.GroupRules, src)
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i := range 30 {
		if err := e.Eval(context.Background(), base.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	now := base.Add(30 * time.Minute)
	reg := commands.NewRegistry(func() *config.Config { return cfg }, st, log)
	reg.Now = func() time.Time { return now }
	reg.MustRegister(Verbs(Deps{Engine: e, Samples: st, Config: func() *config.Config { return cfg }})...)
	return &env{reg: reg, now: now}
}

func (e *env) run(text string) commands.Response {
	return e.reg.Handle(context.Background(), commands.Request{Platform: "console", User: "me", Channel: "console", Text: text, Local: true})
}

func TestMonitorText(t *testing.T) {
	e := newEnv(t)
	r := e.run("monitor")
	if r.Title != "monitor" || r.Severity != "critical" {
		t.Fatalf("title %q severity %q:\n%s", r.Title, r.Severity, r.Text)
	}
	for _, want := range []string{
		"cpu_pct            host         69.0 %   ≤ 70.0 %    > 85.0 %  ok",
		"disk_pct           host         93.0 %   ≤ 80.0 %    > 90.0 %  firing",
		"response_time_ms   api          590 ms   ≤ 500 ms   > 2000 ms  elevated",
		"response_time_ms   web          120 ms   ≤ 500 ms   > 2000 ms  ok",
	} {
		if !strings.Contains(r.Code, want) {
			t.Errorf("table lacks %q:\n%s", want, r.Code)
		}
	}
	if !strings.Contains(r.Text, "FIRING disk_high [critical] disk use on host is 93.0 %") {
		t.Errorf("alerts: %s", r.Text)
	}
	if len(r.Files) != 1 || r.Files[0].Mime != "image/png" {
		t.Fatalf("files %+v", r.Files)
	}
	img, err := png.Decode(bytes.NewReader(r.Files[0].Data))
	if err != nil {
		t.Fatalf("chart is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 300 {
		t.Fatalf("chart %v", b)
	}
	// One target: the other's signals are left out, the host's stay.
	r = e.run("monitor api")
	if strings.Contains(r.Code, " web ") || !strings.Contains(r.Code, "cpu_pct") || r.Title != "monitor api" {
		t.Fatalf("monitor api:\n%s", r.Code)
	}
}

func TestMonitorJSON(t *testing.T) {
	e := newEnv(t)
	r := e.run("monitor api --json")
	var v View
	if err := json.Unmarshal([]byte(r.Code), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.Code)
	}
	if v.Target != "api" || len(v.Chart) != 4 || !v.At.Equal(e.now) {
		t.Fatalf("view %+v", v)
	}
	// The chart covers the last hour: all 30 samples of each line.
	for _, s := range v.Chart {
		if len(s.Points) != 30 {
			t.Errorf("%s %s: %d points", s.Metric, s.Target, len(s.Points))
		}
	}
	if v.Chart[2].Metric != rules.MetricResponseTime || v.Chart[2].Target != "api" || v.Chart[2].Points[29].Value != 590 {
		t.Errorf("response time series %+v", v.Chart[2])
	}
	var firing []string
	for _, a := range v.Status.Alerts {
		firing = append(firing, a.State+" "+a.Rule)
	}
	if strings.Join(firing, ",") != "firing disk_high" {
		t.Errorf("alerts %v", firing)
	}
}

func TestMonitorUnknownTarget(t *testing.T) {
	e := newEnv(t)
	r := e.run("monitor nope")
	if !strings.Contains(r.Text, `unknown target "nope"; targets: api, web`) || len(r.Files) != 0 {
		t.Fatalf("got %+v", r.Message)
	}
}

// TestMonitorOnReplicaWithoutEngineState: an engine that never evaluated
// (a follower replica) still shows the stored samples.
func TestMonitorOnReplicaWithoutEngineState(t *testing.T) {
	st := storetest.SQLite(t)
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "api", HealthURL: "http://127.0.0.1:1/health"}}
	now := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	if err := st.AddSamples(context.Background(), []store.Sample{
		{Metric: rules.MetricCPU, At: store.T(now.Add(-2 * time.Hour)), Value: 99},
		{Metric: rules.MetricMemory, At: store.T(now.Add(-time.Minute)), Value: 85},
		{Metric: rules.MetricResponseTime, Target: "api", At: store.T(now.Add(-time.Minute)), Value: 120},
	}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	idle := rules.NewEngine(rules.DefaultRules(cfg), nullSink{}, st, log)
	reg := commands.NewRegistry(func() *config.Config { return cfg }, st, log)
	reg.Now = func() time.Time { return now }
	reg.MustRegister(Verbs(Deps{Engine: idle, Samples: st, Config: func() *config.Config { return cfg }})...)
	r := reg.Handle(context.Background(), commands.Request{Platform: "console", User: "me", Text: "monitor", Local: true})
	if !strings.Contains(r.Code, "memory_pct") || !strings.Contains(r.Code, "elevated") || !strings.Contains(r.Code, "120 ms") || strings.Contains(r.Code, "cpu_pct") {
		t.Fatalf("stored signals (the 2 h old CPU sample left out):\n%s", r.Code)
	}
}

// seriesPixels counts the pixels of a chart drawn in the series' colour.
func seriesPixels(t *testing.T, data []byte) int {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("chart is not a PNG: %v", err)
	}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 == uint32(SeriesColor.R) && g>>8 == uint32(SeriesColor.G) && bl>>8 == uint32(SeriesColor.B) {
				n++
			}
		}
	}
	return n
}

// A series with one sample (the first minute, or after a gap) is drawn as
// a marker, not left empty.
func TestChartDrawsALoneSample(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	empty := []ChartSeries{{Metric: rules.MetricCPU, Alert: 85}, {Metric: rules.MetricMemory, Alert: 90},
		{Metric: rules.MetricResponseTime, Target: "api", Alert: 2000}, {Metric: rules.Metric5xx, Target: "api", Alert: 5}}
	none, err := Chart(empty, "api", now)
	if err != nil {
		t.Fatal(err)
	}
	one := append([]ChartSeries(nil), empty...)
	one[0].Points = []store.Sample{{Metric: rules.MetricCPU, At: store.T(now.Add(-time.Minute)), Value: 42}}
	lone, err := Chart(one, "api", now)
	if err != nil {
		t.Fatal(err)
	}
	if n := seriesPixels(t, none); n != 0 {
		t.Fatalf("a chart without samples has %d series pixels", n)
	}
	if n := seriesPixels(t, lone); n < 4 {
		t.Fatalf("a lone sample drew %d pixels", n)
	}
}
