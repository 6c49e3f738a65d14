package fleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"opsbot/alert"
	"opsbot/app"
	"opsbot/bot/console"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/fleet"
	"opsbot/notifier"
	"opsbot/remediate"
	"opsbot/standin"
	"opsbot/store"
	"opsbot/store/storetest"
	fleetverbs "opsbot/verbs/fleet"
	restartverbs "opsbot/verbs/restart"
	statusverbs "opsbot/verbs/status"
)

var bin string

// TestMain builds the opsbot binary once: the agents are real processes,
// and the stand-ins' restart argv run it as their ctl client.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "standin-ctl" {
		os.Exit(standin.CtlMain(os.Args[2:]))
	}
	dir, err := os.MkdirTemp("", "opsbot-fleet-bin")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "opsbot")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const beat = 300 * time.Millisecond

// agentProc is one `opsbot agent` process with its own host name,
// directory and stand-in.
type agentProc struct {
	name, cfgPath, dsn string
	backend            *standin.Backend
	cmd                *exec.Cmd
	logs               *bytes.Buffer
}

func (p *agentProc) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(bin, "agent", "--config", p.cfgPath)
	cmd.Env = append(os.Environ(), "OPSBOT_STORE_DSN="+p.dsn)
	p.logs = &bytes.Buffer{}
	cmd.Stderr, cmd.Stdout = &lockedWriter{w: p.logs}, &lockedWriter{w: p.logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.cmd = cmd
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			_ = p.cmd.Wait()
		}
	})
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *agentProc) kill(t *testing.T) time.Time {
	t.Helper()
	at := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	return at
}

type rig struct {
	st      *store.Store
	cfg     *config.Config
	agents  []*agentProc
	verbs   map[string]*commands.Verb
	d       *fleet.Dispatcher
	monitor *fleet.Monitor
}

