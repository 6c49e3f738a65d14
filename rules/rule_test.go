package rules

import (
	"os"
	"strings"
	"testing"
	"time"

	"opsbot/config"
)

func TestDefaultRulesFromConfig(t *testing.T) {
	cfg := config.Default()
	cfg.Rules.RuleFor = map[string]time.Duration{"disk_high": 10 * time.Minute}
	cfg.Rules.Severity = map[string]string{"cpu_high": "critical"}
	cfg.Thresholds.CPUPct = config.Threshold{Normal: 60, Alert: 75}
	byName := map[string]Rule{}
	for _, r := range DefaultRules(cfg) {
		byName[r.Name] = r
	}
	if len(byName) != len(config.RuleNames) {
		t.Fatalf("rules %v, config names %v", byName, config.RuleNames)
	}
	for _, n := range config.RuleNames {
		if _, ok := byName[n]; !ok {
			t.Errorf("config names rule %s that does not exist", n)
		}
	}
	cpu := byName["cpu_high"]
	if cpu.Alert != 75 || cpu.Normal != 60 || cpu.Severity != "critical" || cpu.For != 2*time.Minute {
		t.Errorf("cpu %+v", cpu)
	}
	if d := byName["disk_high"]; d.For != 10*time.Minute || d.Severity != "critical" {
		t.Errorf("disk %+v", d)
	}
	if l := byName["llm_success_low"]; !l.Below || l.Alert != 90 || l.Normal != 95 || !l.beyond(89.9) || l.beyond(90) || !l.normal(95) || l.normal(94.9) {
		t.Errorf("llm %+v", l)
	}
	if e := byName["error_lines_high"]; e.Alert != 10 || e.Normal != 10 || e.beyond(10) || !e.beyond(11) || !e.normal(10) {
		t.Errorf("error lines %+v", e)
	}
	if r := byName["response_time_high"]; r.Guard != MetricRequests || r.GuardMin != 20 {
		t.Errorf("response guard %+v", r)
	}
	if s := byName["llm_errors_high"].Describe("api", 7); s != "LLM API errors per 5m0s on api is 7 (alert above 5)" {
		t.Errorf("describe %q", s)
	}
}

func TestConfigRejectsBadRuleSettings(t *testing.T) {
	if p := config.Default().Validate(); len(p) != 0 {
		t.Fatalf("defaults invalid: %v", p)
	}
	cfg := config.Default()
	cfg.Rules.Severity = map[string]string{"cpu_hgih": "warning", "disk_high": "loud"}
	cfg.Rules.Window = 0
	cfg.Security.TLSURLs = []string{"http://example.test"}
	cfg.Security.TLSWarn = time.Hour
	got := cfg.Validate()
	var all []string
	for _, p := range got {
		all = append(all, p)
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{`unknown rule "cpu_hgih"`, `want warning or critical, got "loud"`, "rules.window", `not an https URL: "http://example.test"`, "security.tls_warn"} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems lack %q:\n%s", want, joined)
		}
	}
}

func TestRuleSettingsLoadFromYAMLAndEnv(t *testing.T) {
	path := t.TempDir() + "/opsbot.yaml"
	yaml := `rules:
  window: 10m
  for_samples: 3
  severity: {cpu_high: critical}
  rule_for: {disk_high: 15m}
  error_lines: 20
security:
  tls_urls: ["https://backend.test"]
  tls_warn: 336h
  requests_per_ip: 5000
  writable_globs: ["*.py", "*.sh"]
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadEnv(path, map[string]string{"OPSBOT_SECURITY_LOGIN_FAILED": "75"})
	if err != nil {
		t.Fatal(err)
	}
	r, s := cfg.Rules, cfg.Security
	if r.Window != 10*time.Minute || r.ForSamples != 3 || r.Severity["cpu_high"] != "critical" || r.RuleFor["disk_high"] != 15*time.Minute || r.ErrorLines != 20 || r.LLMErrors != 5 {
		t.Errorf("rules %+v", r)
	}
	if s.TLSWarn != 14*24*time.Hour || s.TLSCritical != 3*24*time.Hour || s.RequestsPerIP != 5000 || s.LoginFailed != 75 || len(s.WritableGlobs) != 2 || s.TLSURLs[0] != "https://backend.test" {
		t.Errorf("security %+v", s)
	}
}
