package rules

import (
	"strings"
	"testing"
	"time"

	"opsbot/config"
)

// A reload (SetRules with a changed configuration) keeps the pending `for`
// timer of a rule it did not change, as Prometheus' rules.Manager.Update
// keeps group state: cpu_high, pending since 10:00 with for 2 min, fires at
// 10:02 even though the rules were replaced at 10:01.
func TestPendingRuleKeepsItsTimerAcrossReload(t *testing.T) {
	e, sink, host := newTestEngine(t, nil)
	host.set(90, 10, 10)
	eval(t, e, t0)
	cfg := config.Default()
	cfg.Rules.Severity = map[string]string{"memory_high": "critical"} // another rule changes
	e.SetRules(DefaultRules(cfg))
	eval(t, e, t0.Add(time.Minute))
	if got := strings.Join(sink.take(), "; "); got != "" {
		t.Fatalf("fired before its for: %q", got)
	}
	eval(t, e, t0.Add(2*time.Minute))
	if got := strings.Join(sink.take(), "; "); got != "firing cpu_high warning 90" {
		t.Fatalf("at 10:02 (2 min after it became pending, across the reload): %q", got)
	}
}
