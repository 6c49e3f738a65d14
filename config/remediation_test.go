package config

import (
	"strings"
	"testing"
)

// A rule's remediation must be an action of the allowlist that its target
// can run; each problem is named with its line, a valid one passes.
func TestRuleRemediationChecked(t *testing.T) {
	_, probs := loadYAML(t, `targets:
  - {name: api, health_url: "http://127.0.0.1:8000/health", restart: [systemctl, restart, api]}
checks:
  - {name: lesson, kind: http, url: "http://127.0.0.1:8000/lesson", target: api}
  - {name: loose, kind: tcp, address: "127.0.0.1:9"}
rules:
  rules:
    - name: lesson_down
      expr: lesson_up == 0
      severity: critical
      remediation: restart
    - name: lesson_reboot
      expr: lesson_up == 0
      severity: critical
      remediation: reboot
    - name: lesson_flush
      expr: lesson_latency_ms > 900
      severity: warning
      remediation: cache_flush
    - name: loose_down
      expr: loose_up == 0
      severity: warning
      remediation: restart
    - name: disk_clean
      expr: disk_pct > 95
      severity: critical
      remediation: cleanup
`, map[string]string{})
	want := []string{
		`rules.rules[1].remediation: unknown action "reboot" (want restart, cache_flush, cleanup) (line 15)`,
		`rules.rules[2].remediation: cache_flush is not allowed on target "api": no Redis cache configured (line 19)`,
		`rules.rules[3].remediation: restart: check "loose" has no configured target to act on (line 23)`,
		`rules.rules[4].remediation: cleanup is not allowed on any target (api: no workdir configured) (line 27)`,
	}
	if got := strings.Join(probs, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
