package remediate_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"opsbot/checks"
	"opsbot/config"
	"opsbot/remediate"
	"opsbot/rules"
	"opsbot/store/storetest"
)

// A rule written in the file with a remediation: its alert, through the
// rules engine and the alert pipeline, queues the action on the check's
// target through the same queue (allowlist, budget) as the built-in
// handlers.
func TestConfiguredRuleRemediates(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	e := newEnv(t, storetest.SQLite(t), envOpts{standin: true})
	e.cfg.Remediation.Budget = 3
	e.cfg.Checks = []config.Check{{Name: "uploads", Kind: "http", URL: down.URL, Target: "demo"}}
	zero := time.Duration(0)
	e.cfg.Rules.Rules = []config.AlertRule{{Name: "uploads_down", Expr: "uploads_up == 0", For: &zero, Severity: "critical", Remediation: "cleanup"}}
	if probs := e.cfg.Validate(); len(probs) > 0 {
		t.Fatalf("config: %v", probs)
	}
	rs, err := rules.RulesFrom(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := checks.New(e.cfg.Checks[0], checks.Options{Targets: e.cfg.Targets})
	if err != nil {
		t.Fatal(err)
	}
	// The pipeline tells remediation of what fires, as app wires it.
	e.n.SetActions(e.rem)
	eng := rules.NewEngine(rs, e.n, nil, nil)
	eng.Now = e.clk.Now
	eng.Add(rules.GroupRules, rules.CheckSource{Check: ch})
	ctx := context.Background()
	if err := eng.Eval(ctx, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	// The pipeline's step tells remediation after its commit; then the
	// queued cleanup runs.
	e.deliver(t)
	e.settle(t)
	atts := e.attempts(t, remediate.ActCleanup)
	if len(atts) != 1 || atts[0].Target != "demo" || atts[0].State != "done" {
		t.Fatalf("cleanup attempts %+v", atts)
	}
	if !strings.Contains(e.out.String(), "cleanup 1 of 3 on demo") {
		t.Fatalf("console:\n%s", e.out.String())
	}
}

// What config check lets a rule name is what the queue runs.
func TestRuleActionsAreTheQueuesAllowlist(t *testing.T) {
	if want := []string{remediate.ActRestart, remediate.ActCacheFlush, remediate.ActCleanup}; !slices.Equal(config.RemediationActions, want) {
		t.Fatalf("config allows %v, the queue runs %v", config.RemediationActions, want)
	}
}