func setup(t *testing.T) *rig {
	t.Helper()
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	st, err := store.Open(ctx, "postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := remediate.MigrateQueue(ctx, st, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	bctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &rig{st: st}
	for i, name := range []string{"web-1", "web-2", "web-3"} {
		dir := filepath.Join(t.TempDir(), name)
		b, err := standin.Start(bctx, filepath.Join(dir, "backend"), standin.Options{Name: "api", Self: bin, RowsPerSecond: -1,
			LogInterval: time.Second, History: time.Minute, HistoryLines: 10, UploadFiles: 1, StartDelay: 300 * time.Millisecond,
			CommandTimeout: 10 * time.Second, HealthDeadline: 3 * time.Second, Seed: uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		allow := "[restart, update]"
		if name == "web-3" {
			allow = "[restart]" // update is not allowed here
		}
		tg := b.Target()
		y := fmt.Sprintf(`http:
  addr: 127.0.0.1:0
store:
  driver: postgres
targets:
  - name: api
    health_url: %q
    workdir: %q
    restart: %s
    update: %s
    command_timeout: 10s
    health_deadline: 3s
agent:
  host: %s
  labels: {zone: z%d}
  heartbeat_interval: %s
  sample_interval: %s
  allow:
    api: %s
`, tg.HealthURL, tg.Workdir, argv(tg.Restart), argv(tg.Update), name, i+1, beat, beat, allow)
		cfgPath := filepath.Join(dir, "opsbot.yaml")
		if err := os.WriteFile(cfgPath, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
		p := &agentProc{name: name, cfgPath: cfgPath, dsn: dsn, backend: b}
		p.start(t)
		r.agents = append(r.agents, p)
	}
	// The bot: fleet on, the same store; no local targets.
	cfg, err := config.LoadEnv("", map[string]string{"OPSBOT_STORE_DRIVER": "postgres", "OPSBOT_STORE_DSN": dsn, "OPSBOT_FLEET_ENABLED": "true"})
	if err != nil {
		t.Fatal(err)
	}
	r.cfg = cfg
	conf := func() *config.Config { return cfg }
	r.d, err = fleet.NewDispatcher(st, conf, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	local := append(statusverbs.Verbs(statusverbs.Deps{Config: conf}), restartverbs.Verbs(restartverbs.Deps{Config: conf})...)
	r.verbs = map[string]*commands.Verb{}
	for _, v := range fleetverbs.Verbs(fleetverbs.Deps{Config: conf, Fleet: r.d, Local: local}) {
		r.verbs[v.Name] = v
	}
	n := notifier.New(st, chat.NewRouter(), conf, slog.New(slog.DiscardHandler))
	r.monitor = &fleet.Monitor{Store: st, Config: conf, Sink: n.Source("fleet"), Log: slog.New(slog.DiscardHandler), Every: 50 * time.Millisecond}
	mctx, mcancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.monitor.Run(mctx) }()
	t.Cleanup(func() { mcancel(); <-done })
	r.waitHosts(t, 3)
	return r
}

func argv(a []string) string {
	b, _ := json.Marshal(a)
	return string(b)
}

func (r *rig) waitHosts(t *testing.T, n int) {
	t.Helper()
	waitFor(t, 30*time.Second, func() bool {
		hs, err := fleet.LoadHosts(context.Background(), r.st)
		if err != nil {
			return false
		}
		up := 0
		for _, h := range hs {
			if !h.Down(time.Now(), 3) && !h.Stopped && len(h.Metrics.Targets) > 0 {
				up++
			}
		}
		return up == n
	}, func() string { return r.logs() })
}

func (r *rig) logs() string {
	var b strings.Builder
	for _, a := range r.agents {
		fmt.Fprintf(&b, "--- %s\n%s\n", a.name, a.logs.String())
	}
	return b.String()
}

func waitFor(t *testing.T, d time.Duration, cond func() bool, why func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s\n%s", d, why())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// run runs a verb as the local operator would, progress lines collected.
func (r *rig) run(t *testing.T, verb string, args []string, flags map[string]string) (commands.Response, []string, error) {
	t.Helper()
	v := r.verbs[verb]
	var mu sync.Mutex
	var progress []string
	c := &commands.Call{Req: &commands.Request{Platform: "console", User: "tester", Local: true, Progress: func(m chat.Message) {
		mu.Lock()
		progress = append(progress, m.Text)
		mu.Unlock()
	}}, Verb: v, Path: verb, Args: args, Flags: flags, Now: time.Now()}
	if flags == nil {
		c.Flags = map[string]string{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if v.Check != nil {
		if err := v.Check(ctx, c); err != nil {
			return commands.Response{}, nil, err
		}
	}
	resp, err := v.Run(ctx, c)
	mu.Lock()
	defer mu.Unlock()
	return resp, progress, err
}

func restarts(a *agentProc) int { return a.backend.State().Restarts }

type jobRow struct {
	State, Queue, AttemptedBy, Metadata string
}

func (r *rig) jobs(t *testing.T, queue string) []jobRow {
	t.Helper()
	rows, err := r.st.DB.Query(`SELECT state, queue, COALESCE(array_to_string(attempted_by, ','), ''), metadata::text FROM river_job WHERE queue = $1 ORDER BY id`, queue)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []jobRow
	for rows.Next() {
		var j jobRow
		if err := rows.Scan(&j.State, &j.Queue, &j.AttemptedBy, &j.Metadata); err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}

func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("three agent processes")
	}
	r := setup(t)
	web1, web2, web3 := r.agents[0], r.agents[1], r.agents[2]

	t.Run("status shows one line per host", func(t *testing.T) {
		resp, _, err := r.run(t, "status", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(resp.Text, "\n")
		// Healthy or degraded (the CPU of a busy test machine), never down.
		if len(lines) != 3 || !strings.HasPrefix(resp.Title, "fleet: 3 hosts") || strings.Contains(resp.Text, " down") {
			t.Fatalf("status: %q\n%s", resp.Title, resp.Text)
		}
		resp, _, err = r.run(t, "status", []string{"web-2"}, nil)
		if err != nil || !strings.Contains(resp.Text, "api@web-2: healthy") || !strings.Contains(resp.Context, "zone=z2") {
			t.Fatalf("drill-in: %v %q %q", err, resp.Text, resp.Context)
		}
	})

	t.Run("restart api@web-2 runs on web-2 only", func(t *testing.T) {
		before := []int{restarts(web1), restarts(web2), restarts(web3)}
		resp, _, err := r.run(t, "restart", []string{"api@web-2"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Severity != chat.SevOK || !strings.Contains(resp.Title, "api@web-2: healthy") {
			t.Fatalf("reply %q %q", resp.Title, resp.Text)
		}
		after := []int{restarts(web1), restarts(web2), restarts(web3)}
		if after[0] != before[0] || after[1] != before[1]+1 || after[2] != before[2] {
			t.Fatalf("restarts before %v after %v", before, after)
		}
		jobs := r.jobs(t, "host_web-2")
		if len(jobs) != 1 || jobs[0].State != "completed" || !strings.HasPrefix(jobs[0].AttemptedBy, "agent-web-2-") {
			t.Fatalf("job rows %+v", jobs)
		}
	})

	t.Run("a bare name with several instances asks which", func(t *testing.T) {
		_, _, err := r.run(t, "restart", []string{"api"}, nil)
		if err == nil || !strings.Contains(err.Error(), "api runs on 3 hosts (web-1, web-2, web-3)") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("an action outside the agent's allowlist is refused and reported", func(t *testing.T) {
		before := web3.backend.State().Updates
		resp, _, err := r.run(t, "update", []string{"api@web-3"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(resp.Title, "refused") || !strings.Contains(resp.Text, "refused by web-3: update is not allowed on api") {
			t.Fatalf("reply %q %q", resp.Title, resp.Text)
		}
		if web3.backend.State().Updates != before {
			t.Fatal("the refused update ran")
		}
	})

	t.Run("rolling keeps two healthy and stops at one that does not come back", func(t *testing.T) {
		// Sample the three health URLs while the rolling restart runs.
		var minHealthy atomic.Int32
		minHealthy.Store(3)
		var samples atomic.Int32
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			cl := &http.Client{Timeout: 200 * time.Millisecond}
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				ok := int32(0)
				for _, a := range r.agents {
					resp, err := cl.Get(a.backend.URL() + "/health")
					if err == nil {
						if resp.StatusCode == 200 {
							ok++
						}
						resp.Body.Close()
					}
				}
				samples.Add(1)
				if ok < minHealthy.Load() {
					minHealthy.Store(ok)
				}
			}
		})
		before := []int{restarts(web1), restarts(web2), restarts(web3)}
		resp, progress, err := r.run(t, "restart", []string{"api"}, map[string]string{"rolling": ""})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Severity != chat.SevOK || !strings.Contains(resp.Title, "all 3 instances healthy") {
			t.Fatalf("rolling: %q\n%s", resp.Title, resp.Text)
		}
		after := []int{restarts(web1), restarts(web2), restarts(web3)}
		for i := range after {
			if after[i] != before[i]+1 {
				t.Fatalf("restarts before %v after %v", before, after)
			}
		}
		if len(progress) < 4 {
			t.Fatalf("progress lines: %q", progress)
		}

		// web-2 now comes back unhealthy: the rolling stops there.
		if err := web2.backend.SetRestart(standin.RestartUnhealthy); err != nil {
			t.Fatal(err)
		}
		before = after
		resp, _, err = r.run(t, "restart", []string{"api"}, map[string]string{"rolling": ""})
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if resp.Severity != chat.SevCritical || !strings.Contains(resp.Title, "stopped at api@web-2") || !strings.Contains(resp.Text, "left untouched: api@web-3") {
			t.Fatalf("rolling with a bad instance: %q\n%s", resp.Title, resp.Text)
		}
		after = []int{restarts(web1), restarts(web2), restarts(web3)}
		if after[0] != before[0]+1 || after[1] != before[1]+1 || after[2] != before[2] {
			t.Fatalf("restarts before %v after %v", before, after)
		}
		// One instance down at a time, at every sample: two of three healthy.
		if got := minHealthy.Load(); got < 2 || samples.Load() < 10 {
			t.Fatalf("fewest healthy at a sample: %d (of %d samples)", got, samples.Load())
		}
		t.Logf("rolling: %d health samples, fewest healthy %d", samples.Load(), minHealthy.Load())
		// Heal web-2 for what follows.
		if err := web2.backend.SetRestart(standin.RestartOK); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.run(t, "restart", []string{"api@web-2"}, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("an agent's alert is remediated on its host and told in the alert's thread", func(t *testing.T) {
		before := []int{restarts(web1), restarts(web2), restarts(web3)}
		jobsBefore := len(r.jobs(t, "host_web-1"))
		cfg := *r.cfg
		cfg.Notifier.GroupWait = 10 * time.Millisecond
		conf := func() *config.Config { return &cfg }
		var out bytes.Buffer
		w := &lockedWriter{w: &out}
		router := chat.NewRouter()
		router.Set("console", console.NewPoster(w))
		log := slog.New(slog.DiscardHandler)
		n := notifier.New(r.st, router, conf, log)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := n.Subscribe(ctx, "console", []string{"health"}, "", "", "test"); err != nil {
			t.Fatal(err)
		}
		rem, err := remediate.New(ctx, remediate.Deps{Store: r.st, Config: conf, Sink: n.Source("remediation"), Outbox: n, Log: log,
			OnHost: app.HostRunner(r.d)})
		if err != nil {
			t.Fatal(err)
		}
		n.SetActions(rem)
		done := make(chan struct{})
		go func() { defer close(done); _ = rem.Run(ctx) }()
		defer func() { cancel(); <-done }()
		// What web-1's agent reports: its api down three checks in a row.
		sink := fleet.HostSink{Sink: n.Source("agent:web-1"), Host: "web-1"}
		if err := sink.Notify(ctx, alert.Alert{Fingerprint: "api_down:api", Kind: "health", Rule: "api_down", Target: "api", Severity: "critical",
			Status: alert.Firing, Summary: "api does not answer", Value: 3}); err != nil {
			t.Fatal(err)
		}
		text := func() string {
			w.mu.Lock()
			defer w.mu.Unlock()
			return out.String()
		}
		waitFor(t, 30*time.Second, func() bool {
			_ = n.Tick(ctx)
			_, _ = n.Drain(ctx)
			return strings.Contains(text(), "restart of api@web-1: ")
		}, func() string { return text() + r.logs() })
		got := text()
		var post, result string
		for _, l := range strings.Split(got, "\n") {
			if strings.Contains(l, "api_down on api") && post == "" {
				post = l
			}
			if strings.Contains(l, "restart of api@web-1: healthy") && strings.Contains(l, "(attempt 1 of") {
				result = l
			}
		}
		if post == "" || !strings.HasPrefix(post, "[#") || !strings.Contains(got, "[web-1] api does not answer") {
			t.Fatalf("alert not posted:\n%s", got)
		}
		id := post[2:strings.Index(post, "]")]
		if !strings.Contains(result, "in #"+id+"]") {
			t.Fatalf("result %q not in the thread of #%s:\n%s", result, id, got)
		}
		after := []int{restarts(web1), restarts(web2), restarts(web3)}
		if after[0] != before[0]+1 || after[1] != before[1] || after[2] != before[2] {
			t.Fatalf("restarts before %v after %v: want web-1 only", before, after)
		}
		jobs := r.jobs(t, "host_web-1")
		if len(jobs) != jobsBefore+1 || jobs[len(jobs)-1].State != "completed" || !strings.HasPrefix(jobs[len(jobs)-1].AttemptedBy, "agent-web-1-") {
			t.Fatalf("web-1's queue: %+v", jobs)
		}
	})

	t.Run("an agent killed mid-run: the job is lost, never re-enqueued; host_down fires and resolves", func(t *testing.T) {
		if err := web3.backend.SetRestart(standin.RestartHang); err != nil {
			t.Fatal(err)
		}
		type out struct {
			resp commands.Response
			err  error
		}
		got := make(chan out, 1)
		go func() {
			resp, _, err := r.run(t, "restart", []string{"api@web-3"}, nil)
			got <- out{resp, err}
		}()
		waitFor(t, 10*time.Second, func() bool {
			for _, j := range r.jobs(t, "host_web-3") {
				if j.State == "running" {
					return true
				}
			}
			return false
		}, func() string { return r.logs() })
		killed := web3.kill(t)
		o := <-got
		if o.err != nil {
			t.Fatal(o.err)
		}
		if !strings.Contains(o.resp.Title, "lost") || !strings.Contains(o.resp.Text, "not tried again") {
			t.Fatalf("reply %q %q", o.resp.Title, o.resp.Text)
		}
		// host_down reached the pipeline's inbox within 3 intervals of
		// the kill (plus the watch's own period).
		var firedAt int64
		waitFor(t, 10*time.Second, func() bool {
			err := r.st.DB.QueryRow(`SELECT observed_at FROM alert_inbox WHERE fingerprint = 'host_down:web-3' AND status = 'firing' ORDER BY id LIMIT 1`).Scan(&firedAt)
			return err == nil
		}, func() string { return "no host_down" })
		if lag := time.UnixMilli(firedAt).Sub(killed); lag > 3*beat+2*r.monitor.Every {
			t.Fatalf("host_down %s after the kill", lag)
		} else {
			t.Logf("host_down %s after kill -9 (heartbeat %s)", lag, beat)
		}
		var payload string
		if err := r.st.DB.QueryRow(`SELECT payload FROM alert_inbox WHERE fingerprint = 'host_down:web-3' AND status = 'firing' ORDER BY id LIMIT 1`).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(payload, `"severity":"critical"`) || !strings.Contains(payload, `"host":"web-3"`) || !strings.Contains(payload, `"zone":"z3"`) {
			t.Fatalf("payload %s", payload)
		}
		// The fleet view puts the down host first.
		resp, _, err := r.run(t, "status", nil, nil)
		if err != nil || !strings.HasPrefix(resp.Text, "🔴 web-3 down — heartbeat") || !strings.Contains(resp.Title, "1 down") {
			t.Fatalf("status: %v %q\n%s", err, resp.Title, resp.Text)
		}
		jobs := r.jobs(t, "host_web-3")
		last := jobs[len(jobs)-1]
		if last.State != "discarded" || !strings.Contains(last.Metadata, "fleet_lost") {
			t.Fatalf("job row %+v", last)
		}

		// The agent comes back: host_down resolves, the lost job stays lost.
		if err := web3.backend.SetRestart(standin.RestartOK); err != nil {
			t.Fatal(err)
		}
		web3.start(t)
		waitFor(t, 20*time.Second, func() bool {
			var n int
			_ = r.st.DB.QueryRow(`SELECT count(*) FROM alert_inbox WHERE fingerprint = 'host_down:web-3' AND status = 'resolved' AND observed_at > $1`, firedAt).Scan(&n)
			return n > 0
		}, func() string { return r.logs() })
		time.Sleep(5 * beat) // time for a re-enqueue, were there one
		again := r.jobs(t, "host_web-3")
		if len(again) != len(jobs) || again[len(again)-1].State != "discarded" {
			t.Fatalf("jobs after the agent's return: %+v", again)
		}
	})
}
