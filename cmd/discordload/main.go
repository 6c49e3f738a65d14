// Command discordload measures how fast opsbot acknowledges Discord
// interactions: it sends signed /ops interactions at a fixed rate, each
// with its own timestamp and Ed25519 signature, and reports p50, p99 and
// the share of 2xx answers.
//
// Without -url it starts a second process of itself (-serve) running the
// Discord interactions endpoint with a real command registry on SQLite,
// and loads that. With -url it loads a running opsbot whose
// DISCORD_PUBLIC_KEY is the key printed by -print-key.
//
//	discordload -rate 200 -duration 10s
//	discordload -rate 200 -duration 10s -autocomplete
//	discordload -print-key
//	discordload -url http://127.0.0.1:8080/discord/interactions
package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"opsbot/bot/discord"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
	"opsbot/store"
)

func main() { os.Exit(run()) }

func run() int {
	var (
		target   = flag.String("url", "", "interactions endpoint to load (default: start a server process of our own)")
		rate     = flag.Int("rate", 200, "requests per second")
		duration = flag.Duration("duration", 10*time.Second, "how long to send")
		seedText = flag.String("seed", "opsbot-discordload", "text the Ed25519 key pair is derived from")
		verb     = flag.String("verb", "help", "the /ops subcommand to send (a fast verb is answered inline)")
		p99      = flag.Duration("p99-target", 50*time.Millisecond, "p99 the run is judged against")
		printKey = flag.Bool("print-key", false, "print the public key (hex) for DISCORD_PUBLIC_KEY and exit")
		serve    = flag.Bool("serve", false, "run the endpoint (the second process) and print its URL")
		complete = flag.Bool("autocomplete", false, "send autocomplete keystrokes (an incident id among 1,000) instead of commands")
	)
	flag.Parse()
	priv := keyFrom(*seedText)
	pubHex := hex.EncodeToString(priv.Public().(ed25519.PublicKey))
	switch {
	case *printKey:
		fmt.Println(pubHex)
		return 0
	case *serve:
		if err := serveEndpoint(pubHex); err != nil {
			fmt.Fprintln(os.Stderr, "discordload serve:", err)
			return 1
		}
		return 0
	}
	if *rate <= 0 || *duration <= 0 {
		fmt.Fprintln(os.Stderr, "discordload: -rate and -duration must be positive")
		return 2
	}
	url := *target
	if url == "" {
		child, u, err := startServer(*seedText)
		if err != nil {
			fmt.Fprintln(os.Stderr, "discordload:", err)
			return 1
		}
		defer stopServer(child)
		url = u
	}
	name := *verb
	if *complete {
		name = autocompleteVerb
	}
	res, err := load(url, priv, name, *rate, *duration)
	if err != nil {
		fmt.Fprintln(os.Stderr, "discordload:", err)
		return 1
	}
	res.print(os.Stdout, *rate, *duration, *p99)
	if res.ok != res.n {
		return 1
	}
	return 0
}

func keyFrom(text string) ed25519.PrivateKey {
	sum := sha256.Sum256([]byte(text))
	return ed25519.NewKeyFromSeed(sum[:])
}

// startServer runs this binary again with -serve and reads the URL it prints.
func startServer(seed string) (*server, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", fmt.Errorf("find own binary: %w", err)
	}
	cmd := exec.Command(self, "-serve", "-seed", seed)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", fmt.Errorf("start server process: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", fmt.Errorf("start server process: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start server process: %w", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "LISTEN ") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", fmt.Errorf("server process did not start: %q %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	// stdin stays open while we run: its end (our exit, however it comes)
	// tells the child to stop.
	return &server{cmd: cmd, stdin: stdin}, strings.TrimSpace(strings.TrimPrefix(line, "LISTEN ")), nil
}

type server struct {
	cmd   *exec.Cmd
	stdin io.Closer
}

func stopServer(s *server) {
	cmd := s.cmd
	_ = s.stdin.Close()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// serveEndpoint is the second process: the interactions endpoint with a
// real registry and audit on SQLite in a temporary directory.
func serveEndpoint(pubHex string) error {
	dir, err := os.MkdirTemp("", "discordload-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := config.Default()
	cfg.Store.DSN = config.Secret(filepath.Join(dir, "opsbot.db"))
	cfg.Secrets.DiscordPublicKey = config.Secret(pubHex)
	// Each request comes from its own user: the per-user rate limit is not
	// what is measured.
	cfg.RateLimits.Default = config.RateLimit{Count: 1_000_000, Per: time.Minute}
	st, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN.Reveal())
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := commands.NewRegistry(func() *config.Config { return cfg }, st, log)
	// incident show <id>, its id completed from 1,000 candidates (-autocomplete).
	reg.MustRegister(&commands.Verb{Name: "incident", Summary: "incidents", Subs: []*commands.Verb{{Name: "show", Access: policy.Read, Summary: "show an incident",
		Params: []commands.Param{{Name: "id", Required: true, Kind: "int"}},
		Run: func(_ context.Context, c *commands.Call) (commands.Response, error) {
			return commands.Text("incident %s", c.Arg(0)), nil
		}}}})
	ids := make([]discord.Choice, 1000)
	for i := range ids {
		ids[i] = discord.Choice{Value: strconv.Itoa(1000 - i), Label: fmt.Sprintf("#%d incident", 1000-i)}
	}
	a := discord.New(func() *config.Config { return cfg }, reg, log,
		discord.WithCompletion(discord.CompleteIncident, func(context.Context) ([]discord.Choice, error) { return ids, nil }))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("LISTEN http://%s/discord/interactions\n", ln.Addr())
	// The parent closes our stdin when it exits, whatever the way.
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

type result struct {
	n, ok  int
	inline int // answers that carry the verb's reply (type 4)
	lat    []time.Duration
	codes  map[int]int
	errs   map[string]int
	late   int
	wall   time.Duration
	sample string
}

// load sends rate requests per second for d, open loop: a slow answer
// does not slow the sender down, and latency counts from when each request
// was due.
func load(url string, priv ed25519.PrivateKey, verb string, rate int, d time.Duration) (*result, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute, DisableCompression: true,
	}}
	n := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	res := &result{n: n, codes: map[int]int{}, errs: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		} else if wait < -interval {
			res.late++
		}
		body := interaction(i, verb)
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, lat, sample, err := send(client, url, priv, body, at)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.errs[err.Error()]++
				return
			}
			res.codes[code]++
			res.lat = append(res.lat, lat)
			if code/100 == 2 {
				res.ok++
				if strings.HasPrefix(sample, `{"type":4,`) || strings.HasPrefix(sample, `{"type":8,`) {
					res.inline++
				}
				if res.sample == "" {
					res.sample = sample
				}
			}
		}()
	}
	wg.Wait()
	res.wall = time.Since(start)
	if len(res.lat) == 0 {
		return nil, errors.New("no answers at all")
	}
	return res, nil
}

