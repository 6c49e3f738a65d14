// Package rules turns samples into alerts: threshold rules that go pending,
// then firing after holding for their `for` duration (or N samples), and
// resolve only back inside the normal range (hysteresis); and findings of
// log monitors and security scans, which fire when found and resolve when
// gone. Sources (host, health, logs, security scans) are collected on each
// evaluation; each records its health and last error, one failing never
// stops the others, and cancellation is not an error. Evaluation runs on
// its own loop (Run) on an injected clock, or from the scheduler (Eval, Scan).
package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"opsbot/config"
)

// Metric names of the built-in signals.
const (
	MetricCPU          = "cpu_pct"
	MetricMemory       = "memory_pct"
	MetricDisk         = "disk_pct"
	MetricResponseTime = "response_time_ms"
	Metric5xx          = "error_5xx_pct"
	MetricRequests     = "requests"
	MetricLLMSuccess   = "llm_success_pct"
	MetricLLMCalls     = "llm_calls"
	MetricLLMErrors    = "llm_errors"
	MetricErrorLines   = "error_lines"
	MetricLoginFailed  = "login_failed"
	MetricUnparsed     = "unparsed_lines"
	MetricHealthMS     = "health_latency_ms"
	MetricHealthUp     = "health_up"
)

// Rule is a threshold on one metric, judged per target.
type Rule struct {
	Name   string // cpu_high
	Metric string // cpu_pct
	Title  string // "CPU use"
	Unit   string // "%", "ms" or "" for counts
	// Below: the rule fires when the value falls under Alert (success rates).
	Below bool
	// Alert is the threshold; Normal the bound the value must return to
	// before the alert resolves (equal to Alert for plain counts).
	Alert, Normal float64
	// For is how long the value must stay beyond Alert before firing;
	// ForSamples, when positive, counts samples in a row instead.
	For        time.Duration
	ForSamples int
	Severity   string // warning | critical
	// Guard, when set, names a metric of the same target that must be at
	// least GuardMin for the rule to go pending (requests in the window:
	// one slow request on an idle site is not an alert).
	Guard    string
	GuardMin float64
	// Symptom is the diagnosis an alert of this rule runs (api-down, db,
	// llm, memory, disk, redis, security); RunbookURL its runbook.
	Symptom    string
	RunbookURL string
	// Op, when set, is the comparison (> >= < <= == !=) and overrides Below.
	Op string
	// GuardOp compares the guard metric to GuardMin [>=].
	GuardOp string
	// KeepFiringFor keeps a firing alert firing that long after its value
	// came back inside the normal range.
	KeepFiringFor time.Duration
	// Labels are added to the alert's; Summary and Description, when set,
	// are the annotation templates (config.TemplateData) that word it.
	Labels               map[string]string
	Summary, Description *template.Template
	// Remediation is the action its alerts carry (config.RemediationActions).
	Remediation string
}

func (r Rule) op() string {
	switch {
	case r.Op != "":
		return r.Op
	case r.Below:
		return "<"
	}
	return ">"
}

func compare(op string, v, bound float64) bool {
	switch op {
	case ">":
		return v > bound
	case ">=":
		return v >= bound
	case "<":
		return v < bound
	case "<=":
		return v <= bound
	case "==":
		return v == bound
	case "!=":
		return v != bound
	}
	return false
}

// beyond reports whether v is past the alert threshold.
func (r Rule) beyond(v float64) bool { return compare(r.op(), v, r.Alert) }

// normal reports whether v is back inside the normal range: no longer
// beyond the Normal bound by the rule's comparison.
func (r Rule) normal(v float64) bool { return !compare(r.op(), v, r.Normal) }

// Describe words a value of the rule for an alert.
func (r Rule) Describe(target string, v float64) string {
	where := "host"
	if target != "" {
		where = target
	}
	cmp, back := "above", "at or below"
	switch r.op() {
	case "<":
		cmp, back = "below", "at or above"
	case ">=":
		cmp, back = "at or above", "below"
	case "<=":
		cmp, back = "at or below", "above"
	case "==":
		cmp, back = "equal to", "other than"
	case "!=":
		cmp, back = "other than", "equal to"
	}
	s := fmt.Sprintf("%s on %s is %s (alert %s %s", r.Title, where, FormatValue(v, r.Unit), cmp, FormatValue(r.Alert, r.Unit))
	if r.Normal != r.Alert {
		s += fmt.Sprintf(", resolves %s %s", back, FormatValue(r.Normal, r.Unit))
	}
	return s + ")"
}

// FormatValue prints a value with its unit: "91.2 %", "2300 ms", "12".
func FormatValue(v float64, unit string) string {
	switch unit {
	case "%":
		return strconv.FormatFloat(v, 'f', 1, 64) + " %"
	case "ms":
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	case "":
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
}

// DefaultRules are the built-in rules (DefaultConfig) compiled: the seed's
// table from config.Thresholds plus the seed's log monitors, with `for`,
// severities and windows from config.Rules.
func DefaultRules(cfg *config.Config) []Rule {
	defs := DefaultConfig(cfg)
	rs := make([]Rule, 0, len(defs))
	for _, d := range defs {
		r, err := Compile(d, cfg.Rules.For)
		if err != nil {
			panic(err) // the built-ins are written here and always compile
		}
		rs = append(rs, r)
	}
	return rs
}

// Fingerprint is stable for one condition: rule, target and labels.
func Fingerprint(rule, target string, labels map[string]string) string {
	h := sha256.New()
	h.Write([]byte(rule + "\x00" + target))
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.Write([]byte("\x00" + k + "=" + labels[k]))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func labelString(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ",")
}
