package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Check is one user-defined check (checks: in the file). Each produces
// samples named by the check (CheckMetrics) that rules judge like the
// built-in signals. Kind picks which of the fields below apply.
type Check struct {
	Name string `yaml:"name"`
	// Kind: http, tcp, process, command, sql, log or prometheus.
	Kind string `yaml:"kind"`
	// Target labels the samples (and so the alerts) with a target's name;
	// empty: the check's name. A log check reads this target's log.
	Target  string        `yaml:"target"`
	Timeout time.Duration `yaml:"timeout"`

	// http: Method [GET] and URL; ExpectStatus [any 2xx or 3xx];
	// ExpectBody, a substring the body must hold. An https URL also gives
	// the days its certificate has left.
	Method       string `yaml:"method"`
	URL          string `yaml:"url"`
	ExpectStatus int    `yaml:"expect_status"`
	ExpectBody   string `yaml:"expect_body"`
	// tcp: host:port.
	Address string `yaml:"address"`
	// process: a process name (as ps shows it) or a pid file.
	Process string `yaml:"process"`
	PIDFile string `yaml:"pid_file"`
	// command: argv, never a shell; up when it exits ExpectExit; the value
	// is the first number of its stdout, or ValueRegexp's first group.
	Command     []string `yaml:"command"`
	ExpectExit  int      `yaml:"expect_exit"`
	ValueRegexp string   `yaml:"value_regexp"`
	// sql: a read-only query returning one number, on Driver (sqlite or
	// postgres) at the DSN held by the environment variable DSNEnv (or its
	// _FILE twin): a DSN may carry a password, which never sits in the file.
	// Without DSNEnv, on Target's configured database.
	// prometheus: Query is a PromQL instant query against URL.
	Driver string `yaml:"driver"`
	DSNEnv string `yaml:"dsn_env"`
	Query  string `yaml:"query"`
	// log: Log names one of Target's logs; lines matching Pattern (a
	// regexp) are counted over Window [rules.window].
	Log     string        `yaml:"log"`
	Pattern string        `yaml:"pattern"`
	Window  time.Duration `yaml:"window"`
}

// CheckKinds are the kinds a check may have.
var CheckKinds = []string{"http", "tcp", "process", "command", "sql", "log", "prometheus"}

// SampleTarget is the target the check's samples carry.
func (c Check) SampleTarget() string {
	if c.Target != "" {
		return c.Target
	}
	return c.Name
}

// CheckMetrics are the sample names a check produces, for rules to judge:
//
//	http        <name>_up, <name>_latency_ms, <name>_status, <name>_tls_days_left (https)
//	tcp         <name>_up, <name>_latency_ms
//	process     <name>_up, <name>_count, <name>_rss_mb, <name>_cpu_pct
//	command     <name>_up, <name>_exit_code, <name>_duration_ms, <name> (the number read)
//	sql         <name>
//	log         <name> (matching lines in the window), <name>_per_min
//	prometheus  <name>
func CheckMetrics(c Check) []string {
	n := c.Name
	switch c.Kind {
	case "http":
		out := []string{n + "_up", n + "_latency_ms", n + "_status"}
		if strings.HasPrefix(c.URL, "https://") {
			out = append(out, n+"_tls_days_left")
		}
		return out
	case "tcp":
		return []string{n + "_up", n + "_latency_ms"}
	case "process":
		return []string{n + "_up", n + "_count", n + "_rss_mb", n + "_cpu_pct"}
	case "command":
		return []string{n + "_up", n + "_exit_code", n + "_duration_ms", n}
	case "log":
		return []string{n, n + "_per_min"}
	case "sql", "prometheus":
		return []string{n}
	}
	return nil
}

// BuiltinMetrics are the signals opsbot samples by itself, which rules may
// judge besides the checks'.
var BuiltinMetrics = []string{"cpu_pct", "memory_pct", "disk_pct", "response_time_ms", "error_5xx_pct", "requests",
	"llm_success_pct", "llm_calls", "llm_errors", "error_lines", "login_failed", "unparsed_lines", "health_latency_ms", "health_up"}

