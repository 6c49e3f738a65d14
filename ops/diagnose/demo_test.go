package diagnose_test

import (
	"context"
	"os"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/ops/diagnose"
	"opsbot/standin"
)

// The demo's faults, injected into the stand-in, are each found first by
// the diagnosis the demo points to; cleared, they are gone.
func TestDemoFaults(t *testing.T) {
	sb, err := standin.Start(context.Background(), t.TempDir(), standin.Options{HistoryLines: 100, LogInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	cfg := config.Default()
	cfg.Targets = []config.Target{sb.Target()}
	cfg.Targets[0].HealthTimeout = 300 * time.Millisecond
	// The shared machine's load is not the fault under test.
	cfg.Thresholds.CPUPct = config.Threshold{Normal: 100, Alert: 100}
	cfg.Thresholds.MemoryPct = config.Threshold{Normal: 100, Alert: 100}
	g := diagnose.New(diagnose.Deps{Config: func() *config.Config { return cfg }})
	for _, c := range []struct {
		fault          standin.Fault
		symptom, check string
	}{
		{standin.FaultProcessGone, diagnose.APIDown, "process"},
		{standin.FaultPortTaken, diagnose.APIDown, "port"},
		{standin.FaultDBMode, diagnose.DB, "database file"},
		{standin.FaultLLMErrors, diagnose.LLM, "llm log"},
	} {
		t.Run(string(c.fault), func(t *testing.T) {
			if err := sb.Inject(c.fault); err != nil {
				t.Fatal(err)
			}
			rep, err := g.Run(context.Background(), c.symptom, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			top := rep.Top()
			if top.Check != c.check || top.OK() {
				t.Fatalf("top finding [%.0f] %s: %s; want the %s check", top.Score, top.Check, top.Title, c.check)
			}
			if err := sb.Clear(); err != nil {
				t.Fatal(err)
			}
			if c.fault == standin.FaultLLMErrors {
				return // the errors stay in the log for the hour, as real ones would
			}
			rep, err = g.Run(context.Background(), c.symptom, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Findings {
				if f.Check == c.check && !f.OK() {
					t.Errorf("after clear: [%.0f] %s", f.Score, f.Title)
				}
			}
		})
	}
	if st, err := os.Stat(sb.DBPath()); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("database mode after clear: %v %v", st.Mode(), err)
	}
}