// autocompleteVerb stands for keystrokes in /ops incident show id:.
const autocompleteVerb = "incident-show-id"

// interaction is an /ops application command from user i, or with
// autocompleteVerb an autocomplete keystroke (the first digits of an id).
func interaction(i int, verb string) []byte {
	if verb == autocompleteVerb {
		b, _ := json.Marshal(map[string]any{
			"id": strconv.Itoa(1_300_000_000_000_000_000 + i), "application_id": "100000000000000001", "type": 4, "version": 1,
			"token":      fmt.Sprintf("load-token-%d", i),
			"channel_id": "600000000000000001", "guild_id": "300000000000000001",
			"member": map[string]any{"roles": []string{}, "user": map[string]any{"id": strconv.Itoa(900_000_000_000_000_000 + i), "username": "load"}},
			"data": map[string]any{"id": "400000000000000001", "name": "ops", "type": 1, "options": []any{map[string]any{"name": "incident", "type": 2,
				"options": []any{map[string]any{"name": "show", "type": 1, "options": []any{
					map[string]any{"name": "id", "type": 4, "value": strconv.Itoa(1 + i%99), "focused": true}}}}}}},
		})
		return b
	}
	b, _ := json.Marshal(map[string]any{
		"id": strconv.Itoa(1_300_000_000_000_000_000 + i), "application_id": "100000000000000001", "type": 2, "version": 1,
		"token":      fmt.Sprintf("load-token-%d", i),
		"channel_id": "600000000000000001", "guild_id": "300000000000000001",
		"member": map[string]any{"roles": []string{}, "user": map[string]any{"id": strconv.Itoa(900_000_000_000_000_000 + i), "username": "load"}},
		"data":   map[string]any{"id": "400000000000000001", "name": "ops", "type": 1, "options": []any{map[string]any{"name": verb, "type": 1}}},
	})
	return b
}

// send posts one signed interaction; latency counts from when it was due,
// so a sender or server that falls behind cannot hide the queueing.
func send(client *http.Client, url string, priv ed25519.PrivateKey, body []byte, due time.Time) (int, time.Duration, string, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := hex.EncodeToString(ed25519.Sign(priv, append([]byte(ts), body...)))
	req, err := http.NewRequest("POST", url, strings.NewReader(string(body)))
	if err != nil {
		return 0, 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature-Ed25519", sig)
	req.Header.Set("X-Signature-Timestamp", ts)
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	lat := time.Since(due)
	if err != nil {
		return 0, 0, "", err
	}
	return resp.StatusCode, lat, string(b), nil
}

func (r *result) print(w io.Writer, rate int, d, target time.Duration) {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	q := func(p float64) time.Duration { return r.lat[int(p*float64(len(r.lat)-1))] }
	share := 100 * float64(r.ok) / float64(r.n)
	fmt.Fprintf(w, "discordload: %d signed interactions at %d/s for %s (sent over %s, %d late)\n", r.n, rate, d, r.wall.Round(time.Millisecond), r.late)
	fmt.Fprintf(w, "  2xx: %d/%d = %.2f %% (%d answered inline)\n", r.ok, r.n, share, r.inline)
	fmt.Fprintf(w, "  latency: p50 %s  p90 %s  p99 %s  max %s\n", ms(q(0.50)), ms(q(0.90)), ms(q(0.99)), ms(r.lat[len(r.lat)-1]))
	var codes []string
	for c, n := range r.codes {
		codes = append(codes, fmt.Sprintf("%d×%d", n, c))
	}
	sort.Strings(codes)
	fmt.Fprintf(w, "  status codes: %s\n", strings.Join(codes, " "))
	for e, n := range r.errs {
		fmt.Fprintf(w, "  error ×%d: %s\n", n, e)
	}
	verdict := "PASS"
	if q(0.99) >= target || r.ok != r.n {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "  target: p99 < %s and 100 %% 2xx: %s\n", ms(target), verdict)
	if len(r.sample) > 120 {
		r.sample = r.sample[:120] + "…"
	}
	fmt.Fprintf(w, "  sample answer: %s\n", r.sample)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