// AlertRule is a rule as the file writes it (rules.rules), the form the
// built-in rules take too (`opsbot config show --defaults`). A rule with a
// built-in's name replaces that built-in.
type AlertRule struct {
	Name string `yaml:"name"`
	// Expr is a threshold: <metric> <op> <number>, op one of > >= < <= == !=
	// ("lesson_api_latency_ms > 1000").
	Expr string `yaml:"expr"`
	// Resolve, when set, is the hysteresis bound: a firing alert resolves
	// only once the value is no longer beyond it by the same comparison
	// (expr cpu_pct > 90, resolve 80: resolves at 80 or below).
	Resolve *float64 `yaml:"resolve,omitempty"`
	// Guard is a second threshold on the same target that must hold for the
	// rule to go pending ("requests >= 20": one slow request on an idle
	// site is no alert).
	Guard string `yaml:"guard,omitempty"`
	// For: how long the value must stay beyond before firing [rules.for];
	// ForSamples, when positive, counts samples in a row instead.
	For        *time.Duration `yaml:"for,omitempty"`
	ForSamples int            `yaml:"for_samples,omitempty"`
	// KeepFiringFor keeps a firing alert firing that long after the value
	// came back, as Prometheus' keep_firing_for.
	KeepFiringFor time.Duration `yaml:"keep_firing_for,omitempty"`
	Severity      string        `yaml:"severity"`
	// Labels are added to the alert's (for routes, silences, inhibitions).
	Labels map[string]string `yaml:"labels,omitempty"`
	// Annotations: summary and description, Go text/template over
	// .Value, .Target, .Rule and .Labels ("{{ .Target }} takes {{ printf \"%.0f\" .Value }} ms").
	Annotations map[string]string `yaml:"annotations,omitempty"`
	// Title and Unit word the default summary ("CPU use", "%", "ms").
	Title string `yaml:"title,omitempty"`
	Unit  string `yaml:"unit,omitempty"`
	// Symptom names the diagnosis an alert runs (api-down, db, llm,
	// memory, disk, redis, security); RunbookURL its runbook.
	Symptom    string `yaml:"symptom,omitempty"`
	RunbookURL string `yaml:"runbook_url,omitempty"`
	// Remediation is the action the remediation queue runs while the
	// rule's alert fires (RemediationActions: restart, cache_flush,
	// cleanup), with the same budget and one-at-a-time rule as the
	// built-in handlers.
	Remediation string `yaml:"remediation,omitempty"`
}

// Threshold expression operators.
var exprOps = []string{">=", "<=", "==", "!=", ">", "<"}

var metricRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Expr is a parsed threshold expression.
type Expr struct {
	Metric string
	Op     string
	Value  float64
}

func (e Expr) String() string {
	return e.Metric + " " + e.Op + " " + strconv.FormatFloat(e.Value, 'f', -1, 64)
}

// ParseExpr reads "<metric> <op> <number>".
func ParseExpr(s string) (Expr, error) {
	s = strings.TrimSpace(s)
	for _, op := range exprOps {
		i := strings.Index(s, op)
		if i < 0 {
			continue
		}
		m, num := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+len(op):])
		if !metricRE.MatchString(m) {
			return Expr{}, fmt.Errorf("bad metric name %q in %q", m, s)
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return Expr{}, fmt.Errorf("not a number %q in %q", num, s)
		}
		return Expr{Metric: m, Op: op, Value: v}, nil
	}
	return Expr{}, fmt.Errorf("want <metric> <op> <number> with op one of > >= < <= == !=, got %q", s)
}

// TemplateData is what a rule's annotation templates see.
type TemplateData struct {
	Value  float64
	Target string
	Rule   string
	Labels map[string]string
}

// ParseAnnotation parses an annotation template.
func ParseAnnotation(name, text string) (*template.Template, error) {
	return template.New(name).Option("missingkey=zero").Parse(text)
}

