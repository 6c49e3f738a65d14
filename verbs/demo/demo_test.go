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

func TestDemoVerbMakesTheStandInMisbehave(t *testing.T) {
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
	if got := do("demo health fail"); got != "stand-in /health now answers fail" || b.State().Health != standin.HealthFail {
		t.Fatalf("%q %v", got, b.State().Health)
	}
	if got := do("demo health sick"); !strings.HasPrefix(got, "mode must be one of ok, fail, slow") {
		t.Fatalf("bad mode: %q", got)
	}
	before, _ := os.ReadFile(b.LogPath("error"))
	if got := do("demo burst errors 7"); got != "wrote 7 errors line(s) into the stand-in's logs" {
		t.Fatalf("%q", got)
	}
	after, _ := os.ReadFile(b.LogPath("error"))
	if n := strings.Count(string(after[len(before):]), "ERROR"); n < 7 {
		t.Fatalf("error log got %d ERROR lines", n)
	}
	if got := do("demo burst errors -3"); got != `n must be a whole number from 1 to 100000, got "-3"` {
		t.Fatalf("%q", got)
	}
}
