package checks

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/store/storetest"
)

func run(t *testing.T, c config.Check, o Options) map[string]float64 {
	t.Helper()
	ch, err := New(c, o)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := ch.Run(context.Background(), time.Now())
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	out := map[string]float64{}
	for _, s := range ss {
		if s.Target != c.SampleTarget() && c.Kind != "prometheus" {
			t.Errorf("%s: target %q, want %q", s.Metric, s.Target, c.SampleTarget())
		}
		out[s.Metric] = s.Value
	}
	return out
}

func TestHTTPCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(30 * time.Millisecond)
		}
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"lesson":"ok"}`)
	}))
	defer srv.Close()
	got := run(t, config.Check{Name: "lesson", Kind: "http", URL: srv.URL + "/slow", ExpectBody: `"lesson":"ok"`}, Options{})
	if got["lesson_up"] != 1 || got["lesson_status"] != 200 || got["lesson_latency_ms"] < 30 {
		t.Fatalf("slow but up: %v", got)
	}
	got = run(t, config.Check{Name: "lesson", Kind: "http", URL: srv.URL + "/", ExpectBody: "nope"}, Options{})
	if got["lesson_up"] != 0 || got["lesson_status"] != 200 {
		t.Fatalf("body not found yet up: %v", got)
	}
	got = run(t, config.Check{Name: "m", Kind: "http", URL: srv.URL + "/missing"}, Options{})
	if got["m_up"] != 0 || got["m_status"] != 404 {
		t.Fatalf("404: %v", got)
	}
	got = run(t, config.Check{Name: "m", Kind: "http", URL: srv.URL + "/missing", ExpectStatus: 404}, Options{})
	if got["m_up"] != 1 {
		t.Fatalf("expected 404: %v", got)
	}
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tls.Close()
	got = run(t, config.Check{Name: "s", Kind: "http", URL: tls.URL}, Options{Client: tls.Client()})
	if got["s_up"] != 1 || got["s_tls_days_left"] < 1 {
		t.Fatalf("tls: %v", got)
	}
	srv.Close()
	got = run(t, config.Check{Name: "gone", Kind: "http", URL: srv.URL}, Options{})
	if got["gone_up"] != 0 {
		t.Fatalf("closed server up: %v", got)
	}
}

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if got := run(t, config.Check{Name: "redis", Kind: "tcp", Address: addr}, Options{}); got["redis_up"] != 1 {
		t.Fatalf("listening: %v", got)
	}
	ln.Close()
	if got := run(t, config.Check{Name: "redis", Kind: "tcp", Address: addr, Timeout: time.Second}, Options{}); got["redis_up"] != 0 {
		t.Fatalf("closed: %v", got)
	}
}

func TestCommandCheckNeverAShell(t *testing.T) {
	got := run(t, config.Check{Name: "queue", Kind: "command", Command: []string{"echo", "depth: 42 jobs; $(touch /tmp/x)"}}, Options{})
	if got["queue_up"] != 1 || got["queue_exit_code"] != 0 || got["queue"] != 42 {
		t.Fatalf("echo: %v", got)
	}
	got = run(t, config.Check{Name: "q", Kind: "command", Command: []string{"echo", "v1 took 17.5 ms"}, ValueRegexp: `took ([0-9.]+) ms`}, Options{})
	if got["q"] != 17.5 {
		t.Fatalf("regexp: %v", got)
	}
	got = run(t, config.Check{Name: "f", Kind: "command", Command: []string{"false"}}, Options{})
	if got["f_up"] != 0 || got["f_exit_code"] != 1 {
		t.Fatalf("false: %v", got)
	}
	if _, has := got["f"]; has {
		t.Fatalf("no number printed, yet a value: %v", got)
	}
	got = run(t, config.Check{Name: "f", Kind: "command", Command: []string{"false"}, ExpectExit: 1}, Options{})
	if got["f_up"] != 1 {
		t.Fatalf("expected exit 1: %v", got)
	}
	ch, _ := New(config.Check{Name: "slow", Kind: "command", Command: []string{"sleep", "5"}, Timeout: 100 * time.Millisecond}, Options{})
	if _, err := ch.Run(context.Background(), time.Now()); err == nil {
		t.Fatal("a command past its timeout is no error")
	}
}

func TestProcessCheck(t *testing.T) {
	dir := t.TempDir()
	pf := filepath.Join(dir, "svc.pid")
	os.WriteFile(pf, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	got := run(t, config.Check{Name: "svc", Kind: "process", PIDFile: pf}, Options{})
	if got["svc_up"] != 1 || got["svc_count"] != 1 || got["svc_rss_mb"] <= 0 {
		t.Fatalf("this process: %v", got)
	}
	os.WriteFile(pf, []byte("2147483600\n"), 0o600)
	if got := run(t, config.Check{Name: "svc", Kind: "process", PIDFile: pf}, Options{}); got["svc_up"] != 0 {
		t.Fatalf("dead pid: %v", got)
	}
	name := filepath.Base(os.Args[0])
	if len(name) > 15 {
		name = name[:15] // the kernel's comm
	}
	if got := run(t, config.Check{Name: "byname", Kind: "process", Process: name}, Options{}); got["byname_up"] != 1 {
		t.Fatalf("by name %q: %v", name, got)
	}
	if got := run(t, config.Check{Name: "byname", Kind: "process", Process: "no-such-proc-x"}, Options{}); got["byname_up"] != 0 {
		t.Fatalf("no such name: %v", got)
	}
}

func sqlCheck(t *testing.T, driver, dsn string) {
	db, err := sql.Open(map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[driver], dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"CREATE TABLE jobs (id integer, state text)", "INSERT INTO jobs VALUES (1,'stuck'),(2,'stuck'),(3,'done')"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	env := func(k string) string { return map[string]string{"JOBS_DSN": dsn}[k] }
	c := config.Check{Name: "stuck_jobs", Kind: "sql", Driver: driver, DSNEnv: "JOBS_DSN", Query: "SELECT count(*) FROM jobs WHERE state = 'stuck'"}
	if got := run(t, c, Options{Getenv: env}); got["stuck_jobs"] != 2 {
		t.Fatalf("%s: %v", driver, got)
	}
	// Read-only: a write is refused and changes nothing.
	c.Query = "DELETE FROM jobs RETURNING 1"
	ch, err := New(c, Options{Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Run(context.Background(), time.Now()); err == nil {
		t.Fatalf("%s: a write went through", driver)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM jobs").Scan(&n); err != nil || n != 3 {
		t.Fatalf("%s: rows %d %v", driver, n, err)
	}
}

func TestSQLCheckSQLite(t *testing.T) {
	sqlCheck(t, "sqlite", filepath.Join(t.TempDir(), "app.db"))
}

func TestSQLCheckPostgres(t *testing.T) {
	sqlCheck(t, "postgres", storetest.PostgresDSN(t))
}

func TestLogCheckCountsOverTheWindow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	os.WriteFile(path, []byte("ERROR before watching\n"), 0o600)
	targets := []config.Target{{Name: "api", Logs: map[string]config.LogFile{"app": {Path: path}}}}
	ch, err := New(config.Check{Name: "timeouts", Kind: "log", Target: "api", Log: "app", Pattern: `ERROR .*timeout`, Window: time.Minute}, Options{Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	step := func(add string, d time.Duration) map[string]float64 {
		t.Helper()
		if add != "" {
			f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString(add)
			f.Close()
		}
		at = at.Add(d)
		ss, err := ch.Run(context.Background(), at)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, s := range ss {
			out[s.Metric] = s.Value
		}
		return out
	}
	if got := step("", 0); got["timeouts"] != 0 {
		t.Fatalf("start: %v", got)
	}
	if got := step("ERROR db timeout\nINFO ok\nERROR llm timeout\n", 20*time.Second); got["timeouts"] != 2 || got["timeouts_per_min"] != 2 {
		t.Fatalf("two: %v", got)
	}
	if got := step("ERROR x timeout\npartial ERROR timeout", 20*time.Second); got["timeouts"] != 3 {
		t.Fatalf("three (a partial line waits): %v", got)
	}
	if got := step("\n", 45*time.Second); got["timeouts"] != 2 {
		t.Fatalf("the first two left the window, the partial line counted: %v", got)
	}
	// Rotated: the new file is read from its start.
	os.WriteFile(path, []byte("ERROR a timeout\n"), 0o600)
	if got := step("", 10*time.Second); got["timeouts"] != 3 {
		t.Fatalf("after rotation: %v", got)
	}
}

// A small server answering Prometheus' HTTP API as Prometheus does.
func TestPrometheusCheck(t *testing.T) {
	var gotQuery string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		r.ParseForm()
		gotQuery = r.Form.Get("query")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(gotQuery, "bad("):
			w.WriteHeader(400)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"parse error"}`)
		case strings.Contains(gotQuery, "by (instance)"):
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"api-2"},"value":[1700000000,"0.5"]},{"metric":{"instance":"api-1"},"value":[1700000000,"2.25"]}]}}`)
		default:
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.031"]}]}}`)
		}
	}))
	defer srv.Close()
	got := run(t, config.Check{Name: "err_ratio", Kind: "prometheus", URL: srv.URL, Query: `sum(rate(http_requests_total{code=~"5.."}[5m]))`}, Options{})
	if got["err_ratio"] != 0.031 || !strings.Contains(gotQuery, "http_requests_total") {
		t.Fatalf("scalar vector: %v %q", got, gotQuery)
	}
	ch, _ := New(config.Check{Name: "load", Kind: "prometheus", URL: srv.URL, Query: "sum by (instance) (load1)"}, Options{})
	ss, err := ch.Run(context.Background(), time.Now())
	if err != nil || len(ss) != 2 || ss[0].Target != "api-1" || ss[0].Value != 2.25 || ss[1].Target != "api-2" {
		t.Fatalf("per instance: %+v %v", ss, err)
	}
	ch, _ = New(config.Check{Name: "x", Kind: "prometheus", URL: srv.URL, Query: "bad("}, Options{})
	if _, err := ch.Run(context.Background(), time.Now()); err == nil || !strings.Contains(err.Error(), "parse error") {
		t.Fatalf("bad query: %v", err)
	}
}
