package diagnose_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shirou/gopsutil/v4/disk"

	"opsbot/config"
	"opsbot/ops/diagnose"
	"opsbot/rules"
	"opsbot/store"
	"opsbot/store/storetest"
)

var now0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type fixture struct {
	cfg *config.Config
	t   *config.Target
	st  *store.Store
	now time.Time
	tls *tls.Config
}

func newFixture(t *testing.T) *fixture {
	cfg := config.Default()
	dir := t.TempDir()
	cfg.Targets = []config.Target{{Name: "api", Workdir: dir, HealthTimeout: 500 * time.Millisecond, Logs: map[string]config.LogFile{}}}
	return &fixture{cfg: cfg, t: &cfg.Targets[0], now: now0}
}

func (f *fixture) run(t *testing.T, symptom string) diagnose.Report {
	t.Helper()
	d := diagnose.Deps{Config: func() *config.Config { return f.cfg }, Now: func() time.Time { return f.now }, TLS: f.tls}
	if f.st != nil {
		d.Samples = f.st
	}
	rep, err := diagnose.New(d).Run(context.Background(), symptom, "api", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range rep.Findings {
		t.Logf("%d. [%.0f] %s: %s %v → %s", i+1, x.Score, x.Check, x.Title, x.Evidence, x.Next)
	}
	return rep
}

// first asserts that the fault ranks first: the top finding is of check
// and its title holds want.
func first(t *testing.T, rep diagnose.Report, check, want string) diagnose.Finding {
	t.Helper()
	top := rep.Top()
	if top.Check != check || !strings.Contains(top.Title, want) {
		t.Fatalf("top finding = [%.0f] %s: %q, want check %q with %q", top.Score, top.Check, top.Title, check, want)
	}
	if top.OK() {
		t.Fatalf("the fault scored %.0f, as low as a healthy observation", top.Score)
	}
	for _, f := range rep.Findings[1:] {
		if f.Score > top.Score {
			t.Fatalf("not ranked: %q (%.0f) after the top (%.0f)", f.Title, f.Score, top.Score)
		}
	}
	return top
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

func writePID(t *testing.T, dir string, pid int32) string {
	t.Helper()
	p := filepath.Join(dir, "api.pid")
	if err := os.WriteFile(p, []byte(fmt.Sprintf("%d\n", pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// api-down: the process was killed and left its pid file behind.
func TestAPIDownStalePIDFile(t *testing.T) {
	f := newFixture(t)
	c := startChild(t, "wait", nil)
	pid := c.pid()
	c.cmd.Process.Kill()
	c.cmd.Wait()
	port := freePort(t)
	f.t.Service = config.Service{PIDFile: writePID(t, f.t.Workdir, pid), Port: port}
	f.t.HealthURL = fmt.Sprintf("http://127.0.0.1:%d/health", port)
	top := first(t, f.run(t, diagnose.APIDown), "process", fmt.Sprintf("names pid %d, which is gone", pid))
	if top.Next != "/ops restart api" {
		t.Errorf("next = %q, want /ops restart api", top.Next)
	}
}

// api-down: the service runs (a process found by its pid file) but
// another process holds its port.
func TestAPIDownPortTaken(t *testing.T) {
	f := newFixture(t)
	c := startChild(t, "listen", nil)
	port := c.first
	svc := startChild(t, "wait", nil)
	f.t.Service = config.Service{PIDFile: writePID(t, f.t.Workdir, svc.pid())}
	f.t.HealthURL = "http://127.0.0.1:" + port + "/health"
	top := first(t, f.run(t, diagnose.APIDown), "port", "port "+port+" is taken by another process")
	if !strings.Contains(strings.Join(top.Evidence, " "), fmt.Sprintf("pid %d", c.pid())) {
		t.Errorf("evidence %v does not name the holder pid %d", top.Evidence, c.pid())
	}
}

// api-down with nothing wrong: nothing notable, the health answer is the evidence.
func TestAPIDownHealthy(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"ok"}`)) }))
	defer srv.Close()
	f.t.HealthURL = srv.URL + "/health"
	f.cfg.Thresholds.CPUPct = config.Threshold{Normal: 100, Alert: 100} // the machine's own load is not this test's
	rep := f.run(t, diagnose.APIDown)
	for _, x := range rep.Findings {
		if x.Check == "health" || x.Check == "port" || x.Check == "process" {
			if !x.OK() {
				t.Errorf("healthy service, yet [%.0f] %s: %s", x.Score, x.Check, x.Title)
			}
		}
	}
}

// db: a database file of mode 000. Root ignores modes, so the diagnosis
// compares mode and owner with the service user; a child process running
// as that unprivileged uid then finds the open itself failing.
func TestDBModeZero(t *testing.T) {
	f := newFixture(t)
	dir := openDir(t)
	path := filepath.Join(dir, "ai_tutor.db")
	makeDB(t, path)
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	f.t.Database = config.Database{Driver: "sqlite", Path: path}
	f.t.Service.User = "nobody"
	top := first(t, f.run(t, diagnose.DB), "database file", "the service user nobody cannot read or write the database (mode 0000")
	if !strings.Contains(top.Next, "chmod 644") {
		t.Errorf("next = %q", top.Next)
	}

	if os.Geteuid() != 0 {
		// Not root: this process is the unprivileged one.
		f.t.Service.User = ""
		first(t, f.run(t, diagnose.DB), "database open", "cannot be opened")
		return
	}
	c := startChild(t, "diagnose-db:"+path, &syscall.Credential{Uid: 65534, Gid: 65534})
	var rep diagnose.Report
	if err := jsonDecode(c.first, &rep); err != nil {
		t.Fatal(err)
	}
	first(t, rep, "database open", "the database cannot be opened")
}

// db: a second process holds the database open besides the service.
func TestDBHeldOpen(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "ai_tutor.db")
	makeDB(t, path)
	c := startChild(t, "hold:"+path, nil)
	svc := startChild(t, "wait", nil)
	f.t.Database = config.Database{Driver: "sqlite", Path: path}
	f.t.Service.PIDFile = writePID(t, f.t.Workdir, svc.pid())
	top := first(t, f.run(t, diagnose.DB), "database holders", "besides the service hold the database open")
	if !strings.Contains(strings.Join(top.Evidence, " "), fmt.Sprintf("pid %d", c.pid())) {
		t.Errorf("evidence %v does not name pid %d", top.Evidence, c.pid())
	}
}

// db: a damaged file is found by quick_check or the open.
func TestDBDamaged(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "ai_tutor.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 500)), 0o644); err != nil {
		t.Fatal(err)
	}
	f.t.Database = config.Database{Driver: "sqlite", Path: path}
	top := first(t, f.run(t, diagnose.DB), "database open", "")
	if !strings.Contains(top.Next, "backup restore") {
		t.Errorf("next = %q, want a restore", top.Next)
	}
}

// llmLog writes an LLM log of the last hour: ok calls, 429s and 500s.
func llmLog(t *testing.T, dir string, now time.Time, ok, e429, e500 int) string {
	t.Helper()
	var b strings.Builder
	n := ok + e429 + e500
	for i := range n {
		at := now.Add(-time.Hour + time.Duration(i+1)*time.Hour/time.Duration(n+1)).In(time.FixedZone("CST", 8*3600))
		ts := at.Format("2006-01-02T15:04:05.000-07:00")
		switch {
		case i%4 == 1 && e429 > 0:
			e429--
			fmt.Fprintf(&b, "%s ERROR LLM API Error: 429 Too Many Requests (quota exceeded)\n", ts)
		case i%4 == 3 && e500 > 0:
			e500--
			fmt.Fprintf(&b, "%s ERROR LLM API Error: 500 Internal Server Error from vendor\n", ts)
		default:
			fmt.Fprintf(&b, "%s INFO LLM API call success model=tutor-large tokens=300 latency_ms=900\n", ts)
		}
	}
	p := filepath.Join(dir, "llm.log")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const demoKey = "sk-test-0123456789abcdef0123"

func llmFixture(t *testing.T, vendorURL string) *fixture {
	f := newFixture(t)
	if err := os.WriteFile(filepath.Join(f.t.Workdir, ".env"), []byte("APP_ENV=test\nTONGYI_API_KEY="+demoKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.t.LLM.URL = vendorURL
	return f
}

// llm: the log shows 429s and 500s; the vendor (a local TLS server) is fine.
func TestLLMErrorsInLog(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	f := llmFixture(t, srv.URL+"/v1/models")
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	f.tls = &tls.Config{RootCAs: pool}
	f.t.Logs["llm"] = config.LogFile{Path: llmLog(t, f.t.Workdir, f.now, 40, 12, 8)}
	rep := f.run(t, diagnose.LLM)
	top := first(t, rep, "llm log", "LLM success rate")
	ev := strings.Join(top.Evidence, " | ")
	for _, want := range []string{"60 calls, 20 failed", "429 ×12", "500 ×8"} {
		if !strings.Contains(ev, want) {
			t.Errorf("evidence %q lacks %q", ev, want)
		}
	}
	var vendor, quota, key bool
	for _, x := range rep.Findings {
		switch x.Check {
		case "vendor host":
			vendor = x.OK() && strings.Contains(x.Title, "TLS handshake")
		case "llm log":
			quota = quota || strings.Contains(x.Title, "12 rate-limit or quota")
		case "api key":
			key = x.OK() && strings.Contains(x.Title, "TONGYI_API_KEY is present, usual length")
		}
		if strings.Contains(x.Title+strings.Join(x.Evidence, ""), demoKey) {
			t.Fatalf("the API key was shown: %q", x.Title)
		}
	}
	if !vendor || !quota || !key {
		t.Errorf("vendor ok %v, quota seen %v, key present %v: want all", vendor, quota, key)
	}
}

// llm: the vendor's name does not resolve (.invalid never does).
func TestLLMVendorDoesNotResolve(t *testing.T) {
	f := llmFixture(t, "https://vendor.invalid/v1/models")
	f.t.Logs["llm"] = config.LogFile{Path: llmLog(t, f.t.Workdir, f.now, 50, 0, 0)}
	first(t, f.run(t, diagnose.LLM), "vendor host", "the vendor host vendor.invalid does not resolve")
}

// llm: a vendor whose certificate is not trusted fails the handshake.
func TestLLMVendorUntrusted(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	f := llmFixture(t, srv.URL)
	f.t.Logs["llm"] = config.LogFile{Path: llmLog(t, f.t.Workdir, f.now, 50, 0, 0)}
	first(t, f.run(t, diagnose.LLM), "vendor host", "certificate not trusted")
}

// llm: no API key in the settings.
func TestLLMKeyMissing(t *testing.T) {
	f := newFixture(t)
	if err := os.WriteFile(filepath.Join(f.t.Workdir, ".env"), []byte("APP_ENV=test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	first(t, f.run(t, diagnose.LLM), "api key", "no *_API_KEY in the service's settings")
}

// memory: a process that keeps growing, sampled by the rules' memory
// source on an injected clock an hour apart.
func TestMemoryGrowth(t *testing.T) {
	f := newFixture(t)
	f.st = storetest.SQLite(t)
	c := startChild(t, "grow", nil)
	f.t.Service.PIDFile = writePID(t, f.t.Workdir, c.pid())
	src := rules.MemorySource{Targets: f.cfg.Targets}
	ctx := context.Background()
	for i := range 7 {
		at := now0.Add(time.Duration(i-6) * time.Hour)
		out, err := src.Collect(ctx, at)
		if err != nil || len(out.Samples) != 1 {
			t.Fatalf("memory sample %d: %v %v", i, out.Samples, err)
		}
		if err := f.st.AddSamples(ctx, out.Samples); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(c.stdin, "grow")
		c.line(t)
	}
	f.cfg.Thresholds.MemoryPct = config.Threshold{Normal: 100, Alert: 100} // the machine's memory is not this test's
	top := first(t, f.run(t, diagnose.Memory), "service growth", "a leak")
	if !strings.Contains(top.Next, "/ops restart api") {
		t.Errorf("next = %q", top.Next)
	}
}

// disk: a loop of writes fills a temp folder; each write is sampled (the
// disk rule's measurement) on an injected clock, 100 ms apart: a disk
// filling at 40 MB/s is full within hours on any test machine's disk.
func TestDiskFilling(t *testing.T) {
	f := newFixture(t)
	f.st = storetest.SQLite(t)
	dir := t.TempDir()
	f.t.TempDir = dir
	ctx := context.Background()
	chunk := make([]byte, 4<<20)
	var at time.Time
	for i := range 10 {
		if i > 0 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("fill-%d", i)), chunk, 0o644); err != nil {
				t.Fatal(err)
			}
			// The kernel counts blocks once written back.
			if fd, err := os.Open(filepath.Join(dir, fmt.Sprintf("fill-%d", i))); err == nil {
				fd.Sync()
				fd.Close()
			}
		}
		u, err := disk.Usage(dir)
		if err != nil {
			t.Fatal(err)
		}
		at = now0.Add(time.Duration(i) * 100 * time.Millisecond)
		if err := f.st.AddSamples(ctx, []store.Sample{{Metric: rules.MetricDisk, At: store.T(at), Value: u.UsedPercent}}); err != nil {
			t.Fatal(err)
		}
	}
	f.now = at
	top := first(t, f.run(t, diagnose.Disk), "fill forecast", "the disk is full in about")
	if top.Score < 60 {
		t.Errorf("a disk full within the horizon scored %.0f", top.Score)
	}
}

// redis: nothing answers at the configured address.
func TestRedisDown(t *testing.T) {
	f := newFixture(t)
	f.t.Redis.Addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	first(t, f.run(t, diagnose.Redis), "redis", "does not answer")
}

// redis: a reachable server reports memory, clients and keyspace.
func TestRedisUp(t *testing.T) {
	addr := os.Getenv("OPSBOT_TEST_REDIS_ADDR")
	if addr == "" {
		storetest.Skip(t, "OPSBOT_TEST_REDIS_ADDR not set")
	}
	f := newFixture(t)
	f.t.Redis = config.Redis{Addr: addr, DB: 13}
	rep := f.run(t, diagnose.Redis)
	ev := ""
	for _, x := range rep.Findings {
		ev += strings.Join(x.Evidence, " ")
	}
	if !strings.Contains(ev, "used_memory") || !strings.Contains(ev, "connected_clients") {
		t.Errorf("evidence %q lacks INFO memory or clients", ev)
	}
}

// security: one address fails to log in again and again.
func TestSecurityFailedLogins(t *testing.T) {
	f := newFixture(t)
	var b strings.Builder
	for i := range 40 {
		ip := "203.0.113.9"
		if i%8 == 0 {
			ip = "198.51.100.4"
		}
		fmt.Fprintf(&b, "%s WARNING login failed user=admin ip=%s\n", f.now.Add(-time.Duration(40-i)*time.Minute).Format("2006-01-02T15:04:05.000-07:00"), ip)
	}
	p := filepath.Join(f.t.Workdir, "security.log")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f.t.Logs["security"] = config.LogFile{Path: p}
	top := first(t, f.run(t, diagnose.Security), "failed logins", "most from 203.0.113.9 (35)")
	if !strings.Contains(top.Next, "203.0.113.9") {
		t.Errorf("next = %q", top.Next)
	}
}

// security: a world-writable file in the service's folder.
func TestSecurityWorldWritable(t *testing.T) {
	f := newFixture(t)
	p := filepath.Join(f.t.Workdir, "app.py")
	if err := os.WriteFile(p, []byte("print(1)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o777); err != nil {
		t.Fatal(err)
	}
	first(t, f.run(t, diagnose.Security), "world-writable files", "1 world-writable file")
}

// A check that overruns its bound reports "timed out after 5 s" while the
// others answer. In a bubble, the 5 s pass on the bubble's clock.
func TestCheckTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := config.Default()
		cfg.Targets = []config.Target{{Name: "api"}}
		release := make(chan struct{})
		g := diagnose.New(diagnose.Deps{Config: func() *config.Config { return cfg }})
		g.AddCheck(diagnose.Redis, diagnose.Check{Name: "stuck", Run: func(ctx context.Context, e *diagnose.Env) ([]diagnose.Finding, error) {
			<-release // ignores its context, as a hung syscall would
			return nil, nil
		}})
		g.AddCheck(diagnose.Redis, diagnose.Check{Name: "quick", Run: func(ctx context.Context, e *diagnose.Env) ([]diagnose.Finding, error) {
			return []diagnose.Finding{{Title: "answered", Score: 50}}, nil
		}})
		start := time.Now()
		rep, err := g.Run(context.Background(), diagnose.Redis, "", nil)
		close(release)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 5*time.Second {
			t.Errorf("the diagnosis took %s on the bubble's clock, want the check bound 5s", took)
		}
		var timedOut, answered bool
		for _, f := range rep.Findings {
			timedOut = timedOut || (f.Check == "stuck" && f.Failed && f.Title == "stuck: timed out after 5 s")
			answered = answered || (f.Check == "quick" && f.Title == "answered")
		}
		if !timedOut || !answered {
			t.Fatalf("timed out reported %v, other check answered %v: %+v", timedOut, answered, rep.Findings)
		}
	})
}

func TestUnknownSymptomAndTarget(t *testing.T) {
	f := newFixture(t)
	g := diagnose.New(diagnose.Deps{Config: func() *config.Config { return f.cfg }})
	if _, err := g.Run(context.Background(), "cpu", "api", nil); err == nil || !strings.Contains(err.Error(), `unknown symptom "cpu"`) {
		t.Errorf("err = %v", err)
	}
	if _, err := g.Run(context.Background(), diagnose.DB, "nope", nil); err == nil || !strings.Contains(err.Error(), `unknown target "nope"`) {
		t.Errorf("err = %v", err)
	}
}
