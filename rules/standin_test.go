package rules

import (
	"opsbot/alert"

	"context"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/standin"
)

// TestStandinBursts: the stand-in backend writes its real logs; bursts of
// slow answers, 5xx, LLM errors and failed logins become the alerts the
// seed's table and monitors ask for, and resolve once the bursts slide out.
func TestStandinBursts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := standin.Start(ctx, t.TempDir(), standin.Options{LogInterval: time.Hour, RowsPerSecond: -1, HistoryLines: 50, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	cfg := config.Default()
	cfg.Targets = []config.Target{b.Target()}
	cfg.Rules.For = 0
	cfg.Rules.MinRequests = 5
	sink := &recSink{}
	host := &fakeHost{}
	host.set(20, 30, 40)
	e, err := FromConfig(cfg, Deps{Sink: sink, Host: host, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	name := b.Target().Name
	eval(t, e, t0) // first sight: the history is not news
	if got := sink.take(); len(got) != 0 {
		t.Fatalf("history alerted: %v", got)
	}
	for _, burst := range []struct {
		kind standin.BurstKind
		n    int
		ip   string
	}{{standin.BurstSlow, 30, ""}, {standin.Burst5xx, 10, ""}, {standin.BurstLLMErrors, 8, ""}, {standin.BurstLogins, 12, "203.0.113.66"}, {standin.BurstErrors, 11, ""}} {
		if err := b.Burst(burst.kind, burst.n, burst.ip); err != nil {
			t.Fatal(err)
		}
	}
	eval(t, e, t0.Add(time.Minute))
	sink.mu.Lock()
	var fired []string
	for _, a := range sink.alerts {
		if a.Status != alert.Firing || a.Target != name {
			t.Errorf("unexpected %+v", a)
		}
		fired = append(fired, a.Kind+":"+a.Rule)
		if a.Rule == "error_5xx_high" && a.Value != 25 {
			t.Errorf("5xx rate %g, want 25 (10 of 40)", a.Value)
		}
		if a.Rule == "login_failed_ip" && a.Labels["ip"] != "203.0.113.66" {
			t.Errorf("login ip %v", a.Labels)
		}
	}
	sink.alerts = nil
	sink.mu.Unlock()
	sort.Strings(fired)
	want := "security:login_failed_ip threshold:error_5xx_high threshold:error_lines_high threshold:llm_errors_high threshold:llm_success_low threshold:response_time_high"
	if strings.Join(fired, " ") != want {
		t.Fatalf("fired %v\nwant  %s", fired, want)
	}
	st := e.Status(name)
	for _, c := range st.Checks {
		if c.Health == HealthErr {
			t.Errorf("check %s: %s", c.Name, c.LastError)
		}
	}
	// Calm traffic for the rest of the windows: the threshold alerts
	// resolve after the 5-minute window, the login finding after the hour.
	for i := 2; i <= 70; i++ {
		if err := b.Burst(standin.BurstFlood, 10, "10.1.1.1"); err != nil {
			t.Fatal(err)
		}
		eval(t, e, t0.Add(time.Duration(i)*time.Minute))
	}
	var resolved []string
	for _, a := range sink.alerts {
		if a.Status == alert.Resolved {
			resolved = append(resolved, a.Rule)
		}
	}
	sort.Strings(resolved)
	if got := strings.Join(resolved, " "); got != "error_5xx_high error_lines_high llm_errors_high login_failed_ip response_time_high" {
		t.Fatalf("resolved %v", resolved)
	}
}
