package rules

import (
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"opsbot/config"
)

// words are an alert's summary and detail: the rule's annotation templates
// when it has them, else the built-in wording. A template that fails on a
// value (it was tried on a sample at load) falls back to the wording and
// says so in the log.
func (r Rule) words(target string, v float64, severity string, log *slog.Logger) (summary, detail string) {
	summary = r.Describe(target, v)
	if r.Summary == nil && r.Description == nil {
		return summary, ""
	}
	labels := maps.Clone(r.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels["rule"], labels["target"], labels["severity"] = r.Name, target, severity
	data := config.TemplateData{Value: v, Target: target, Rule: r.Name, Labels: labels}
	if r.Summary != nil {
		var b strings.Builder
		if err := r.Summary.Execute(&b, data); err != nil {
			log.Warn("rules: summary template", "rule", r.Name, "err", err)
		} else if s := strings.TrimSpace(b.String()); s != "" {
			summary = s
		}
	}
	if r.Description != nil {
		var b strings.Builder
		if err := r.Description.Execute(&b, data); err != nil {
			log.Warn("rules: description template", "rule", r.Name, "err", err)
		} else {
			detail = strings.TrimSpace(b.String())
		}
	}
	return summary, detail
}

// DefaultConfig is the built-in rules in the form the file writes them
// (rules.rules): the seed's thresholds and log monitors with the `for`,
// severities and windows of cfg.Rules. `opsbot config show --defaults`
// prints them; a rule of the file with the same name replaces one.
func DefaultConfig(cfg *config.Config) []config.AlertRule {
	th, rc := cfg.Thresholds, cfg.Rules
	mk := func(name, metric, title, unit string, t config.Threshold, op, sev string) config.AlertRule {
		r := config.AlertRule{Name: name, Expr: config.Expr{Metric: metric, Op: op, Value: t.Alert}.String(),
			Title: title, Unit: unit, Severity: sev, ForSamples: rc.ForSamples}
		f := rc.For
		if d, ok := rc.RuleFor[name]; ok {
			f, r.ForSamples = d, 0
		}
		r.For = &f
		if s, ok := rc.Severity[name]; ok {
			r.Severity = s
		}
		if t.Normal != t.Alert {
			n := t.Normal
			r.Resolve = &n
		}
		r.Symptom, r.RunbookURL = builtinSymptom(name)
		switch metric {
		case MetricResponseTime, Metric5xx:
			r.Guard = config.Expr{Metric: MetricRequests, Op: ">=", Value: float64(rc.MinRequests)}.String()
		}
		return r
	}
	count := func(n int) config.Threshold { return config.Threshold{Normal: float64(n), Alert: float64(n)} }
	return []config.AlertRule{
		mk("cpu_high", MetricCPU, "CPU use", "%", th.CPUPct, ">", "warning"),
		mk("memory_high", MetricMemory, "memory use", "%", th.MemoryPct, ">", "warning"),
		mk("disk_high", MetricDisk, "disk use", "%", th.DiskPct, ">", "critical"),
		mk("response_time_high", MetricResponseTime, "mean response time", "ms", th.ResponseTimeMS, ">", "warning"),
		mk("error_5xx_high", Metric5xx, "5xx rate", "%", th.Error5xxPct, ">", "critical"),
		mk("llm_success_low", MetricLLMSuccess, "LLM API success rate", "%", th.LLMSuccessPct, "<", "critical"),
		mk("error_lines_high", MetricErrorLines, "ERROR lines per "+rc.Window.String(), "", count(rc.ErrorLines), ">", "warning"),
		mk("llm_errors_high", MetricLLMErrors, "LLM API errors per "+rc.Window.String(), "", count(rc.LLMErrors), ">", "warning"),
	}
}

// Compile turns a rule as the file writes it into a Rule; defFor is the
// `for` of a rule that sets none (rules.for). The configuration was
// validated: an error here is a rule that did not pass through it.
func Compile(ar config.AlertRule, defFor time.Duration) (Rule, error) {
	e, err := config.ParseExpr(ar.Expr)
	if err != nil {
		return Rule{}, fmt.Errorf("rule %s: %w", ar.Name, err)
	}
	r := Rule{Name: ar.Name, Metric: e.Metric, Title: ar.Title, Unit: ar.Unit, Op: e.Op, Alert: e.Value, Normal: e.Value,
		For: defFor, ForSamples: ar.ForSamples, KeepFiringFor: ar.KeepFiringFor, Severity: ar.Severity,
		Symptom: ar.Symptom, RunbookURL: ar.RunbookURL, Labels: maps.Clone(ar.Labels),
		Remediation: ar.Remediation}
	if r.Title == "" {
		r.Title = e.Metric
	}
	// The built-in comparisons keep their old form (Below) so that their
	// state and wording stay as they were.
	switch e.Op {
	case ">":
		r.Op = ""
	case "<":
		r.Op, r.Below = "", true
	}
	if ar.For != nil {
		r.For = *ar.For
	}
	if ar.Resolve != nil {
		r.Normal = *ar.Resolve
	}
	if ar.Guard != "" {
		g, err := config.ParseExpr(ar.Guard)
		if err != nil {
			return Rule{}, fmt.Errorf("rule %s guard: %w", ar.Name, err)
		}
		r.Guard, r.GuardOp, r.GuardMin = g.Metric, g.Op, g.Value
		if r.GuardOp == ">=" {
			r.GuardOp = ""
		}
	}
	for k, text := range ar.Annotations {
		t, err := config.ParseAnnotation(ar.Name+"."+k, text)
		if err != nil {
			return Rule{}, fmt.Errorf("rule %s annotation %s: %w", ar.Name, k, err)
		}
		switch k {
		case "summary":
			r.Summary = t
		case "description":
			r.Description = t
		}
	}
	return r, nil
}

// RulesFrom is every rule in force: the built-ins, each replaced by a rule
// of the file with its name, then the file's other rules in order.
func RulesFrom(cfg *config.Config) ([]Rule, error) {
	custom := map[string]config.AlertRule{}
	for _, r := range cfg.Rules.Rules {
		custom[r.Name] = r
	}
	var out []Rule
	for _, d := range DefaultConfig(cfg) {
		if c, ok := custom[d.Name]; ok {
			d = c
			delete(custom, d.Name)
		}
		r, err := Compile(d, cfg.Rules.For)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	for _, c := range cfg.Rules.Rules {
		if _, ok := custom[c.Name]; !ok {
			continue
		}
		r, err := Compile(c, cfg.Rules.For)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
