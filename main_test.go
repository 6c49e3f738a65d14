package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"opsbot/bot/discord/discordfake"
	"opsbot/bot/slack/slackfake"
	"opsbot/store"
	"opsbot/store/storetest"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "opsbot-bin")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "opsbot")
	// One build serves every test, and it is the image's build: the
	// Dockerfile's own line (static, trimmed), so the Dockerfile test checks
	// this binary instead of compiling the whole tree a second time.
	line, err := dockerBuildLine(bin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Dockerfile: %v; building plainly\n", err)
		line = "go build -o " + bin + " ."
	}
	out, err := exec.Command("sh", "-c", line).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %s: %v\n%s", line, err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// dockerVersion is the version the tests' binary is built with.
const dockerVersion = "docker-test"

// dockerBuildLine returns the Dockerfile's `go build` command, writing to out.
func dockerBuildLine(out string) (string, error) {
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		return "", err
	}
	var line string
	sc := bufio.NewScanner(strings.NewReader(string(df)))
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "RUN ") && strings.Contains(l, "go build") && strings.Contains(l, "/out/opsbot") {
			line = strings.TrimPrefix(l, "RUN ")
		}
	}
	if line == "" {
		return "", errors.New("no RUN line with go build -o /out/opsbot")
	}
	line = strings.ReplaceAll(line, "/out/opsbot", out)
	return strings.ReplaceAll(line, "${VERSION}", dockerVersion), nil
}

// opsbot runs the built binary in dir with stdin and returns its output.
func opsbot(t *testing.T, dir, stdin string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OPSBOT_") || strings.HasPrefix(kv, "SLACK_") || strings.HasPrefix(kv, "DISCORD_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func TestShellPipedHelpAndAudit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, code := opsbot(t, dir, "/ops help\nfrobnicate\n", nil, "shell")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if !strings.Contains(out, "opsbot commands") || !strings.Contains(out, `unknown command "frobnicate"`) {
		t.Fatalf("output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "opsbot.db")); err != nil {
		t.Fatalf("the default store is SQLite under ./data: %v", err)
	}
}

func TestConfigCheckNamesEveryProblem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, code := opsbot(t, dir, "", nil, "config", "check", "--config", filepath.Join(wd(t), "config", "testdata", "bad.yaml"))
	if code == 0 {
		t.Fatalf("bad config accepted:\n%s", out)
	}
	for _, w := range []string{"http.adr: unknown key", "targets[0].command_timeout: bad value", "targets[1].name: missing", `roles.ops.users[1]`, `roles.ops.verbs[1]: unknown verb "reboot"`} {
		if !strings.Contains(out, w) {
			t.Errorf("config check output lacks %q:\n%s", w, out)
		}
	}
	out, code = opsbot(t, dir, "", nil, "config", "check", "--config", filepath.Join(wd(t), "opsbot.example.yaml"))
	if code != 0 || !strings.Contains(out, "configuration ok: 3 target(s)") || strings.Contains(out, "note:") {
		t.Fatalf("example rejected (%d):\n%s", code, out)
	}
	// Verb names resolve by the policy's one rule; with no admin for chat,
	// config check says so (and still passes).
	cfg := filepath.Join(dir, "roles.yaml")
	os.WriteFile(cfg, []byte("roles:\n  operator: {users: [slack:U1]}\n  ops: {verbs: [restore, flush, \"schedule run\"]}\nconfirm: {two_person: [restore]}\n"), 0o600)
	out, code = opsbot(t, dir, "", nil, "config", "check", "--config", cfg)
	if code != 0 || !strings.Contains(out, "note: no admin is configured for chat: nobody in Slack or Discord may run backup restore, cache flush, restart, update") {
		t.Fatalf("no admin for chat (%d):\n%s", code, out)
	}
	os.WriteFile(cfg, []byte("roles:\n  ops: {verbs: [list, restor]}\n"), 0o600)
	out, code = opsbot(t, dir, "", nil, "config", "check", "--config", cfg)
	if code == 0 || !strings.Contains(out, `roles.ops.verbs[0]: "list" is ambiguous`) || !strings.Contains(out, `roles.ops.verbs[1]: unknown verb "restor"; did you mean "backup restore"?`) {
		t.Fatalf("bad names (%d):\n%s", code, out)
	}
}