func (c *Config) validateChecks(p *Problems) {
	names := map[string]bool{}
	targets := map[string]Target{}
	for _, t := range c.Targets {
		targets[t.Name] = t
	}
	for i, ch := range c.Checks {
		path := fmt.Sprintf("checks[%d]", i)
		switch {
		case ch.Name == "":
			p.add(path+".name", "missing")
		case !metricRE.MatchString(ch.Name):
			p.add(path+".name", "%q: use letters, digits and _ (it names the samples)", ch.Name)
		case names[ch.Name]:
			p.add(path+".name", "duplicate check %q", ch.Name)
		}
		names[ch.Name] = true
		if ch.Timeout < 0 {
			p.add(path+".timeout", "must not be negative")
		}
		need := func(key string, ok bool) {
			if !ok {
				p.add(path+"."+key, "missing (a %s check needs it)", ch.Kind)
			}
		}
		switch ch.Kind {
		case "http":
			need("url", ch.URL != "")
			if ch.URL != "" {
				if u, err := url.Parse(ch.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					p.add(path+".url", "not an http(s) URL: %q", ch.URL)
				}
			}
			if ch.ExpectStatus != 0 && (ch.ExpectStatus < 100 || ch.ExpectStatus > 599) {
				p.add(path+".expect_status", "not an HTTP status: %d", ch.ExpectStatus)
			}
		case "tcp":
			need("address", ch.Address != "")
			if ch.Address != "" {
				if _, _, err := net.SplitHostPort(ch.Address); err != nil {
					p.add(path+".address", "not host:port: %q", ch.Address)
				}
			}
		case "process":
			if (ch.Process == "") == (ch.PIDFile == "") {
				p.add(path, "set process (a name) or pid_file, one of them")
			}
		case "command":
			need("command", len(ch.Command) > 0 && ch.Command[0] != "")
			if ch.ValueRegexp != "" {
				if re, err := regexp.Compile(ch.ValueRegexp); err != nil {
					p.add(path+".value_regexp", "%v", err)
				} else if re.NumSubexp() < 1 {
					p.add(path+".value_regexp", "needs a group around the number")
				}
			}
		case "sql":
			need("query", ch.Query != "")
			if ch.DSNEnv == "" {
				// The target's own database.
				if t, ok := targets[ch.Target]; !ok || (t.Database.Path == "" && t.Database.DSN == "") {
					p.add(path, "set dsn_env, or a target with a database")
				}
			} else if ch.Driver != "sqlite" && ch.Driver != "postgres" {
				p.add(path+".driver", "want sqlite or postgres, got %q", ch.Driver)
			}
		case "log":
			need("target", ch.Target != "")
			need("log", ch.Log != "")
			need("pattern", ch.Pattern != "")
			if ch.Pattern != "" {
				if _, err := regexp.Compile(ch.Pattern); err != nil {
					p.add(path+".pattern", "%v", err)
				}
			}
			if t, ok := targets[ch.Target]; ch.Target != "" && !ok {
				p.add(path+".target", "unknown target %q", ch.Target)
			} else if ok && ch.Log != "" {
				if _, has := t.Logs[ch.Log]; !has {
					p.add(path+".log", "target %q has no log %q", ch.Target, ch.Log)
				}
			}
			if ch.Window < 0 {
				p.add(path+".window", "must not be negative")
			}
		case "prometheus":
			need("url", ch.URL != "")
			need("query", ch.Query != "")
			if ch.URL != "" {
				if u, err := url.Parse(ch.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					p.add(path+".url", "not an http(s) URL: %q", ch.URL)
				}
			}
		case "":
			p.add(path+".kind", "missing (want %s)", strings.Join(CheckKinds, ", "))
		default:
			p.add(path+".kind", "unknown kind %q (want %s)", ch.Kind, strings.Join(CheckKinds, ", "))
		}
		if ch.Kind != "log" && ch.Target != "" {
			if _, ok := targets[ch.Target]; !ok {
				p.add(path+".target", "unknown target %q", ch.Target)
			}
		}
	}
}

