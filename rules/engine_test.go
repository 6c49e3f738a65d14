package rules

import (
	"opsbot/alert"

	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/ops"
	"opsbot/store"
	"opsbot/store/storetest"
)

// recSink records what the notifier would get.
type recSink struct {
	mu     sync.Mutex
	alerts []alert.Alert
	fail   error
}

func (s *recSink) Notify(_ context.Context, alerts ...alert.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.alerts = append(s.alerts, alerts...)
	return nil
}

func (s *recSink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range s.alerts {
		out = append(out, fmt.Sprintf("%s %s %s %g", a.Status, a.Rule, a.Severity, a.Value))
	}
	s.alerts = nil
	return out
}

// fakeHost drives exact values: every Sample reads the last one set.
type fakeHost struct {
	mu  sync.Mutex
	cur *ops.HostSample
}

func (f *fakeHost) set(cpu, mem, disk float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cur = &ops.HostSample{CPU: cpu, Mem: mem, Disk: disk}
}

func (f *fakeHost) Sample(context.Context) (ops.HostSample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur == nil {
		return ops.HostSample{}, errors.New("no reading")
	}
	return *f.cur, nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func newTestEngine(t *testing.T, st Store) (*Engine, *recSink, *fakeHost) {
	t.Helper()
	cfg := config.Default()
	sink := &recSink{}
	host := &fakeHost{}
	var s Store
	if st != nil {
		s = st
	}
	e := NewEngine(DefaultRules(cfg), sink, s, quiet)
	e.Add(GroupRules, HostSource{Sampler: host})
	return e, sink, host
}

func eval(t *testing.T, e *Engine, at time.Time) {
	t.Helper()
	if err := e.Eval(context.Background(), at); err != nil {
		t.Fatalf("eval at %s: %v", at.Format("15:04"), err)
	}
}

// TestPendingFiringResolvedWithHysteresis drives CPU through the seed's
// bounds (normal 70, alert 85, for 2 min).
func TestPendingFiringResolvedWithHysteresis(t *testing.T) {
	e, sink, host := newTestEngine(t, nil)
	steps := []struct {
		cpu   float64
		state string // cpu_high's state after the step
		sent  string
	}{
		{50, "", ""},
		{90, StatePending, ""}, // beyond: pending
		{60, "", ""},           // back under before `for`: forgotten, nothing sent
		{86, StatePending, ""}, // pending again at 10:03
		{95, StatePending, ""}, // 1 min held
		{88, StateFiring, "firing cpu_high warning 88"}, // 2 min held: firing
		{80, StateFiring, ""},                           // under alert, above normal: still firing
		{86, StateFiring, ""},                           // hovering at the threshold: no flapping
		{71, StateFiring, ""},                           // just above normal
		{70, "", "resolved cpu_high warning 70"},        // back inside normal: resolved
		{84, "", ""},                                    // elevated, not beyond
		{99, StatePending, ""},
	}
	for i, s := range steps {
		host.set(s.cpu, 10, 10)
		at := t0.Add(time.Duration(i) * time.Minute)
		eval(t, e, at)
		st := e.Status("")
		state := ""
		for _, a := range st.Alerts {
			if a.Rule == "cpu_high" {
				state = a.State
			}
		}
		if state != s.state {
			t.Fatalf("step %d (cpu %g): state %q, want %q", i, s.cpu, state, s.state)
		}
		got := strings.Join(sink.take(), "; ")
		if got != s.sent {
			t.Fatalf("step %d (cpu %g): sent %q, want %q", i, s.cpu, got, s.sent)
		}
	}
}

// A reloaded rule with another severity: the firing alert is sent again
// under its fingerprint with the new severity, once.
func TestReloadedSeverityIsSent(t *testing.T) {
	e, sink, host := newTestEngine(t, nil)
	for i := range 3 {
		host.set(95, 10, 10)
		eval(t, e, t0.Add(time.Duration(i)*time.Minute))
	}
	if got := strings.Join(sink.take(), "; "); got != "firing cpu_high warning 95" {
		t.Fatalf("fired: %q", got)
	}
	cfg := config.Default()
	cfg.Rules.Severity = map[string]string{"cpu_high": "critical"}
	e.SetRules(DefaultRules(cfg))
	for i := 3; i < 5; i++ {
		eval(t, e, t0.Add(time.Duration(i)*time.Minute))
	}
	if got := strings.Join(sink.take(), "; "); got != "firing cpu_high critical 95" {
		t.Fatalf("after reload: %q", got)
	}
	host.set(50, 10, 10)
	eval(t, e, t0.Add(5*time.Minute))
	if got := strings.Join(sink.take(), "; "); got != "resolved cpu_high critical 50" {
		t.Fatalf("resolved: %q", got)
	}
}

func TestFiringAlertShape(t *testing.T) {
	e, sink, host := newTestEngine(t, nil)
	for i := range 3 {
		host.set(50, 95, 10)
		eval(t, e, t0.Add(time.Duration(i)*time.Minute))
	}
	sink.mu.Lock()
	a := sink.alerts[0]
	sink.mu.Unlock()
	if a.Kind != "threshold" || a.Rule != "memory_high" || a.Target != "" || a.Status != alert.Firing ||
		!a.StartsAt.Equal(t0) || a.Fingerprint != Fingerprint("memory_high", "", nil) || len(a.Fingerprint) != 16 {
		t.Fatalf("alert %+v", a)
	}
	if a.Summary != "memory use on host is 95.0 % (alert above 90.0 %, resolves at or below 80.0 %)" {
		t.Fatalf("summary %q", a.Summary)
	}
	if Fingerprint("memory_high", "api", nil) == a.Fingerprint || Fingerprint("x", "", map[string]string{"a": "1", "b": "2"}) != Fingerprint("x", "", map[string]string{"b": "2", "a": "1"}) {
		t.Fatal("fingerprints not stable or not distinct")
	}
}

func TestForSamplesAndBelowRule(t *testing.T) {
	cfg := config.Default()
	cfg.Rules.ForSamples = 3
	sink := &recSink{}
	e := NewEngine(DefaultRules(cfg), sink, nil, quiet)
	vals := []float64{80, 85, 89, 94, 96}
	src := &fakeSource{name: "llm"}
	e.Add(GroupRules, src)
	var sent []string
	for i, v := range vals {
		src.out = Output{Samples: []store.Sample{{Metric: MetricLLMSuccess, Target: "api", Value: v}}}
		eval(t, e, t0.Add(time.Duration(i)*time.Second)) // seconds apart: only the count matters
		for _, s := range sink.take() {
			sent = append(sent, fmt.Sprintf("%d:%s", i, s))
		}
	}
	// Below 90 three samples in a row → firing at the third; 94 is not yet
	// normal (95); 96 is.
	want := "[2:firing llm_success_low critical 89 4:resolved llm_success_low critical 96]"
	if fmt.Sprint(sent) != want {
		t.Fatalf("sent %v, want %s", sent, want)
	}
}

// fakeSource returns what the test sets.
type fakeSource struct {
	name string
	out  Output
	err  error
	pan  bool
}

func (f *fakeSource) Name() string { return f.name }

func (f *fakeSource) Collect(ctx context.Context, now time.Time) (Output, error) {
	if f.pan {
		panic("boom")
	}
	return f.out, f.err
}

func TestGuardHoldsBackIdleSite(t *testing.T) {
	cfg := config.Default()
	cfg.Rules.For = 0
	sink := &recSink{}
	e := NewEngine(DefaultRules(cfg), sink, nil, quiet)
	src := &fakeSource{name: "logs"}
	e.Add(GroupRules, src)
	src.out = Output{Samples: []store.Sample{{Metric: MetricRequests, Target: "api", Value: 3}, {Metric: MetricResponseTime, Target: "api", Value: 5000}}}
	eval(t, e, t0)
	if got := sink.take(); len(got) != 0 {
		t.Fatalf("3 requests alerted: %v", got)
	}
	src.out = Output{Samples: []store.Sample{{Metric: MetricRequests, Target: "api", Value: 300}, {Metric: MetricResponseTime, Target: "api", Value: 2500}}}
	eval(t, e, t0.Add(time.Minute))
	if got := sink.take(); fmt.Sprint(got) != "[firing response_time_high warning 2500]" {
		t.Fatalf("got %v", got)
	}
}

func TestFindingsFireAndResolve(t *testing.T) {
	sink := &recSink{}
	e := NewEngine(nil, sink, nil, quiet)
	scan := &fakeSource{name: "scan"}
	e.Add(GroupSecurity, scan)
	tls := Finding{Rule: "tls_expiry", Labels: map[string]string{"url": "https://a"}, Severity: "warning", Summary: "10 days", Value: 10}
	env := Finding{Rule: "env_readable", Target: "api", Labels: map[string]string{"path": "/srv/.env"}, Severity: "critical", Value: 420}
	run := func(fs []Finding, err error) []string {
		scan.out, scan.err = Output{Findings: fs}, err
		_ = e.Scan(context.Background(), t0)
		return sink.take()
	}
	if got := run([]Finding{tls, env}, nil); fmt.Sprint(got) != "[firing tls_expiry warning 10 firing env_readable critical 420]" {
		t.Fatalf("first: %v", got)
	}
	if got := run([]Finding{tls, env}, nil); len(got) != 0 {
		t.Fatalf("repeated: %v", got)
	}
	tls.Severity, tls.Value = "critical", 2
	if got := run([]Finding{tls, env}, nil); fmt.Sprint(got) != "[firing tls_expiry critical 2]" {
		t.Fatalf("escalation: %v", got)
	}
	// An incomplete scan (one URL unreachable) resolves nothing.
	if got := run(nil, errors.New("dial timeout")); len(got) != 0 {
		t.Fatalf("incomplete scan resolved: %v", got)
	}
	if got := run([]Finding{tls}, nil); fmt.Sprint(got) != "[resolved env_readable critical 420]" {
		t.Fatalf("fixed: %v", got)
	}
	st := e.Status("")
	if len(st.Alerts) != 1 || st.Alerts[0].Rule != "tls_expiry" || st.Alerts[0].Kind != "security" {
		t.Fatalf("status %+v", st.Alerts)
	}
}

// TestOneFailingSourceDoesNotStopOthers: an erroring and a panicking
// source are recorded; the host rule still fires; the sink's failure is
// retried next time.
func TestOneFailingSourceDoesNotStopOthers(t *testing.T) {
	cfg := config.Default()
	cfg.Rules.For = 0
	sink := &recSink{fail: errors.New("outbox down")}
	host := &fakeHost{}
	e := NewEngine(DefaultRules(cfg), sink, nil, quiet)
	e.Add(GroupRules, &fakeSource{name: "broken", err: errors.New("log unreadable")})
	e.Add(GroupRules, &fakeSource{name: "panicky", pan: true})
	e.Add(GroupRules, HostSource{Sampler: host})
	host.set(10, 10, 97)
	err := e.Eval(context.Background(), t0)
	if err == nil || !strings.Contains(err.Error(), "log unreadable") || !strings.Contains(err.Error(), "panic: boom") || !strings.Contains(err.Error(), "outbox down") {
		t.Fatalf("err %v", err)
	}
	health := map[string]Check{}
	for _, c := range e.Status("").Checks {
		health[c.Name] = c
	}
	if health["broken"].Health != HealthErr || health["broken"].LastError != "log unreadable" || health["panicky"].Health != HealthErr ||
		health["host"].Health != HealthOK || health["disk_high"].Health != HealthOK || !health["host"].LastRun.Equal(t0) {
		t.Fatalf("health %+v", health)
	}
	sink.mu.Lock()
	sink.fail = nil
	sink.mu.Unlock()
	host.set(10, 10, 97)
	_ = e.Eval(context.Background(), t0.Add(time.Minute))
	if got := sink.take(); fmt.Sprint(got) != "[firing disk_high critical 97]" {
		t.Fatalf("retried %v", got)
	}
}

func TestCancellationIsNotAnError(t *testing.T) {
	e, sink, host := newTestEngine(t, nil)
	host.set(99, 99, 99)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Eval(ctx, t0); err != nil {
		t.Fatalf("cancelled eval: %v", err)
	}
	st := e.Status("")
	if len(st.Alerts) != 0 || len(sink.take()) != 0 {
		t.Fatalf("cancelled eval changed state: %+v", st.Alerts)
	}
	for _, c := range st.Checks {
		if c.Health == HealthErr {
			t.Fatalf("cancellation recorded as error: %+v", c)
		}
	}
}

// TestStateAndSamplesInStore: a restarted engine resolves what the old one
// fired, and samples are kept.
func TestStateAndSamplesInStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e1, sink1, host1 := newTestEngine(t, st)
		for i := range 3 {
			host1.set(90, 10, 10)
			eval(t, e1, t0.Add(time.Duration(i)*time.Minute))
		}
		if got := sink1.take(); fmt.Sprint(got) != "[firing cpu_high warning 90]" {
			t.Fatalf("first engine: %v", got)
		}
		e2, sink2, host2 := newTestEngine(t, st)
		host2.set(20, 10, 10)
		eval(t, e2, t0.Add(3*time.Minute))
		if got := sink2.take(); fmt.Sprint(got) != "[resolved cpu_high warning 20]" {
			t.Fatalf("restarted engine: %v", got)
		}
		got, err := st.Samples(context.Background(), MetricCPU, "", t0, t0.Add(time.Hour))
		if err != nil || len(got) != 4 || got[3].Value != 20 {
			t.Fatalf("samples %+v %v", got, err)
		}
	})
}