func wd(t *testing.T) string {
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestVersionAndMigrate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, code := opsbot(t, dir, "", nil, "version"); code != 0 || !strings.HasPrefix(out, "opsbot ") {
		t.Fatalf("version: %d %q", code, out)
	}
	out, code := opsbot(t, dir, "", nil, "migrate")
	if code != 0 || !regexp.MustCompile(`store sqlite at version \d+ \(\d+ migration\(s\) applied\)`).MatchString(out) {
		t.Fatalf("migrate: %d %q", code, out)
	}
	out, _ = opsbot(t, dir, "", nil, "migrate")
	if !strings.Contains(out, "(0 migration(s) applied)") {
		t.Fatalf("second migrate: %q", out)
	}
}

// serve starts `opsbot serve` on a port the kernel picks (no window for
// another test to take it) and returns its address, read from the log
// line that announces it, the process and a reader of its log.
func serve(t *testing.T, dir string, env []string, args ...string) (string, *exec.Cmd, *lockedBuf) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), append(env, "OPSBOT_HTTP_ADDR=127.0.0.1:0")...)
	logs := &lockedBuf{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("serve did not stop within 10 s of SIGTERM")
		}
	})
	serving := regexp.MustCompile(`msg="opsbot serving" addr=(127\.0\.0\.1:\d+)`)
	var addr string
	waitFor(t, "serve logs its address", func() bool {
		if m := serving.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	return addr, cmd, logs
}

// waitFor polls cond every 20 ms and fails the test naming what it waited
// for when cond does not hold within 30 s (a bound for a loaded machine,
// not a measurement).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 30 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func healthz(t *testing.T, addr string) (int, map[string]any) {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestServeWithUnreachableStoreSaysSoAndKeepsRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr, _, logs := serve(t, dir, []string{"OPSBOT_STORE_DRIVER=postgres", "OPSBOT_STORE_DSN=postgres://nobody:s3cretpw@127.0.0.1:1/none?connect_timeout=1"})
	var body map[string]any
	waitFor(t, "/healthz answers 503 naming the unreachable store", func() bool {
		var code int
		code, body = healthz(t, addr)
		return code == http.StatusServiceUnavailable && strings.Contains(fmt.Sprint(body["checks"]), "unreachable")
	})
	waitFor(t, "the log says the store is unreachable", func() bool { return strings.Contains(logs.String(), "store unreachable") })
	log := logs.String()
	if strings.Contains(log, "goroutine ") || strings.Contains(log, "panic") {
		t.Fatalf("stack trace in log:\n%s", log)
	}
	if strings.Contains(log, "s3cretpw") || strings.Contains(fmt.Sprint(body), "s3cretpw") {
		t.Fatalf("password leaked:\n%s\n%v", log, body)
	}
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		if strings.Contains(l, "store unreachable") && strings.Count(l, "\n") > 0 {
			t.Fatalf("not one line: %q", l)
		}
	}
}

func TestServeHealthMetricsAndReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "opsbot.yaml")
	good := "notifier:\n  repeat: 2h\nrate_limits:\n  verbs:\n    restrat: {count: 1, per: 1h}\n"
	os.WriteFile(cfgPath, []byte(good), 0o600)
	addr, cmd, logs := serve(t, dir, []string{"OPSBOT_SCHEDULES_HEALTH_SPEC=@every 1s"}, "--config", cfgPath)
	waitFor(t, "/healthz answers 200", func() bool { code, _ := healthz(t, addr); return code == http.StatusOK })
	metrics := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// A verb name the loader could only check by shape is named at start.
	waitFor(t, "the log names the unknown verb restrat", func() bool {
		return strings.Contains(logs.String(), `rate_limits.verbs.restrat: unknown verb \"restrat\"`)
	})
	if m := metrics(); !strings.Contains(m, "opsbot_build_info{") {
		t.Fatalf("metrics lack build info:\n%.500s", m)
	}
	// The watcher's watcher: each job's last success is exported.
	waitFor(t, "/metrics exports the health job's last success", func() bool {
		m := metrics()
		return strings.Contains(m, `opsbot_job_last_success_timestamp_seconds{job="health"}`) && strings.Contains(m, `opsbot_job_runs_total{job="health",result="ok"}`)
	})
	// A broken file is refused and the old configuration kept.
	os.WriteFile(cfgPath, []byte("notifier:\n  repeat: often\n  typo: 1\n"), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the log says the reload was refused", func() bool { return strings.Contains(logs.String(), "reload refused") })
	l := logs.String()
	if !strings.Contains(l, "notifier.repeat") || !strings.Contains(l, "notifier.typo: unknown key") {
		t.Fatalf("reload problems not logged:\n%s", l)
	}
	if code, _ := healthz(t, addr); code != http.StatusOK {
		t.Fatal("bot unhealthy after a refused reload")
	}
	os.WriteFile(cfgPath, []byte("notifier:\n  repeat: 3h\nleader:\n  ttl: 45s\n"), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the log says the configuration was reloaded", func() bool { return strings.Contains(logs.String(), "configuration reloaded") })
	// What a running bot cannot take over is named, not silently ignored.
	waitFor(t, "the log names leader.ttl as taking effect at the next start", func() bool { return strings.Contains(logs.String(), `take effect at the next start" keys=leader.ttl`) })
	// healthcheck subcommand agrees.
	if out, code := opsbot(t, dir, "", []string{"OPSBOT_HTTP_ADDR=" + addr}, "healthcheck"); code != 0 {
		t.Fatalf("healthcheck %d: %s", code, out)
	}
}

func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	t.Parallel()
	df, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dockerBuildLine(bin); err != nil || !strings.Contains(string(df), `HEALTHCHECK`) || !strings.Contains(string(df), "USER ") || !strings.Contains(string(df), "VOLUME") {
		t.Fatalf("Dockerfile lacks the build line (%v), HEALTHCHECK, USER or VOLUME", err)
	}
	// The volume's folder must belong to the user the image runs as, or the
	// store cannot be created on a fresh volume.
	user := regexp.MustCompile(`(?m)^USER (\S+)`).FindStringSubmatch(string(df))
	vol := regexp.MustCompile(`(?m)^VOLUME \["([^"]+)"\]`).FindStringSubmatch(string(df))
	if user == nil || vol == nil || !regexp.MustCompile(`(?m)^COPY [^\n]*--chown=`+regexp.QuoteMeta(user[1])+` [^\n]* `+regexp.QuoteMeta(vol[1])+`$`).MatchString(string(df)) {
		t.Fatal("the volume's folder is not created owned by the image's user")
	}
	// TestMain built bin with the Dockerfile's line.
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("binary is dynamic: program header %v", p.Type)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Fatal("binary has a .dynamic section")
	}
	v, err := exec.Command(bin, "version").Output()
	if err != nil || strings.TrimSpace(string(v)) != "opsbot "+dockerVersion {
		t.Fatalf("version: %q %v", v, err)
	}
}

var lockMu sync.Mutex

type lockedBuf struct {
	b strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	lockMu.Lock()
	defer lockMu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	lockMu.Lock()
	defer lockMu.Unlock()
	return l.b.String()
}

