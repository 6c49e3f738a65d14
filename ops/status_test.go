package ops

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/standin"
	"opsbot/store/storetest"
)

// TestMain lets this test binary act as the stand-in's ctl client when a
// target's action argv runs it.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "standin-ctl" {
		os.Exit(standin.CtlMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func startStandin(t *testing.T, o standin.Options) *standin.Backend {
	t.Helper()
	if o.LogInterval == 0 {
		o.LogInterval = 20 * time.Millisecond
	}
	if o.RowsPerSecond == 0 {
		o.RowsPerSecond = 50
	}
	if o.StartDelay == 0 {
		o.StartDelay = 50 * time.Millisecond
	}
	if o.HistoryLines == 0 {
		o.HistoryLines = 100
	}
	b, err := standin.Start(context.Background(), t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func redisAddr(t *testing.T) string {
	t.Helper()
	a := os.Getenv("OPSBOT_TEST_REDIS_ADDR")
	if a == "" {
		storetest.Skip(t, "OPSBOT_TEST_REDIS_ADDR not set")
	}
	c, err := net.DialTimeout("tcp", a, time.Second)
	if err != nil {
		storetest.Skip(t, "redis unreachable: %v", err)
	}
	c.Close()
	return a
}

// relaxedHost keeps a busy shared test machine from failing the host lines;
// the host lines' grading is tested on its own.
func relaxedHost() config.Thresholds {
	th := config.Default().Thresholds
	th.CPUPct = config.Threshold{Normal: 100, Alert: 100}
	th.MemoryPct = config.Threshold{Normal: 100, Alert: 100}
	th.DiskPct = config.Threshold{Normal: 100, Alert: 100}
	return th
}

func line(t *testing.T, r Report, target, check string) Line {
	t.Helper()
	for _, l := range r.Lines {
		if l.Target == target && l.Check == check {
			return l
		}
	}
	t.Fatalf("no %s %s line in %+v", target, check, r.Lines)
	return Line{}
}

var sixChecks = []string{"api", "database", "redis", "llm", "uploads", "logging"}

func TestStatusAllOK(t *testing.T) {
	b := startStandin(t, standin.Options{RedisAddr: redisAddr(t)})
	c := NewChecker(&Host{DiskPath: b.Dir(), Window: 50 * time.Millisecond})
	r := c.Status(context.Background(), relaxedHost(), []config.Target{b.Target()})
	for _, check := range sixChecks {
		if l := line(t, r, "demo", check); l.Level != LevelOK {
			t.Errorf("%s = %s %q", check, l.Level, l.Value)
		}
	}
	for _, check := range []string{"cpu", "memory", "disk"} {
		if l := line(t, r, "", check); l.Level != LevelOK || !strings.HasSuffix(strings.Fields(l.Value)[1], "%") {
			t.Errorf("%s = %+v", check, l)
		}
	}
	if r.Verdict() != LevelOK || len(r.Lines) != 9 {
		t.Fatalf("verdict %s with %d lines", r.Verdict(), len(r.Lines))
	}
	if v := line(t, r, "demo", "redis").Value; !strings.HasPrefix(v, "PONG in ") {
		t.Errorf("redis value %q", v)
	}
	if v := line(t, r, "demo", "database").Value; !strings.HasPrefix(v, "4 tables, ") {
		t.Errorf("database value %q", v)
	}
	m := r.Message()
	if m.Title != "Status: OK" || !strings.HasPrefix(m.Text, "all checks ok (9 checks in ") || !strings.Contains(m.Code, "demo    api ") {
		t.Fatalf("message = %+v", m)
	}
	// The uploads write check leaves nothing behind.
	left, _ := filepath.Glob(filepath.Join(b.UploadsDir(), ".opsbot-write-check-*"))
	if len(left) != 0 {
		t.Fatalf("write check left %v", left)
	}
}

func TestStatusOneProbeFailing(t *testing.T) {
	b := startStandin(t, standin.Options{})
	if err := b.SetHealth(standin.HealthFail, 0); err != nil {
		t.Fatal(err)
	}
	b.SetLLM(false)
	r := NewChecker(nil).Status(context.Background(), relaxedHost(), []config.Target{b.Target()})
	if l := line(t, r, "demo", "api"); l.Level != LevelFailing || !strings.HasPrefix(l.Value, "status 503 in ") {
		t.Errorf("api = %+v", l)
	}
	if l := line(t, r, "demo", "llm"); l.Level != LevelFailing || !strings.HasPrefix(l.Value, "status 503") {
		t.Errorf("llm = %+v", l)
	}
	if l := line(t, r, "demo", "redis"); l.Level != LevelSkip || l.Value != "not configured" {
		t.Errorf("redis = %+v", l)
	}
	for _, check := range []string{"database", "uploads", "logging"} {
		if l := line(t, r, "demo", check); l.Level != LevelOK {
			t.Errorf("%s = %+v", check, l)
		}
	}
	m := r.Message()
	if r.Verdict() != LevelFailing || m.Title != "Status: FAILING" || !strings.HasPrefix(m.Text, "demo api failing, demo llm failing") {
		t.Fatalf("message = %+v", m)
	}
}

// A slow health endpoint and a Redis that never answers are each cut at
// their own timeout; the other checks answer and the whole report is not
// held up past the longest timeout.
func TestStatusSlowProbesBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts and never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	b := startStandin(t, standin.Options{RedisAddr: ln.Addr().String()})
	if err := b.SetHealth(standin.HealthSlow, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	tg := b.Target()
	tg.HealthTimeout = 300 * time.Millisecond
	c := NewChecker(nil)
	c.ProbeTimeout = 700 * time.Millisecond
	r := c.Status(context.Background(), relaxedHost(), []config.Target{tg})
	api := line(t, r, "demo", "api")
	if api.Level != LevelFailing || !strings.Contains(api.Value, "no answer within 300ms") {
		t.Errorf("api = %+v", api)
	}
	if api.Took > 700*time.Millisecond {
		t.Errorf("api took %s, past its 300ms timeout", api.Took)
	}
	if l := line(t, r, "demo", "redis"); l.Level != LevelFailing {
		t.Errorf("redis = %+v", l)
	}
	for _, check := range []string{"database", "uploads", "logging", "llm"} {
		if l := line(t, r, "demo", check); l.Level != LevelOK {
			t.Errorf("%s = %+v", check, l)
		}
	}
	if r.Took > 2*time.Second {
		t.Fatalf("report took %s", r.Took)
	}
}

func TestStatusDatabaseAndLogsBroken(t *testing.T) {
	b := startStandin(t, standin.Options{})
	tg := b.Target()
	b.Stop() // writers pause, so the file times below stay
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(tg.Logs["error"].Path, old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(tg.Logs["security"].Path); err != nil {
		t.Fatal(err)
	}
	tg.Database.Path = filepath.Join(b.Dir(), "data", "gone.db")
	tg.UploadsDir = filepath.Join(b.Dir(), "no-uploads")
	r := NewChecker(nil).Status(context.Background(), relaxedHost(), []config.Target{tg})
	if l := line(t, r, "demo", "database"); l.Level != LevelFailing || l.Value != "missing: gone.db" {
		t.Errorf("database = %+v", l)
	}
	if l := line(t, r, "demo", "logging"); l.Level != LevelFailing || l.Value != "missing: security; stale: error (2 h)" {
		t.Errorf("logging = %+v", l)
	}
	if l := line(t, r, "demo", "uploads"); l.Level != LevelFailing || l.Value != "folder missing" {
		t.Errorf("uploads = %+v", l)
	}
	if l := line(t, r, "demo", "api"); l.Level != LevelFailing || !strings.Contains(l.Value, "refused") {
		t.Errorf("api = %+v", l)
	}
	// A file that is not a database fails the query, and nothing is created.
	junk := filepath.Join(b.Dir(), "junk.db")
	os.WriteFile(junk, []byte("not a database at all, just text padding to make a page"), 0o644)
	tg.Database.Path = junk
	r = NewChecker(nil).Status(context.Background(), relaxedHost(), []config.Target{tg})
	if l := line(t, r, "demo", "database"); l.Level != LevelFailing || !strings.HasPrefix(l.Value, "query failed") {
		t.Errorf("junk database = %+v", l)
	}
}

func TestStatusHostGrading(t *testing.T) {
	th := config.Default().Thresholds
	th.DiskPct = config.Threshold{Normal: 0, Alert: 0} // any used disk is over
	c := NewChecker(&Host{DiskPath: t.TempDir(), Window: 20 * time.Millisecond})
	r := c.Status(context.Background(), th, nil)
	if l := line(t, r, "", "disk"); l.Level != LevelFailing || l.Threshold != "< 0 %, alert > 0 %" {
		t.Fatalf("disk = %+v", l)
	}
	if grade(75, th.CPUPct) != LevelWarning || grade(90, th.CPUPct) != LevelFailing || grade(10, th.CPUPct) != LevelOK {
		t.Fatal("cpu grading wrong")
	}
}

func TestStatusPostgresDatabase(t *testing.T) {
	dsn := os.Getenv("OPSBOT_TEST_POSTGRES_DSN")
	if dsn == "" {
		storetest.Skip(t, "OPSBOT_TEST_POSTGRES_DSN not set")
	}
	tg := config.Target{Name: "pg", Database: config.Database{Driver: "postgres", DSN: config.Secret(dsn)}}
	if l := checkDatabase(context.Background(), tg); l.Level != LevelOK {
		t.Fatalf("postgres = %+v", l)
	}
	tg.Database.DSN = "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"
	if l := checkDatabase(context.Background(), tg); l.Level != LevelFailing {
		t.Fatalf("unreachable postgres = %+v", l)
	}
}
