package demo_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/standin"
	"opsbot/store/storetest"
	"opsbot/verbs/demo"
)

func TestDemoFaultVerb(t *testing.T) {
	b, err := standin.Start(context.Background(), t.TempDir(), standin.Options{Self: os.Args[0], RowsPerSecond: -1, LogInterval: time.Hour, HistoryLines: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	reg := commands.NewRegistry(config.Default, storetest.SQLite(t), nil)
	reg.MustRegister(demo.Verbs(b)...)
	do := func(text string) string {
		return reg.Handle(context.Background(), commands.Request{Platform: "console", User: "me", Local: true, Text: text}).Text
	}
	if got := do("demo fault db-mode"); got != "stand-in fault db-mode injected; try /ops diagnose db" {
		t.Fatalf("%q", got)
	}
	if st, err := os.Stat(b.DBPath()); err != nil || st.Mode().Perm() != 0 {
		t.Fatalf("database mode %v %v", st.Mode(), err)
	}
	if got := do("demo fault clear"); got != "stand-in faults cleared" {
		t.Fatalf("%q", got)
	}
	if st, err := os.Stat(b.DBPath()); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("database mode after clear %v %v", st.Mode(), err)
	}
	if got := do("demo fault meltdown"); !strings.HasPrefix(got, "fault must be one of clear, process-gone, port-taken") {
		t.Fatalf("bad fault: %q", got)
	}
}