func (c *Config) validateAlertRules(p *Problems) {
	metrics := map[string]bool{}
	for _, m := range BuiltinMetrics {
		metrics[m] = true
	}
	for _, ch := range c.Checks {
		for _, m := range CheckMetrics(ch) {
			metrics[m] = true
		}
	}
	names := map[string]bool{}
	for i, r := range c.Rules.Rules {
		path := fmt.Sprintf("rules.rules[%d]", i)
		switch {
		case r.Name == "":
			p.add(path+".name", "missing")
		case !metricRE.MatchString(r.Name):
			p.add(path+".name", "%q: use letters, digits and _", r.Name)
		case names[r.Name]:
			p.add(path+".name", "duplicate rule %q", r.Name)
		}
		names[r.Name] = true
		if e, err := ParseExpr(r.Expr); err != nil {
			p.add(path+".expr", "%v", err)
		} else if !metrics[e.Metric] {
			p.add(path+".expr", "no check or built-in signal gives %q", e.Metric)
		}
		if r.Guard != "" {
			if e, err := ParseExpr(r.Guard); err != nil {
				p.add(path+".guard", "%v", err)
			} else if !metrics[e.Metric] {
				p.add(path+".guard", "no check or built-in signal gives %q", e.Metric)
			}
		}
		if r.For != nil && *r.For < 0 {
			p.add(path+".for", "must not be negative")
		}
		if r.ForSamples < 0 {
			p.add(path+".for_samples", "must not be negative")
		}
		if r.KeepFiringFor < 0 {
			p.add(path+".keep_firing_for", "must not be negative")
		}
		if r.Severity != "warning" && r.Severity != "critical" {
			p.add(path+".severity", "want warning or critical, got %q", r.Severity)
		}
		for k := range r.Labels {
			if !labelNameRE.MatchString(k) {
				p.add(path+".labels."+k, "bad label name %q", k)
			}
			if slices.Contains([]string{"kind", "rule", "target", "severity"}, k) {
				p.add(path+".labels."+k, "%q is set by the alert itself", k)
			}
		}
		for _, k := range sortedKeys(r.Annotations) {
			t, err := ParseAnnotation(k, r.Annotations[k])
			if err == nil {
				// A template that parses may still fail on an alert: try it on one.
				err = t.Execute(new(strings.Builder), TemplateData{Value: 1, Target: "api", Rule: r.Name,
					Labels: map[string]string{"target": "api", "rule": r.Name, "severity": r.Severity}})
			}
			if err != nil {
				p.add(path+".annotations."+k, "%v", err)
			}
		}
		if r.RunbookURL != "" && strings.Contains(r.RunbookURL, "://") {
			if u, err := url.Parse(r.RunbookURL); err != nil || u.Host == "" {
				p.add(path+".runbook_url", "not a URL: %q", r.RunbookURL)
			}
		}
	}
}

// MarshalYAML writes durations as the file writes them (2m, not nanoseconds).
func (r AlertRule) MarshalYAML() (any, error) {
	type out struct {
		Name          string            `yaml:"name"`
		Expr          string            `yaml:"expr"`
		Resolve       *float64          `yaml:"resolve,omitempty"`
		Guard         string            `yaml:"guard,omitempty"`
		For           string            `yaml:"for,omitempty"`
		ForSamples    int               `yaml:"for_samples,omitempty"`
		KeepFiringFor string            `yaml:"keep_firing_for,omitempty"`
		Severity      string            `yaml:"severity"`
		Labels        map[string]string `yaml:"labels,omitempty"`
		Annotations   map[string]string `yaml:"annotations,omitempty"`
		Title         string            `yaml:"title,omitempty"`
		Unit          string            `yaml:"unit,omitempty"`
		Symptom       string            `yaml:"symptom,omitempty"`
		RunbookURL    string            `yaml:"runbook_url,omitempty"`
		Remediation   string            `yaml:"remediation,omitempty"`
	}
	o := out{Name: r.Name, Expr: r.Expr, Resolve: r.Resolve, Guard: r.Guard, ForSamples: r.ForSamples, Severity: r.Severity,
		Labels: r.Labels, Annotations: r.Annotations, Title: r.Title, Unit: r.Unit, Symptom: r.Symptom, RunbookURL: r.RunbookURL,
		Remediation: r.Remediation}
	if r.For != nil {
		o.For = durString(*r.For)
	}
	if r.KeepFiringFor > 0 {
		o.KeepFiringFor = durString(r.KeepFiringFor)
	}
	return o, nil
}

// durString prints 2m rather than 2m0s.
func durString(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
