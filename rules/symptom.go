package rules

import "strings"

// RunbookDoc is where the built-in rules' runbooks are written.
const RunbookDoc = "docs/runbooks.md"

// symptoms maps the built-in rules, and the findings and jobs that raise
// alerts without a threshold rule, to the diagnosis that explains them
// and the section of docs/runbooks.md that says what to do.
var symptoms = map[string][2]string{
	"cpu_high":           {"api-down", "service-not-responding"},
	"memory_high":        {"memory", "memory-leak"},
	"disk_high":          {"disk", "disk-full"},
	"disk_fill_forecast": {"disk", "disk-full"},
	"response_time_high": {"api-down", "service-not-responding"},
	"error_5xx_high":     {"api-down", "service-not-responding"},
	"llm_success_low":    {"llm", "llm-api-fails"},
	"error_lines_high":   {"api-down", "service-not-responding"},
	"llm_errors_high":    {"llm", "llm-api-fails"},
	"health_down":        {"api-down", "service-not-responding"},
	"api_down":           {"api-down", "service-not-responding"},
	"database_down":      {"db", "database-connection-fails"},
	"redis_down":         {"redis", "redis"},
	"llm_down":           {"llm", "llm-api-fails"},
	"uploads_down":       {"disk", "disk-full"},
	"logging_down":       {"disk", "disk-full"},
	"backup_failed":      {"db", "database-connection-fails"},
}

// byKind is the symptom of an alert whose rule is not listed.
var byKind = map[string][2]string{
	"health":   {"api-down", "service-not-responding"},
	"security": {"security", "security"},
	"backup":   {"db", "database-connection-fails"},
}

func builtinSymptom(rule string) (symptom, runbook string) {
	if s, ok := symptoms[rule]; ok {
		return s[0], RunbookDoc + "#" + s[1]
	}
	return "", ""
}

// SymptomOf says which diagnosis explains an alert and where its runbook
// is: the rule's own fields first (a configured rule carries them), then
// the built-in table, then the alert's kind. An external alert may name
// its symptom in a "symptom" label.
func (e *Engine) SymptomOf(rule, kind string, labels map[string]string) (symptom, runbook string) {
	e.mu.Lock()
	var own Rule
	for _, r := range e.Rules {
		if r.Name == rule {
			own = r
		}
	}
	e.mu.Unlock()
	symptom, runbook = SymptomOf(rule, kind, labels)
	// Each of the rule's own fields wins where it is set: a rule may name
	// its runbook and leave the diagnosis to the table, or the reverse.
	if own.Symptom != "" {
		symptom = own.Symptom
	}
	if own.RunbookURL != "" {
		runbook = own.RunbookURL
	}
	return symptom, runbook
}

// SymptomOf is the built-in mapping, for alerts of no configured rule.
func SymptomOf(rule, kind string, labels map[string]string) (symptom, runbook string) {
	if s, r := builtinSymptom(rule); s != "" {
		return s, r
	}
	if s := labels["symptom"]; s != "" {
		return s, labels["runbook_url"]
	}
	if s, ok := byKind[kind]; ok {
		return s[0], RunbookDoc + "#" + s[1]
	}
	switch {
	case strings.Contains(rule, "disk"):
		return "disk", RunbookDoc + "#disk-full"
	case strings.Contains(rule, "memory"):
		return "memory", RunbookDoc + "#memory-leak"
	case strings.Contains(rule, "llm"):
		return "llm", RunbookDoc + "#llm-api-fails"
	case strings.Contains(rule, "redis"):
		return "redis", RunbookDoc + "#redis"
	case strings.Contains(rule, "login") || strings.Contains(rule, "tls") || strings.Contains(rule, "writable"):
		return "security", RunbookDoc + "#security"
	}
	return "api-down", RunbookDoc + "#service-not-responding"
}
