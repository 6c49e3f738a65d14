package backup_test

import (
	"os"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/ops"
	"opsbot/ops/backup"
	"opsbot/standin"
	"opsbot/store/storetest"
)

// End to end against the stand-in backend: a real service process state,
// a database written 200 times a second, stop/start argv through its ctl
// client, a real /health.
func TestBackupAndRestoreTheStandIn(t *testing.T) {
	self, err := os.Executable()
	must(t, err)
	b, err := standin.Start(ctx(), t.TempDir(), standin.Options{Self: self, RowsPerSecond: 200, LogInterval: time.Hour, HistoryLines: 5, StartDelay: 20 * time.Millisecond, CommandTimeout: 10 * time.Second, HealthDeadline: 5 * time.Second})
	must(t, err)
	t.Cleanup(func() { b.Close() })
	cfg := config.Default()
	cfg.Targets = []config.Target{b.Target()}
	svc := backup.New(storetest.SQLite(t), func() *config.Config { return cfg }, quietLog())
	svc.HealthInterval = 20 * time.Millisecond

	for b.Rows() < 20 {
		time.Sleep(5 * time.Millisecond) // let the writer get going
	}
	before := countRows(t, b.DBPath(), "messages")
	res, err := svc.Create(ctx(), "", nil)
	must(t, err)
	after := countRows(t, b.DBPath(), "messages")
	if !res.Verified {
		t.Fatal(res.VerifyErr)
	}
	if n := res.Manifest.Database.Tables["messages"]; n < before || n > after {
		t.Fatalf("copy has %d messages, live had %d before and %d after", n, before, after)
	}
	if len(res.Manifest.Missing) != 0 {
		t.Fatalf("missing %v", res.Manifest.Missing)
	}

	st := b.State()
	rr, err := svc.Restore(ctx(), "", res.ID, nil)
	must(t, err)
	if got := b.State(); !got.Running || got.Health != standin.HealthOK {
		t.Fatalf("stand-in after restore: %+v (before %+v)", got, st)
	}
	if len(rr.SetAside) == 0 {
		t.Fatal("nothing set aside")
	}
	if r := ops.CheckHealth(ctx(), b.Target().HealthURL, time.Second); !r.OK() {
		t.Fatalf("health after restore: %v", r.Err)
	}
	// The restored database is the backup's (the writer goes on from there).
	if n := countRows(t, rr.SetAside[0], "messages"); n < res.Manifest.Database.Tables["messages"] {
		t.Fatalf("set-aside database has %d messages, fewer than the backup", n)
	}
}