// Two opsbot replicas share one PostgreSQL (lease TTL 2 s, the health job
// due every second); exactly one runs jobs. The leader is paused (SIGSTOP):
// the other takes over once the paused one's lease has expired by the
// database's clock. Resumed (SIGCONT), the old leader says it lost the lease
// and runs no job after its pause. Then the new leader is killed and the
// first takes over again. Each takeover is measured from the lease's expiry
// in the store, not from the signal, and no due time runs twice.
func TestTwoReplicasOnPostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	const ttl = 2 * time.Second
	env := []string{"OPSBOT_STORE_DRIVER=postgres", "OPSBOT_STORE_DSN=" + dsn, "OPSBOT_LEADER_TTL=" + ttl.String(),
		"OPSBOT_SCHEDULES_HEALTH_SPEC=@every 1s", "OPSBOT_LOG_LEVEL=debug"}
	_, a, logA := serve(t, t.TempDir(), env, "--demo")
	st, err := store.Open(context.Background(), "postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs := func() []store.JobRun {
		// An error until the first replica has migrated the schema.
		rs, _ := st.JobRuns(context.Background(), "health")
		return rs
	}
	holders := func() map[string]int {
		m := map[string]int{}
		for _, r := range runs() {
			m[r.Holder]++
		}
		return m
	}
	// A replica's holder name ends in its pid.
	holderOf := func(cmd *exec.Cmd) string {
		for h := range holders() {
			if strings.HasSuffix(h, "-"+strconv.Itoa(cmd.Process.Pid)) {
				return h
			}
		}
		return ""
	}
	waitFor(t, "replica a runs a health job", func() bool { return holderOf(a) != "" })
	ha := holderOf(a)
	_, b, logB := serve(t, t.TempDir(), env, "--demo")
	waitFor(t, "replica b logs that it follows a", func() bool { return strings.Contains(logB.String(), `msg=following leader=`+ha) })
	// The follower stays idle while the leader goes on: two more of a's runs.
	n := holders()[ha]
	waitFor(t, "replica a runs two more health jobs", func() bool { return holders()[ha] >= n+2 })
	if h := holders(); len(h) != 1 {
		t.Fatalf("both replicas ran jobs: %v", h)
	}

	// takeover waits until holder's lease passes to another replica and that
	// one has run a job; it returns the old lease's last expiry (by the
	// database's clock) and the new leader's first run.
	takeover := func(holder string) (time.Time, store.JobRun) {
		t.Helper()
		var before int64 // runs up to this id were claimed before the takeover began
		for _, r := range runs() {
			before = max(before, r.ID)
		}
		var last int64
		waitFor(t, "the leader lease passes from the old holder", func() bool {
			var row struct {
				Holder  string `db:"holder"`
				Expires int64  `db:"expires_at"`
			}
			if err := st.Get(context.Background(), &row, `SELECT holder, expires_at FROM locks WHERE name = 'leader'`); err != nil {
				return false
			}
			if row.Holder == holder {
				last = max(last, row.Expires)
				return false
			}
			return true
		})
		exp := time.UnixMilli(last)
		var first store.JobRun
		waitFor(t, "the new leader runs a job", func() bool {
			for _, r := range runs() {
				if r.ID > before && r.Holder != holder {
					first = r
					return true
				}
			}
			return false
		})
		for _, r := range runs() {
			// The database counts whole milliseconds: 2 ms of rounding.
			if r.ID > before && r.Holder != holder && r.StartedAt.Before(exp.Add(-2*time.Millisecond)) {
				t.Fatalf("%s ran a job at %s, before %s's lease expired at %s", r.Holder, r.StartedAt.Format("15:04:05.000"), holder, exp.Format("15:04:05.000"))
			}
		}
		// How soon is the scheduler package's to prove, on its own events
		// (TestLeaderCutOffFromTheStoreStopsBeforeTheLeaseCanBeTaken: the
		// follower's first attempt after the expiry wins); here it is a
		// figure, not a window a loaded machine could miss.
		t.Logf("%s ran its first job %s after %s's lease expired (TTL %s)", first.Holder, first.StartedAt.Sub(exp).Round(time.Millisecond), holder, ttl)
		return exp, first
	}

	// Pause the leader 50 ms before a due time (the job is due on every
	// whole second): resumed, its scheduler wakes before or with its
	// elector, the race the lease check before each job settles.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(950 * time.Millisecond)))
	a.Process.Signal(syscall.SIGSTOP)
	paused := time.Now()
	_, first := takeover(ha)
	hb := first.Holder
	if hb != holderOf(b) {
		t.Fatalf("the job after the takeover ran as %q, not as replica b", hb)
	}
	a.Process.Signal(syscall.SIGCONT)
	waitFor(t, "the resumed replica logs that it lost the lease", func() bool { return strings.Contains(logA.String(), "leader lease lost") })
	// Time for the resumed replica to misbehave: two more of b's runs, then
	// a's log says it follows b.
	n = holders()[hb]
	waitFor(t, "replica b runs two more health jobs", func() bool { return holders()[hb] >= n+2 })
	waitFor(t, "the resumed replica logs that it follows b", func() bool { return strings.Contains(logA.String(), `msg=following leader=`+hb) })
	for _, r := range runs() {
		if r.Holder == ha && !r.StartedAt.Before(paused) {
			t.Fatalf("the paused leader ran a job at %s after its pause at %s:\n%s", r.StartedAt.Format("15:04:05.000"), paused.Format("15:04:05.000"), logA.String())
		}
	}
	if l := logA.String(); strings.Count(l, "msg=leading") != 1 {
		t.Fatalf("the resumed replica led again while b led:\n%s", l)
	}

	b.Process.Signal(syscall.SIGKILL)
	b.Wait()
	if _, first := takeover(hb); first.Holder != ha {
		t.Fatalf("after b was killed the job ran as %q, not as replica a", first.Holder)
	}
	seen := map[int64]bool{}
	for _, r := range runs() {
		if seen[r.DueAt.UnixMilli()] {
			t.Fatalf("due time %s ran twice", r.DueAt)
		}
		seen[r.DueAt.UnixMilli()] = true
	}
}

