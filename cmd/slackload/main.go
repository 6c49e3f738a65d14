// Command slackload measures how fast the Slack adapter acknowledges signed
// slash commands under steady load, from a process of its own.
//
//	slackload bench [-rate 200] [-duration 10s]   start a server child process, load it, report
//	slackload serve [-addr 127.0.0.1:0] [-plain]  run the adapter with a fast verb (or a plain handler)
//	slackload run -url URL [-rate 200] [-duration 10s]
//
// Every request has its own timestamp and signature (a unique trigger_id),
// so none is refused as a replay. Latency is measured from the moment each
// request was due, so a stalled server cannot hide queueing.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	slackbot "opsbot/bot/slack"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
	"opsbot/store"
)

const defaultSecret = "slackload-bench-signing-secret"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: slackload bench|serve|run [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	case "bench":
		err = bench(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q (want bench, serve or run)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "slackload:", err)
		os.Exit(1)
	}
}

func secret() string {
	if s := os.Getenv("SLACK_SIGNING_SECRET"); s != "" {
		return s
	}
	return defaultSecret
}

// serve runs the real adapter (verification, replay cache, registry with
// audit rows in SQLite) with a fast verb "ping"; -plain serves a fixed
// answer instead, the floor of the HTTP stack for comparison.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	plain := fs.Bool("plain", false, "serve a fixed answer without the adapter (baseline)")
	fs.Parse(args)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var h http.Handler
	if *plain {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"response_type":"in_channel","text":"pong"}`)
		})
	} else {
		dir, err := os.MkdirTemp("", "slackload-")
		if err != nil {
			return fmt.Errorf("serve: temp dir: %w", err)
		}
		defer os.RemoveAll(dir)
		st, err := store.Open(ctx, "sqlite", filepath.Join(dir, "opsbot.db"))
		if err != nil {
			return fmt.Errorf("serve: open store: %w", err)
		}
		defer st.Close()
		if _, err := st.Migrate(ctx); err != nil {
			return fmt.Errorf("serve: migrate: %w", err)
		}
		cfg := config.Default()
		cfg.Secrets.SlackSigningSecret = config.Secret(secret())
		// The load comes from few users; the per-user limit is not under test.
		cfg.RateLimits.Default = config.RateLimit{Count: 1_000_000, Per: time.Minute}
		get := func() *config.Config { return cfg }
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
		reg := commands.NewRegistry(get, st, log)
		reg.MustRegister(&commands.Verb{Name: "ping", Access: policy.Read, Summary: "answers pong", Run: func(context.Context, *commands.Call) (commands.Response, error) {
			return commands.Text("pong"), nil
		}})
		a := slackbot.New(get, reg, log)
		go a.Run(ctx)
		h = a.Handler()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("listening http://%s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

type result struct {
	latency time.Duration
	status  int
	pong    bool
	err     error
}

type report struct {
	sent, ok2xx, pong, errs int
	p50, p90, p99, max      time.Duration
	elapsed                 time.Duration
}

func (r report) String() string {
	share := 0.0
	if r.sent > 0 {
		share = 100 * float64(r.ok2xx) / float64(r.sent)
	}
	return fmt.Sprintf("sent %d in %s (%.0f req/s): 2xx %.2f %% (%d), answered pong %d, errors %d; latency p50 %s p90 %s p99 %s max %s",
		r.sent, r.elapsed.Round(time.Millisecond), float64(r.sent)/r.elapsed.Seconds(), share, r.ok2xx, r.pong, r.errs,
		ms(r.p50), ms(r.p90), ms(r.p99), ms(r.max))
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + "ms"
}

// load sends signed slash commands to target at rate per second for d.
func load(target string, rate int, d time.Duration, text string) (report, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return report{}, fmt.Errorf("bad url %q", target)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 0}}
	sec := secret()
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	results := make([]result, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = send(client, target, sec, i, text, due)
		}()
	}
	wg.Wait()
	rep := report{sent: n, elapsed: time.Since(start)}
	lat := make([]time.Duration, 0, n)
	var firstErr error
	for _, r := range results {
		if r.err != nil {
			rep.errs++
			if firstErr == nil {
				firstErr = r.err
			}
			continue
		}
		if r.status >= 200 && r.status < 300 {
			rep.ok2xx++
		}
		if r.pong {
			rep.pong++
		}
		lat = append(lat, r.latency)
	}
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, "slackload: first error:", firstErr)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	rep.p50, rep.p90, rep.p99 = pct(.50), pct(.90), pct(.99)
	if len(lat) > 0 {
		rep.max = lat[len(lat)-1]
	}
	return rep, nil
}

func send(c *http.Client, target, sec string, i int, text string, due time.Time) result {
	form := url.Values{
		"token": {"unused"}, "team_id": {"T0LOAD"}, "channel_id": {"C0LOAD"}, "channel_name": {"load"},
		"user_id": {fmt.Sprintf("U%04d", i%50)}, "user_name": {"load"}, "command": {"/ops"}, "text": {text},
		"response_url": {"http://127.0.0.1:9/unused"}, "trigger_id": {fmt.Sprintf("%d.%d", i, due.UnixNano())},
	}
	body := form.Encode()
	ts := time.Now().Unix()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", slackbot.Sign(sec, ts, []byte(body)))
	res, err := c.Do(req)
	if err != nil {
		return result{err: err}
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return result{latency: time.Since(due), status: res.StatusCode, pong: strings.Contains(string(b), `"pong"`)}
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	target := fs.String("url", "", "slash command URL (…/slack/commands)")
	rate := fs.Int("rate", 200, "requests per second")
	d := fs.Duration("duration", 10*time.Second, "how long to send")
	text := fs.String("text", "ping", "command text")
	fs.Parse(args)
	rep, err := load(*target, *rate, *d, *text)
	if err != nil {
		return err
	}
	fmt.Println(rep)
	return nil
}

// bench starts `slackload serve` as a child process (plain baseline, then
// the adapter), loads each, and prints both reports.
func bench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	rate := fs.Int("rate", 200, "requests per second")
	d := fs.Duration("duration", 10*time.Second, "how long to send")
	fs.Parse(args)
	for _, mode := range []struct{ name, flag string }{{"baseline (plain net/http handler)", "-plain"}, {"slack adapter (verify + replay cache + registry + SQLite audit)", ""}} {
		rep, err := benchOne(mode.flag, *rate, *d)
		if err != nil {
			return err
		}
		fmt.Printf("%s:\n  %s\n", mode.name, rep)
	}
	return nil
}

func benchOne(flagArg string, rate int, d time.Duration) (report, error) {
	self, err := os.Executable()
	if err != nil {
		return report{}, err
	}
	args := []string{"serve"}
	if flagArg != "" {
		args = append(args, flagArg)
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return report{}, err
	}
	if err := cmd.Start(); err != nil {
		return report{}, fmt.Errorf("start server: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return report{}, fmt.Errorf("server did not start: %w", err)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok {
		return report{}, fmt.Errorf("server said %q", line)
	}
	// A short warm-up so connection set-up is not measured.
	if _, err := load(base+slackbot.CommandsPath, rate, time.Second, "ping"); err != nil {
		return report{}, err
	}
	return load(base+slackbot.CommandsPath, rate, d, "ping")
}