// TestRunLoop runs the loop on synctest's fake clock.
func TestRunLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := config.Default()
		sink := &recSink{}
		host := &fakeHost{}
		host.set(99, 10, 10)
		e := NewEngine(DefaultRules(cfg), sink, nil, quiet)
		e.Add(GroupRules, HostSource{Sampler: host})
		scan := &fakeSource{name: "scan", out: Output{Findings: []Finding{{Rule: "env_readable", Severity: "critical"}}}}
		e.Add(GroupSecurity, scan)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		time.Sleep(90 * time.Second) // evaluations at 0 and 60 s
		synctest.Wait()
		if got := sink.take(); fmt.Sprint(got) != "[firing env_readable critical 0]" {
			t.Fatalf("after 90 s: %v", got)
		}
		time.Sleep(60 * time.Second) // and at 120 s: cpu held 2 min
		synctest.Wait()
		if got := sink.take(); fmt.Sprint(got) != "[firing cpu_high warning 99]" {
			t.Fatalf("after 150 s: %v", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run: %v", err)
		}
	})
}

// TestRealHost samples this machine through gopsutil.
func TestRealHost(t *testing.T) {
	out, err := HostSource{Sampler: ops.NewHost("/")}.Collect(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Samples) != 3 {
		t.Fatalf("samples %+v", out.Samples)
	}
	for _, s := range out.Samples {
		if s.Value < 0 || s.Value > 100 {
			t.Errorf("%s = %g, out of 0..100", s.Metric, s.Value)
		}
	}
	// Memory and disk are never exactly zero on a running machine.
	if out.Samples[1].Value == 0 || out.Samples[2].Value == 0 {
		t.Errorf("implausible zero: %+v", out.Samples)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestLogsThroughEngine: real log files through the monitors into rules
// and security findings, built from config as the app builds it.
func TestLogsThroughEngine(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Rules.For = time.Minute
	cfg.Rules.MinRequests = 5
	cfg.Security.LoginFailed = 5
	cfg.Security.LoginFailedPerIP = 3
	logs := map[string]config.LogFile{}
	for _, n := range []string{"access", "error", "llm", "security"} {
		lf := config.LogFile{Path: filepath.Join(dir, n+".log"), Format: "app_iso", Timezone: "UTC"}
		if n == "access" {
			lf.Format = "nginx_timed"
		}
		logs[n] = lf
		appendFile(t, lf.Path, "")
	}
	cfg.Targets = []config.Target{{Name: "api", Logs: logs}}
	sink := &recSink{}
	host := &fakeHost{}
	host.set(10, 10, 10)
	e, err := FromConfig(cfg, Deps{Sink: sink, Host: host, Log: quiet, Probe: func(context.Context, string, time.Duration) ops.HealthResult { return ops.HealthResult{} }})
	if err != nil {
		t.Fatal(err)
	}
	eval(t, e, t0)
	slow := func(n int, rt string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "10.0.0.%d - - [25/Nov/2026:10:00:00 +0000] \"GET /api/chat HTTP/1.1\" 200 10 \"-\" \"ua\" %s\n", i%4, rt)
		}
		return b.String()
	}
	appendFile(t, logs["access"].Path, slow(10, "3.000")+"bad line\n")
	for range 6 {
		appendFile(t, logs["security"].Path, "2026-11-25T10:00:01Z WARNING login failed user=bob ip=203.0.113.66\n")
	}
	for range 12 {
		appendFile(t, logs["error"].Path, "2026-11-25T10:00:01Z ERROR database is locked\n")
	}
	eval(t, e, t0.Add(time.Minute))
	got := sink.take()
	want := []string{"firing login_failed_burst warning 6", "firing login_failed_ip warning 6"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the burst: %v, want %v", got, want)
	}
	appendFile(t, logs["access"].Path, slow(10, "2.500"))
	eval(t, e, t0.Add(2*time.Minute))
	got = sink.take()
	want = []string{"firing response_time_high warning 2750", "firing error_lines_high warning 12"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after a minute: %v, want %v", got, want)
	}
	st := e.Status("api")
	vals := map[string]float64{}
	for _, s := range st.Signals {
		vals[s.Metric] = s.Value
	}
	if vals[MetricRequests] != 20 || vals[MetricUnparsed] != 1 || vals[Metric5xx] != 0 || vals[MetricLoginFailed] != 6 {
		t.Fatalf("signals %v", vals)
	}
	// Fast answers for ten minutes: the 5-minute window slides past the
	// slow ones and the alerts resolve; the hour-long login window holds.
	for i := 3; i <= 10; i++ {
		appendFile(t, logs["access"].Path, slow(10, "0.100"))
		eval(t, e, t0.Add(time.Duration(i)*time.Minute))
	}
	got = sink.take()
	want = []string{"resolved error_lines_high warning 0", "resolved response_time_high warning 100"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after recovery: %v, want %v", got, want)
	}
}

