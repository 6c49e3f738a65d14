package status

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/ops"
	"opsbot/standin"
	"opsbot/store/storetest"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "standin-ctl" {
		os.Exit(standin.CtlMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func setup(t *testing.T, extras ...Extra) (*commands.Registry, *standin.Backend) {
	t.Helper()
	b, err := standin.Start(context.Background(), t.TempDir(), standin.Options{LogInterval: 50 * time.Millisecond, HistoryLines: 50})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	cfg := config.Default()
	cfg.Targets = []config.Target{b.Target()}
	// A busy shared test machine must not decide the verdict; host grading
	// is tested in ops.
	cfg.Thresholds.CPUPct = config.Threshold{Normal: 100, Alert: 100}
	cfg.Thresholds.MemoryPct = config.Threshold{Normal: 100, Alert: 100}
	cfg.Thresholds.DiskPct = config.Threshold{Normal: 100, Alert: 100}
	reg := commands.NewRegistry(func() *config.Config { return cfg }, storetest.SQLite(t), nil)
	reg.MustRegister(Verbs(Deps{
		Config: func() *config.Config { return cfg },
		Host:   &ops.Host{DiskPath: b.Dir(), Window: 20 * time.Millisecond},
		Extras: extras,
	})...)
	return reg, b
}

func run(reg *commands.Registry, text string) commands.Response {
	return reg.Handle(context.Background(), commands.Request{Platform: "console", User: "op", Local: true, Confirmed: true, Text: text})
}

func TestStatusVerb(t *testing.T) {
	parked := func(ctx context.Context) []ops.Line {
		return []ops.Line{{Check: "notifications", Level: ops.LevelWarning, Value: "3 parked", Threshold: "0 parked"}}
	}
	reg, b := setup(t, parked)
	if !reg.IsSlow(commands.Request{Text: "status"}) {
		t.Fatal("status is not slow")
	}
	resp := run(reg, "status")
	if resp.Title != "Status: WARNING" || resp.Severity != chat.SevWarning || !strings.HasPrefix(resp.Text, "notifications warning (10 checks in ") {
		t.Fatalf("resp = %+v", resp.Message)
	}
	for _, want := range []string{"demo api ok status 200 in ", "demo database ok 4 tables, ", "demo redis skipped not configured", "host cpu ", "bot notifications WARNING 3 parked 0 parked"} {
		if !strings.Contains(squeeze(resp.Code), want) {
			t.Errorf("reply lacks %q:\n%s", want, resp.Code)
		}
	}

	// One probe made to fail: the verdict says so first.
	if err := b.SetHealth(standin.HealthFail, 0); err != nil {
		t.Fatal(err)
	}
	resp = run(reg, "status demo")
	if resp.Title != "Status: FAILING" || resp.Severity != chat.SevCritical || !strings.HasPrefix(resp.Text, "demo api failing, notifications warning") {
		t.Fatalf("resp = %+v", resp.Message)
	}
	if !strings.Contains(squeeze(resp.Code), "demo api FAILING status 503 in ") {
		t.Fatalf("api line missing:\n%s", resp.Code)
	}
	t.Logf("status reply with the API made to fail:\n%s\n%s\n%s", resp.Title, resp.Text, resp.Code)
	// The target each call concerns (what incident timelines and the audit
	// go by): the one named, or "" for every target.
	rows, err := reg.Store.RecentAudit(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Text != "status demo" || rows[0].Target != "demo" || rows[1].Text != "status" || rows[1].Target != "" {
		t.Fatalf("audit targets %+v", rows)
	}
}

func TestStatusUnknownTarget(t *testing.T) {
	reg, _ := setup(t)
	resp := run(reg, "status nosuch")
	if resp.Text != `unknown target "nosuch"; targets: demo` || resp.Severity != chat.SevWarning {
		t.Fatalf("resp = %+v", resp.Message)
	}
	rows, err := reg.Store.RecentAudit(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0].Verb != "status" || rows[0].Result != "invalid" {
		t.Fatalf("audit = %+v", rows)
	}
}

// squeeze collapses the table's padding so tests do not depend on widths.
func squeeze(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}
