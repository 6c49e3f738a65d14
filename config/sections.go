package config

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Sections owned by later work (alerting, scheduling, incidents) keep their
// types, defaults and validation here, one type per concern.

// Rules configures the alert rules' evaluation.
type Rules struct {
	Interval time.Duration `yaml:"interval"`
	For      time.Duration `yaml:"for"`
}

func (r *Rules) setDefaults() {
	r.Interval = time.Minute
	r.For = 2 * time.Minute
}

func (r Rules) validate(p *Problems) {
	if r.Interval <= 0 {
		p.add("rules.interval", "must be positive")
	}
	if r.For < 0 {
		p.add("rules.for", "must not be negative")
	}
}

// Notifier configures routing and delivery of alerts.
type Notifier struct {
	GroupWait   time.Duration `yaml:"group_wait"`
	Repeat      time.Duration `yaml:"repeat"`
	MaxAttempts int           `yaml:"max_attempts"`
}

func (n *Notifier) setDefaults() {
	n.GroupWait = 30 * time.Second
	n.Repeat = 4 * time.Hour
	n.MaxAttempts = 10
}

func (n Notifier) validate(p *Problems) {
	if n.GroupWait < 0 {
		p.add("notifier.group_wait", "must not be negative")
	}
	if n.Repeat <= 0 {
		p.add("notifier.repeat", "must be positive")
	}
	if n.MaxAttempts <= 0 {
		p.add("notifier.max_attempts", "must be positive")
	}
}

// Security configures the security scans.
type Security struct {
	WritableRoots []string `yaml:"writable_roots"`
	TLSURLs       []string `yaml:"tls_urls"`
}

func (s *Security) setDefaults() {}

func (s Security) validate(p *Problems) {}

// Remediation configures automatic actions.
type Remediation struct {
	FailuresBeforeRestart int           `yaml:"failures_before_restart"`
	Budget                int           `yaml:"restart_budget"`
	Window                time.Duration `yaml:"restart_window"`
}

func (r *Remediation) setDefaults() {
	r.FailuresBeforeRestart = 3
	r.Budget = 3
	r.Window = 30 * time.Minute
}

func (r Remediation) validate(p *Problems) {
	if r.FailuresBeforeRestart <= 0 {
		p.add("remediation.failures_before_restart", "must be positive")
	}
	if r.Budget < 0 {
		p.add("remediation.restart_budget", "must not be negative")
	}
	if r.Window <= 0 {
		p.add("remediation.restart_window", "must be positive")
	}
}

// Incidents configures incident handling.
type Incidents struct {
	MaxTitle int `yaml:"max_title"`
}

func (i *Incidents) setDefaults() { i.MaxTitle = 120 }

func (i Incidents) validate(p *Problems) {
	if i.MaxTitle <= 0 {
		p.add("incidents.max_title", "must be positive")
	}
}

// Schedule of one job.
type Schedule struct {
	Spec     string `yaml:"spec"`
	Timezone string `yaml:"timezone"`
	Enabled  *bool  `yaml:"enabled"`
}

// On reports whether the job is enabled (default on).
func (s Schedule) On() bool { return s.Enabled == nil || *s.Enabled }

func defaultSchedules() map[string]Schedule {
	off := false
	return map[string]Schedule{
		"health":   {Spec: "*/5 * * * *"},
		"backup":   {Spec: "0 2 * * *"},
		"cleanup":  {Spec: "30 3 * * *"},
		"security": {Spec: "0 * * * *"},
		"rules":    {Spec: "* * * * *"},
		"restart":  {Spec: "0 4 * * *", Enabled: &off},
	}
}

func validateSchedules(m map[string]Schedule, p *Problems) {
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	for name, s := range m {
		if _, err := parser.Parse(s.Spec); err != nil {
			p.add("schedules."+name+".spec", "invalid cron spec %q: %v", s.Spec, err)
		}
		if s.Timezone != "" {
			if _, err := time.LoadLocation(s.Timezone); err != nil {
				p.add("schedules."+name+".timezone", "unknown time zone %q", s.Timezone)
			}
		}
	}
	_ = fmt.Sprint
}