// SIGTERM ends the shell within the shutdown bound even while it waits for
// input from a pipe that stays open.
func TestShellStopsOnSIGTERMWhileWaitingForInput(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(bin, "shell")
	cmd.Dir = t.TempDir()
	cmd.Env = cleanEnv()
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out := &lockedBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, "/ops help\n")
	waitFor(t, "the shell prints help", func() bool { return strings.Contains(out.String(), "opsbot commands") })
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shell ended with %v:\n%s", err, out.String())
		}
	case <-time.After(8 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("shell still running 8 s after SIGTERM:\n%s", out.String())
	}
}

// Piped commands only run the commands: a one-shot pipe starts no
// scheduled work (here a health job overdue for catch-up) it would cut short.
func TestPipedShellRunsNoJobs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, code := opsbot(t, dir, "", nil, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", out)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite", filepath.Join(dir, "data", "opsbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	old := time.Now().Add(-24 * time.Hour)
	id, _, err := st.ClaimJobRun(ctx, "health", old, old, "earlier")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.FinishJobRun(ctx, id, "health", "ok", "", old); err != nil {
		t.Fatal(err)
	}
	out, code := opsbot(t, dir, "status\nschedule\n", nil, "shell")
	if code != 0 || !strings.Contains(out, "Scheduled jobs") {
		t.Fatalf("shell %d:\n%s", code, out)
	}
	runs, err := st.JobRuns(ctx, "health")
	if err != nil || len(runs) != 1 {
		t.Fatalf("a piped shell ran jobs: %+v %v", runs, err)
	}
}

// The whole binary against a local Slack: a signed `/ops status` from a
// channel is acknowledged at once and the real status of the demo target
// arrives at the response_url; the same request replayed is refused.
func TestSlackStatusEndToEnd(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	defer fake.Close()
	fake.SetTokens("xoxb-e2e-token", "")
	const secret = "e2e-signing-secret"
	addr, _, _ := serve(t, t.TempDir(), []string{"SLACK_BOT_TOKEN=xoxb-e2e-token", "SLACK_SIGNING_SECRET=" + secret,
		"OPSBOT_SLACK_API_URL=" + fake.APIURL()}, "--demo")
	waitFor(t, "/healthz answers 200", func() bool { code, _ := healthz(t, addr); return code == http.StatusOK })
	body := url.Values{"command": {"/ops"}, "text": {"status"}, "user_id": {"U1"}, "user_name": {"alice"}, "channel_id": {"C1"},
		"team_id": {"T1"}, "response_url": {fake.ResponseURL("r1")}, "trigger_id": {"1.2.3"}}.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":" + body))
	sig := "v0=" + hex.EncodeToString(mac.Sum(nil))
	post := func() (*http.Response, time.Duration) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/slack/commands", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp, time.Since(start)
	}
	resp, took := post()
	if resp.StatusCode != http.StatusOK || took > 3*time.Second {
		t.Fatalf("ack %d after %s", resp.StatusCode, took)
	}
	t.Logf("acknowledged in %s", took.Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fake.Await(ctx, func() bool {
		for _, r := range fake.Responses("r1") {
			if strings.Contains(string(r), "Status:") && strings.Contains(string(r), "demo") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("no status at the response_url: %v; got %d response(s)", err, len(fake.Responses("r1")))
	}
	if resp, _ := post(); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replay answered %d", resp.StatusCode)
	}
}

// The whole binary against a local Discord: a signed `/ops status`
// interaction gets a deferred answer (type 5) at once, then the real status
// arrives as an edit of @original; a forged one is refused.
func TestDiscordStatusEndToEnd(t *testing.T) {
	t.Parallel()
	fake := discordfake.New()
	defer fake.Close()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, _, _ := serve(t, t.TempDir(), []string{"DISCORD_BOT_TOKEN=" + fake.Token, "DISCORD_APP_ID=" + fake.AppID,
		"DISCORD_PUBLIC_KEY=" + hex.EncodeToString(pub), "OPSBOT_DISCORD_API_URL=" + fake.URL()}, "--demo")
	waitFor(t, "/healthz answers 200", func() bool { code, _ := healthz(t, addr); return code == http.StatusOK })
	// Commands are registered at start from the verbs.
	waitFor(t, "the /ops command is registered with Discord", func() bool { return len(fake.Commands("")) == 1 })
	in := fake.NewCommand(discordfake.User{ID: "500000000000000001", Name: "alice"}, "600000000000000001", discordfake.Sub("status"))
	ctx := context.Background()
	start := time.Now()
	code, body, err := fake.Deliver(ctx, nil, "http://"+addr+"/discord/interactions", priv, time.Now(), in)
	if err != nil || code != http.StatusOK || !strings.Contains(string(body), `"type":5`) {
		t.Fatalf("answer %d %s %v", code, body, err)
	}
	t.Logf("deferred answer in %s", time.Since(start).Round(time.Millisecond))
	waitFor(t, "the status arrives as an edit of @original", func() bool {
		got, _ := fake.Interaction(in.Token)
		return got.Original != nil && strings.Contains(got.Original.Text(), "Status:")
	})
	if got, _ := fake.Interaction(in.Token); got.EarlyEdits != 0 {
		t.Fatalf("%d edits of @original before the initial response", got.EarlyEdits)
	}
	_, other, _ := ed25519.GenerateKey(nil)
	forged := fake.NewCommand(discordfake.User{ID: "500000000000000001", Name: "alice"}, "600000000000000001", discordfake.Sub("status"))
	if code, _, _ := fake.Deliver(ctx, nil, "http://"+addr+"/discord/interactions", other, time.Now(), forged); code != http.StatusUnauthorized {
		t.Fatalf("forged interaction answered %d", code)
	}
}

// An Alertmanager alert through the whole binary reaches the Slack channel
// subscribed to external alerts, and its resolution edits that message and
// replies in its thread.
func TestAlertmanagerToSlackEndToEnd(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	defer fake.Close()
	fake.SetTokens("xoxb-e2e-token", "")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "opsbot.yaml")
	os.WriteFile(cfgPath, []byte("channels:\n  subscriptions:\n    - {channel: \"slack:C0ALERTS\", kinds: [external], min_severity: warning}\nnotifier:\n  group_wait: 0s\n"), 0o600)
	addr, _, _ := serve(t, dir, []string{"SLACK_BOT_TOKEN=xoxb-e2e-token", "SLACK_SIGNING_SECRET=s", "OPSBOT_ALERTMANAGER_TOKEN=am-token",
		"OPSBOT_SLACK_API_URL=" + fake.APIURL()}, "--config", cfgPath)
	waitFor(t, "/healthz answers 200", func() bool { code, _ := healthz(t, addr); return code == http.StatusOK })
	send := func(status, token string) int {
		payload := fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"BackendDown\"}","truncatedAlerts":0,"status":%q,"receiver":"opsbot",
			"groupLabels":{"alertname":"BackendDown"},"commonLabels":{"alertname":"BackendDown","severity":"critical"},"commonAnnotations":{},
			"externalURL":"http://am","alerts":[{"status":%q,"labels":{"alertname":"BackendDown","severity":"critical","instance":"api-1"},
			"annotations":{"summary":"up == 0 for 5m"},"startsAt":"2026-11-25T10:00:00Z","endsAt":"2026-11-25T10:07:00Z","generatorURL":"http://prom","fingerprint":"c0ffee"}]}`, status, status)
		req, _ := http.NewRequest("POST", "http://"+addr+"/webhooks/alertmanager", strings.NewReader(payload))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send("firing", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong token answered %d", code)
	}
	if code := send("firing", "am-token"); code != http.StatusOK {
		t.Fatalf("firing answered %d", code)
	}
	var first slackfake.Message
	waitFor(t, "the firing alert reaches C0ALERTS", func() bool {
		for _, m := range fake.Messages() {
			if m.Channel == "C0ALERTS" && m.ThreadTS == "" && strings.Contains(string(m.Blocks)+m.Text, "BackendDown") {
				first = m
				return true
			}
		}
		return false
	})
	if code := send("resolved", "am-token"); code != http.StatusOK {
		t.Fatalf("resolved answered %d", code)
	}
	waitFor(t, "the resolve edits the message and replies in its thread", func() bool {
		edited, replied := false, false
		for _, m := range fake.Messages() {
			if m.TS == first.TS && m.Edits > 0 {
				edited = true
			}
			if m.ThreadTS == first.TS {
				replied = true
			}
		}
		return edited && replied
	})
}

// A refused chat token does not stop the bot: it serves, says so once in
// its log, and /healthz reports it degraded (still 200, so Docker does not
// restart a bot that only lost its chat).
func TestRefusedSlackTokenIsDegradedNotFatal(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	defer fake.Close()
	fake.SetTokens("xoxb-the-real-one", "")
	addr, _, logs := serve(t, t.TempDir(), []string{"SLACK_BOT_TOKEN=xoxb-revoked-token-123", "SLACK_SIGNING_SECRET=s",
		"OPSBOT_SLACK_API_URL=" + fake.APIURL()}, "--demo")
	var body map[string]any
	waitFor(t, "/healthz answers 200 degraded", func() bool {
		var code int
		code, body = healthz(t, addr)
		return code == http.StatusOK && body["status"] == "degraded"
	})
	if !strings.Contains(fmt.Sprint(body["checks"]), "slack:degraded") {
		t.Fatalf("healthz %v", body)
	}
	if strings.Contains(logs.String(), "xoxb-revoked-token-123") {
		t.Fatal("the token reached the log")
	}
}
