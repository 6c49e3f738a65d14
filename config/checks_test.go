package config

import (
	"strings"
	"testing"
)

// Every problem of checks and rules at once, each with its YAML line:
// unknown kinds, missing fields, names that refer to nothing, expressions
// and templates that do not parse or execute, duplicates.
func TestChecksAndRulesProblemsWithLines(t *testing.T) {
	_, probs := loadYAML(t, `targets:
  - {name: api, health_url: "http://127.0.0.1:8000/health"}
checks:
  - {name: lesson, kind: http, url: "ftp://x"}
  - {name: lesson, kind: ping}
  - {name: jobs, kind: sql, query: "select 1"}
  - {name: errs, kind: log, target: api, log: nope, pattern: "(bad"}
  - {name: q, kind: command, command: [echo], value_regexp: "[0-9]+"}
rules:
  rules:
    - name: slow
      expr: lesson_latency_ms > 1000
      severity: critical
      annotations: {summary: "{{ .Value }} on {{ .Target }}"}
    - name: slow
      expr: lesson_latncy_ms > 1000
      severity: loud
      annotations: {summary: "{{ .Nope }}", description: "{{ if }}"}
    - name: g
      expr: jobs >> 3
      guard: requests >= many
      severity: warning
      labels: {severity: x}
`, map[string]string{})
	want := []string{
		`checks[0].url: not an http(s) URL: "ftp://x" (line 4)`,
		`checks[1].name: duplicate check "lesson" (line 5)`,
		`checks[1].kind: unknown kind "ping" (want http, tcp, process, command, sql, log, prometheus) (line 5)`,
		`checks[2]: set dsn_env, or a target with a database (line 6)`,
		`checks[3].pattern: error parsing regexp: missing closing ): ` + "`(bad`" + ` (line 7)`,
		`checks[3].log: target "api" has no log "nope" (line 7)`,
		`checks[4].value_regexp: needs a group around the number (line 8)`,
		`rules.rules[1].name: duplicate rule "slow" (line 15)`,
		`rules.rules[1].expr: no check or built-in signal gives "lesson_latncy_ms" (line 16)`,
		`rules.rules[1].severity: want warning or critical, got "loud" (line 17)`,
		`rules.rules[1].annotations.description: template: description:1: missing value for if (line 18)`,
		`rules.rules[1].annotations.summary: template: summary:1:3: executing "summary" at <.Nope>: can't evaluate field Nope in type config.TemplateData (line 18)`,
		`rules.rules[2].expr: not a number "> 3" in "jobs >> 3" (line 20)`,
		`rules.rules[2].guard: not a number "many" in "requests >= many" (line 21)`,
		`rules.rules[2].labels.severity: "severity" is set by the alert itself (line 23)`,
	}
	if got := strings.Join(probs, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
