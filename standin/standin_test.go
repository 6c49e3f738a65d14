package standin

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/ops"
	"opsbot/ops/logs"
)

// TestMain lets the test binary act as the ctl client when the target's
// argv run it: [test-binary standin-ctl <url> <action>].
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "standin-ctl" {
		os.Exit(CtlMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func start(t *testing.T, o Options) *Backend {
	t.Helper()
	if o.LogInterval == 0 {
		o.LogInterval = 20 * time.Millisecond
	}
	if o.RowsPerSecond == 0 {
		o.RowsPerSecond = 200
	}
	if o.StartDelay == 0 {
		o.StartDelay = 50 * time.Millisecond
	}
	if o.HistoryLines == 0 {
		o.HistoryLines = 200
	}
	b, err := Start(context.Background(), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// waitFor polls cond until it holds or 10 s pass (progress of real
// background writers, not a guess at their timing).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countRows(t *testing.T, path string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var total int64
	for _, table := range []string{"users", "sessions", "messages", "uploads"} {
		var n int64
		if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return st.Size()
}

func TestLayoutAndLiveWriting(t *testing.T) {
	b := start(t, Options{})
	tg := b.Target()
	for _, p := range []string{".env", "nginx/nginx.conf", "monitoring/prometheus.yml", "temp", "uploads", "logs/app.log.1", "logs/access.log.2.gz"} {
		if _, err := os.Stat(filepath.Join(b.Dir(), p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	ups, _ := filepath.Glob(filepath.Join(tg.UploadsDir, "*", "*"))
	if len(ups) != 24 {
		t.Errorf("uploads = %d files, want 24", len(ups))
	}
	// The database is in WAL mode and keeps growing.
	waitFor(t, "rows", func() bool { return b.Rows() > 5 })
	var mode string
	db, err := sql.Open("sqlite", "file:"+tg.Database.Path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	db.Close()
	n1 := countRows(t, tg.Database.Path)
	waitFor(t, "more rows", func() bool { return countRows(t, tg.Database.Path) > n1 })
	// Every log grows.
	for name, lf := range tg.Logs {
		s := fileSize(lf.Path)
		if name == "error" || name == "security" {
			continue // rare lines by design
		}
		waitFor(t, name+" log growth", func() bool { return fileSize(lf.Path) > s })
	}
}

// Every line of every log parses with the format the target declares.
func TestLogsParseInDeclaredFormats(t *testing.T) {
	b := start(t, Options{})
	if err := b.Burst(BurstLogins, 3, "198.51.100.99"); err != nil {
		t.Fatal(err)
	}
	if err := b.Burst(BurstErrors, 2, ""); err != nil {
		t.Fatal(err)
	}
	for name, lf := range b.Target().Logs {
		f, err := logs.FormatFor(lf)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(lf.Path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		lines, levels := 0, map[string]int{}
		var last time.Time
		for sc.Scan() {
			line := sc.Bytes()
			tm, ok := f.Time(line)
			if !ok {
				t.Fatalf("%s: unparsed time in %q", name, line)
			}
			if tm.Before(last) {
				t.Fatalf("%s: out of order at %q", name, line)
			}
			last = tm
			levels[f.Level(line)]++
			if lf.Format == "nginx_timed" {
				nf, ok := logs.ParseNginx(line)
				if !ok || !nf.HasRequestTime {
					t.Fatalf("%s: not nginx_timed: %q", name, line)
				}
			}
			lines++
		}
		if lines < 2 {
			t.Fatalf("%s: only %d lines", name, lines)
		}
		if name == "app" && (levels["INFO"] == 0 || levels["ERROR"] == 0) {
			t.Errorf("app levels = %v", levels)
		}
		if (name == "app" || name == "access") && time.Since(last) > time.Minute {
			t.Errorf("%s: newest line is %s old", name, time.Since(last))
		}
	}
	sec, _ := os.ReadFile(b.LogPath("security"))
	if c := bytes.Count(sec, []byte("login failed user=")); c < 3 || !bytes.Contains(sec, []byte("ip=198.51.100.99\n")) {
		t.Fatalf("security log has %d failed logins", c)
	}
}

func TestBursts(t *testing.T) {
	b := start(t, Options{LogInterval: time.Hour, RowsPerSecond: -1, HistoryLines: 1})
	count := func(name, s string) int {
		data, _ := os.ReadFile(b.LogPath(name))
		return bytes.Count(data, []byte(s))
	}
	before := count("llm", "LLM API Error")
	if err := b.Burst(BurstLLMErrors, 7, ""); err != nil {
		t.Fatal(err)
	}
	if got := count("llm", "LLM API Error") - before; got != 7 {
		t.Fatalf("llm errors = %d, want 7", got)
	}
	if err := b.Burst(BurstFlood, 50, "192.0.2.200"); err != nil {
		t.Fatal(err)
	}
	if got := count("access", "192.0.2.200 - - ["); got != 50 {
		t.Fatalf("flood lines = %d", got)
	}
	before = count("access", `" 5`)
	if err := b.Burst(Burst5xx, 9, ""); err != nil {
		t.Fatal(err)
	}
	if got := count("access", `" 5`) - before; got != 9 {
		t.Fatalf("5xx lines = %d", got)
	}
	if err := b.Burst(BurstSlow, 4, ""); err != nil {
		t.Fatal(err)
	}
	if got := count("access", " 3.500\n"); got != 4 {
		t.Fatalf("slow lines = %d", got)
	}
	if err := b.Burst("nonsense", 1, ""); err == nil || !strings.Contains(err.Error(), "unknown burst kind") {
		t.Fatalf("err = %v", err)
	}
	if err := b.Burst(BurstErrors, 0, ""); err == nil {
		t.Fatal("zero burst accepted")
	}
}

func TestHealthModesAndStop(t *testing.T) {
	b := start(t, Options{})
	url := b.Target().HealthURL
	ctx := context.Background()
	if r := ops.CheckHealth(ctx, url, time.Second); !r.OK() || r.Status != 200 {
		t.Fatalf("health = %+v", r)
	}
	must(t, b.SetHealth(HealthFail, 0))
	if r := ops.CheckHealth(ctx, url, time.Second); r.OK() || r.Status != 503 {
		t.Fatalf("failing health = %+v", r)
	}
	must(t, b.SetHealth(HealthSlow, 2*time.Second))
	if r := ops.CheckHealth(ctx, url, 100*time.Millisecond); r.OK() || r.Status != 0 {
		t.Fatalf("slow health = %+v", r)
	}
	if err := b.SetHealth("odd", 0); err == nil {
		t.Fatal("odd health accepted")
	}
	must(t, b.SetHealth(HealthOK, 0))

	// Stopped: connections refused, writers paused, database closed (it can
	// be moved away and replaced, as a restore does).
	b.Stop()
	if r := ops.CheckHealth(ctx, url, time.Second); r.OK() || r.Status != 0 || !strings.Contains(r.Err.Error(), "refused") {
		t.Fatalf("stopped health = %+v", r)
	}
	rows := b.Rows()
	size := fileSize(b.LogPath("app"))
	db := b.Target().Database.Path
	must(t, os.Rename(db, db+".aside"))
	os.Remove(db + "-wal")
	os.Remove(db + "-shm")
	if b.Rows() != rows || fileSize(b.LogPath("app")) != size {
		t.Fatal("writers kept going while stopped")
	}
	must(t, b.Start())
	if r := ops.CheckHealth(ctx, url, time.Second); !r.OK() {
		t.Fatalf("restarted health = %+v", r)
	}
	waitFor(t, "rows in the new database", func() bool { return countRows(t, db) > 0 })
}

// The target's argv are real processes (this test binary as the ctl client).
func TestActionsThroughRealProcesses(t *testing.T) {
	b := start(t, Options{})
	tg := b.Target()
	ctx := context.Background()
	// A restart heals a failing service: the fault was in the old process.
	must(t, b.SetHealth(HealthFail, 0))
	res, err := ops.RunArgv(ctx, tg.Restart, tg.Workdir, nil, 10*time.Second)
	if err != nil || !strings.Contains(res.Output, "restarting") {
		t.Fatalf("restart: %v %q", err, res.Output)
	}
	if _, err := ops.WaitHealthy(ctx, tg.HealthURL, 10*time.Second, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if s := b.State(); s.Restarts != 1 || !s.Running {
		t.Fatalf("state after restart = %+v", s)
	}

	// Update that breaks health, then the rollback that mends it.
	b.SetUpdateBreaks(true)
	if _, err := ops.RunArgv(ctx, tg.Update, tg.Workdir, nil, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.WaitHealthy(ctx, tg.HealthURL, 500*time.Millisecond, 20*time.Millisecond); err == nil {
		t.Fatal("healthy after a breaking update")
	}
	if _, err := ops.RunArgv(ctx, tg.Rollback, tg.Workdir, nil, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.WaitHealthy(ctx, tg.HealthURL, 10*time.Second, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if s := b.State(); s.Updates != 1 || s.Rollbacks != 1 || s.Version != 0 {
		t.Fatalf("state = %+v", s)
	}

	// Stop and start argv.
	if _, err := ops.RunArgv(ctx, tg.Stop, tg.Workdir, nil, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if b.State().Running {
		t.Fatal("running after stop")
	}
	if _, err := ops.RunArgv(ctx, tg.Start, tg.Workdir, nil, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !b.State().Running {
		t.Fatal("stopped after start")
	}
}

func TestRestartHangsUntilKilled(t *testing.T) {
	b := start(t, Options{Restart: RestartHang})
	tg := b.Target()
	res, err := ops.RunArgv(context.Background(), tg.Restart, tg.Workdir, nil, 2*time.Second) // time for the child to start hanging on a loaded machine
	if !errors.Is(err, ops.ErrTimeout) || !res.TimedOut {
		t.Fatalf("err = %v", err)
	}
	if s := b.State(); s.Hangs != 1 || s.Restarts != 0 {
		t.Fatalf("state = %+v", s)
	}
}

func TestRestartUnhealthy(t *testing.T) {
	b := start(t, Options{Restart: RestartUnhealthy})
	must(t, b.Restart())
	if r := ops.CheckHealth(context.Background(), b.Target().HealthURL, time.Second); r.Status != 503 {
		t.Fatalf("health after restart = %+v", r)
	}
}

func TestLLMEndpoint(t *testing.T) {
	b := start(t, Options{})
	u := b.Target().LLM.URL
	if r := ops.CheckHealth(context.Background(), u, time.Second); !r.OK() {
		t.Fatalf("llm = %+v", r)
	}
	b.SetLLM(false)
	if r := ops.CheckHealth(context.Background(), u, time.Second); r.Status != 503 {
		t.Fatalf("failing llm = %+v", r)
	}
}

func TestCtlBadInput(t *testing.T) {
	b := start(t, Options{})
	var out, errb bytes.Buffer
	for _, args := range [][]string{{}, {"ftp://x", "stop"}, {b.ControlURL(), "a/b"}, {b.ControlURL(), "stop", "novalue"}} {
		if code := ctl(args, &out, &errb); code != 2 {
			t.Errorf("ctl %q = %d, want 2", args, code)
		}
	}
	if code := ctl([]string{b.ControlURL(), "health", "mode=weird"}, &out, &errb); code != 1 || !strings.Contains(out.String(), "unknown health mode") {
		t.Errorf("bad mode: code %d out %q", code, out.String())
	}
	if code := ctl([]string{b.ControlURL(), "nosuch"}, &out, &errb); code != 1 {
		t.Errorf("unknown action code %d", code)
	}
	if !b.State().Running {
		t.Fatal("bad input changed state")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The demo's settings file is owner-only, as the security check wants.
func TestLayoutEnvIsOwnerOnly(t *testing.T) {
	b := start(t, Options{})
	fi, err := os.Stat(filepath.Join(b.Dir(), ".env"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf(".env mode %v", fi.Mode().Perm())
	}
}
