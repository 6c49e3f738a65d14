package app

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/config"
)

// Each platform's endpoints have their own bound of requests at once: past
// it a request is answered 503 with Retry-After at once, the other
// platforms and /healthz still answer, and a slot freed is usable again.
// The bound is read at each request, so a reload changes it.
func TestInFlightBoundPerPlatform(t *testing.T) {
	var cfgp atomic.Pointer[config.Config]
	cfg := config.Default()
	cfg.HTTP.MaxInFlight = config.InFlight{Slack: 2, Discord: 1, Alertmanager: 1}
	cfgp.Store(cfg)
	entered := make(chan string, 10)
	release := make(chan struct{})
	blocking := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- name
			<-release
			io.WriteString(w, "ok")
		})
	}
	a := &App{inFlight: newInFlight(cfgp.Load), routes: map[string]http.Handler{
		"/slack/commands":        blocking("slack"),
		"/slack/interactions":    blocking("slack"),
		"/discord/interactions":  blocking("discord"),
		"/webhooks/alertmanager": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
	}}
	srv := httptest.NewServer(http.HandlerFunc(a.serveRoutes))
	defer srv.Close()
	type result struct {
		code  int
		retry string
	}
	post := func(path string) result {
		resp, err := http.Post(srv.URL+path, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Error(err)
			return result{}
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return result{resp.StatusCode, resp.Header.Get("Retry-After")}
	}
	waitEntered := func(want string) {
		t.Helper()
		select {
		case got := <-entered:
			if got != want {
				t.Fatalf("%s handler entered, want %s", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the %s request never reached its handler", want)
		}
	}
	done := make(chan result, 3)
	go func() { done <- post("/slack/commands") }()
	waitEntered("slack")
	go func() { done <- post("/slack/interactions") }()
	waitEntered("slack")
	// Slack is full (two in flight over both of its endpoints).
	if r := post("/slack/commands"); r.code != http.StatusServiceUnavailable || r.retry != "1" {
		t.Fatalf("third slack request: %d Retry-After %q, want 503 and 1", r.code, r.retry)
	}
	// The others are not starved by Slack's flood.
	go func() { done <- post("/discord/interactions") }()
	waitEntered("discord")
	if r := post("/webhooks/alertmanager"); r.code != http.StatusOK {
		t.Fatalf("alertmanager while slack is full: %d", r.code)
	}
	if r := post("/discord/interactions"); r.code != http.StatusServiceUnavailable {
		t.Fatalf("second discord request: %d, want 503", r.code)
	}
	close(release)
	for range 3 {
		if r := <-done; r.code != http.StatusOK {
			t.Fatalf("a request in flight ended %d", r.code)
		}
	}
	if r := post("/slack/commands"); r.code != http.StatusOK {
		t.Fatalf("after the slots were freed: %d", r.code)
	}
	// A reloaded bound applies to the next request.
	low := *cfg
	low.HTTP.MaxInFlight.Alertmanager = 0
	cfgp.Store(&low)
	if r := post("/webhooks/alertmanager"); r.code != http.StatusServiceUnavailable {
		t.Fatalf("alertmanager with a bound of 0: %d", r.code)
	}
}

// The listener cuts a client that trickles its headers, and closes a
// kept-alive connection left idle, each after its configured timeout.
func TestServeTimeouts(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Store.DSN = config.Secret(filepath.Join(dir, "opsbot.db"))
	cfg.HTTP.ReadHeaderTimeout = 300 * time.Millisecond
	cfg.HTTP.IdleTimeout = 300 * time.Millisecond
	cfg.Schedules = map[string]config.Schedule{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- Serve(ctx, cfg, Options{Stdout: io.Discard, Stderr: io.Discard, Ready: func(addr string) { ready <- addr }})
	}()
	defer func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not serving")
	}
	// closedWithin reports how long the server took to close c, failing
	// the test if it kept it open past the deadline.
	closedWithin := func(c net.Conn, r *bufio.Reader) time.Duration {
		t.Helper()
		start := time.Now()
		c.SetReadDeadline(start.Add(10 * time.Second))
		for {
			if _, err := r.ReadByte(); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatal("the server kept the connection open for 10s")
				}
				return time.Since(start)
			}
		}
	}

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	start := time.Now()
	io.WriteString(slow, "GET /healthz HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	if closedWithin(slow, bufio.NewReader(slow)); time.Since(start) < 250*time.Millisecond {
		t.Fatalf("closed after %s, before the header timeout", time.Since(start))
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	br := bufio.NewReader(idle)
	io.WriteString(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		t.Fatal("the server did not keep the connection alive")
	}
	start = time.Now()
	if closedWithin(idle, br); time.Since(start) < 250*time.Millisecond {
		t.Fatalf("idle connection closed after %s, before the idle timeout", time.Since(start))
	}
}

// A reload that names a command the bot does not have is refused: the
// known commands are passed to the check, not kept in a global.
func TestReloadRefusesUnknownVerbs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "opsbot.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte("store:\n  dsn: "+filepath.Join(dir, "opsbot.db")+"\n"+s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs strings.Builder
	log, _ := newLogger(cfg, &logs)
	a, err := build(ctx, cfg, st, Options{Stdout: io.Discard}, log, true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	write("rate_limits:\n  verbs:\n    restrat: {count: 1, per: 1h}\n")
	if a.Reload() {
		t.Fatal("a limit on an unknown command was accepted")
	}
	if !strings.Contains(logs.String(), `rate_limits.verbs.restrat: unknown verb`) {
		t.Fatalf("the refusal does not name the key:\n%s", logs.String())
	}
	write("rate_limits:\n  verbs:\n    restart: {count: 1, per: 1h}\n")
	if !a.Reload() || a.Config().RateLimits.Verbs["restart"].Count != 1 {
		t.Fatal("a limit on a known command was refused")
	}
}