// A finding that quotes a log line reaches the sink redacted: by the
// built-in rules alone, and by the configured redactor once it is set.
func TestFindingSummaryIsRedacted(t *testing.T) {
	sink := &recSink{}
	e := NewEngine(nil, sink, nil, quiet)
	scan := &fakeSource{name: "scan"}
	e.Add(GroupSecurity, scan)
	scan.out = Output{Findings: []Finding{{Rule: "log_line", Target: "api", Severity: "warning",
		Summary: `login failed {"password": "hunter2"} from redis://:hunter2@cache; token am-tok-Qw3rTy`}}}
	_ = e.Scan(context.Background(), t0)
	if len(sink.alerts) != 1 || sink.alerts[0].Summary != `login failed {"password": "[REDACTED]"} from redis://:[REDACTED]@cache; token am-tok-Qw3rTy` {
		t.Fatalf("built-in rules: %+v", sink.alerts)
	}
	sink.alerts = nil
	red := chat.NewRedactor([]string{"am-tok-Qw3rTy"}, nil)
	e.Redact = red.Redact
	scan.out.Findings[0].Severity = "critical" // announced again
	_ = e.Scan(context.Background(), t0)
	if len(sink.alerts) != 1 || strings.Contains(sink.alerts[0].Summary, "am-tok") || strings.Contains(sink.alerts[0].Summary, "hunter2") {
		t.Fatalf("configured redactor: %+v", sink.alerts)
	}
}
