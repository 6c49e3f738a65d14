package config

import (
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Sections owned by later work (alerting, scheduling, incidents) keep their
// types, defaults and validation here, one type per concern.

// Rules configures the alert rules' evaluation. The threshold values come
// from Thresholds; these are how long, over which window and how loud.
type Rules struct {
	Interval time.Duration `yaml:"interval"`
	For      time.Duration `yaml:"for"`
	// ForSamples, when positive, makes a rule fire after that many samples in
	// a row beyond its threshold instead of after For.
	ForSamples int `yaml:"for_samples"`
	// Window is the sliding window of the log signals (response time, 5xx
	// rate, LLM success rate, ERROR lines).
	Window time.Duration `yaml:"window"`
	// Severity per rule name (cpu_high, memory_high, disk_high,
	// response_time_high, error_5xx_high, llm_success_low, error_lines_high,
	// llm_errors_high): warning | critical.
	Severity map[string]string `yaml:"severity"`
	// RuleFor overrides For per rule name.
	RuleFor map[string]time.Duration `yaml:"rule_for"`
	// ErrorLines: more than this many ERROR lines in the error log per window alerts.
	ErrorLines int `yaml:"error_lines"`
	// LLMErrors: more than this many "LLM API Error" lines per window alerts.
	LLMErrors int `yaml:"llm_errors"`
	// MinRequests is the fewest requests in a window for the response-time
	// and 5xx rules to judge (one slow request on an idle site is no alert).
	MinRequests int `yaml:"min_requests"`
	// Rules are threshold rules in the built-ins' own form (see AlertRule),
	// over the checks' samples and the built-in signals.
	Rules []AlertRule `yaml:"rules"`
}

// RuleNames are the built-in rules' names.
var RuleNames = []string{"cpu_high", "memory_high", "disk_high", "response_time_high", "error_5xx_high", "llm_success_low", "error_lines_high", "llm_errors_high"}

func (r *Rules) setDefaults() {
	r.Interval = time.Minute
	r.For = 2 * time.Minute
	r.Window = 5 * time.Minute
	r.ErrorLines = 10
	r.LLMErrors = 5
	r.MinRequests = 20
}

func (r Rules) validate(p *Problems) {
	if r.Interval <= 0 {
		p.add("rules.interval", "must be positive")
	}
	if r.For < 0 {
		p.add("rules.for", "must not be negative")
	}
	if r.ForSamples < 0 {
		p.add("rules.for_samples", "must not be negative")
	}
	if r.Window <= 0 {
		p.add("rules.window", "must be positive")
	}
	if r.ErrorLines < 0 {
		p.add("rules.error_lines", "must not be negative")
	}
	if r.LLMErrors < 0 {
		p.add("rules.llm_errors", "must not be negative")
	}
	if r.MinRequests < 0 {
		p.add("rules.min_requests", "must not be negative")
	}
	for name, sev := range r.Severity {
		if !contains(RuleNames, name) {
			p.add("rules.severity."+name, "unknown rule %q", name)
		}
		if sev != "warning" && sev != "critical" {
			p.add("rules.severity."+name, "want warning or critical, got %q", sev)
		}
	}
	for name, d := range r.RuleFor {
		if !contains(RuleNames, name) {
			p.add("rules.rule_for."+name, "unknown rule %q", name)
		}
		if d < 0 {
			p.add("rules.rule_for."+name, "must not be negative")
		}
	}
}

// Notifier configures routing and delivery of alerts.
type Notifier struct {
	GroupWait   time.Duration `yaml:"group_wait"`
	Repeat      time.Duration `yaml:"repeat"`
	MaxAttempts int           `yaml:"max_attempts"`
	// InlineAlerts is how many alerts a grouped message lists in its text;
	// the attached file always lists every one.
	InlineAlerts int `yaml:"inline_alerts"`
	// RetryBase and RetryMax bound the delivery worker's exponential backoff.
	RetryBase time.Duration `yaml:"retry_base"`
	RetryMax  time.Duration `yaml:"retry_max"`
	// DeliveryWorkers bounds how many channels are sent to at once; each
	// channel is one lane (its messages in order), so a failing channel
	// holds at most one worker and never the others' messages.
	DeliveryWorkers int `yaml:"delivery_workers"`
}

func (n *Notifier) setDefaults() {
	n.GroupWait = 30 * time.Second
	n.Repeat = 4 * time.Hour
	n.MaxAttempts = 10
	n.InlineAlerts = 15
	n.RetryBase = time.Second
	n.RetryMax = 5 * time.Minute
	n.DeliveryWorkers = 4
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
	if n.InlineAlerts <= 0 {
		p.add("notifier.inline_alerts", "must be positive")
	}
	if n.RetryBase <= 0 || n.RetryMax < n.RetryBase {
		p.add("notifier.retry_base", "must be positive and at most notifier.retry_max")
	}
	if n.DeliveryWorkers <= 0 || n.DeliveryWorkers > 64 {
		p.add("notifier.delivery_workers", "must be between 1 and 64")
	}
}

// Security configures the security scans.
type Security struct {
	WritableRoots []string `yaml:"writable_roots"`
	TLSURLs       []string `yaml:"tls_urls"`
	// WritableGlobs limits the world-writable check to matching base names
	// (the seed checked "*.py"); empty checks every file.
	WritableGlobs []string `yaml:"writable_globs"`
	// EnvFiles are checked for being readable by others; empty means each
	// target's workdir/.env.
	EnvFiles []string `yaml:"env_files"`
	// TLSWarn and TLSCritical: a certificate expiring sooner alerts.
	TLSWarn     time.Duration `yaml:"tls_warn"`
	TLSCritical time.Duration `yaml:"tls_critical"`
	TLSTimeout  time.Duration `yaml:"tls_timeout"`
	// Window of the log-based scans (failed logins, requests per IP).
	Window time.Duration `yaml:"window"`
	// LoginFailed: more than this many "login failed" per window alerts.
	LoginFailed int `yaml:"login_failed"`
	// LoginFailedPerIP: any source IP with more failed logins per window alerts.
	LoginFailedPerIP int `yaml:"login_failed_per_ip"`
	// RequestsPerIP: any client IP with more requests per window alerts.
	RequestsPerIP int `yaml:"requests_per_ip"`
}

func (s *Security) setDefaults() {
	s.TLSWarn = 14 * 24 * time.Hour
	s.TLSCritical = 3 * 24 * time.Hour
	s.TLSTimeout = 5 * time.Second
	s.Window = time.Hour
	s.LoginFailed = 50
	s.LoginFailedPerIP = 10
	s.RequestsPerIP = 1000
}

func (s Security) validate(p *Problems) {
	for i, u := range s.TLSURLs {
		if pu, err := url.Parse(u); err != nil || pu.Scheme != "https" || pu.Host == "" {
			p.add(fmt.Sprintf("security.tls_urls[%d]", i), "not an https URL: %q", u)
		}
	}
	for i, g := range s.WritableGlobs {
		if _, err := path.Match(g, ""); err != nil {
			p.add(fmt.Sprintf("security.writable_globs[%d]", i), "bad pattern %q", g)
		}
	}
	if s.TLSCritical < 0 || s.TLSWarn < s.TLSCritical {
		p.add("security.tls_warn", "must be at least tls_critical (%s), which must not be negative", s.TLSCritical)
	}
	if s.TLSTimeout <= 0 {
		p.add("security.tls_timeout", "must be positive")
	}
	if s.Window <= 0 {
		p.add("security.window", "must be positive")
	}
	if s.LoginFailed < 0 || s.LoginFailedPerIP < 0 || s.RequestsPerIP < 0 {
		p.add("security", "login_failed, login_failed_per_ip and requests_per_ip must not be negative")
	}
}

// Remediation configures automatic actions.
type Remediation struct {
	// RestartOnAPIDown restarts a target whose api check failed
	// FailuresBeforeRestart times in a row.
	RestartOnAPIDown      bool `yaml:"restart_on_api_down"`
	FailuresBeforeRestart int  `yaml:"failures_before_restart"`
	// Budget actions of each kind (restart, cache flush, cleanup) per target
	// within Window; a target's budget starts again once its alert has not
	// fired for ResetAfter, so a new outage starts at attempt 1.
	Budget     int           `yaml:"restart_budget"`
	Window     time.Duration `yaml:"restart_window"`
	ResetAfter time.Duration `yaml:"reset_after"`
	// Alert handlers from the guide, each off-able: high memory flushes the
	// served service's Redis cache, a full disk runs cleanup.
	FlushCacheOnMemory bool   `yaml:"flush_cache_on_memory"`
	MemoryRule         string `yaml:"memory_rule"`
	CleanupOnDisk      bool   `yaml:"cleanup_on_disk"`
	DiskRule           string `yaml:"disk_rule"`
	// Heartbeat is requested every HeartbeatEvery while the scheduler is
	// healthy, so an outside dead man's switch notices a dead bot.
	HeartbeatURL   string        `yaml:"heartbeat_url"`
	HeartbeatEvery time.Duration `yaml:"heartbeat_every"`
}

func (r *Remediation) setDefaults() {
	r.RestartOnAPIDown = true
	r.FailuresBeforeRestart = 3
	r.ResetAfter = 10 * time.Minute
	r.FlushCacheOnMemory = true
	r.MemoryRule = "memory_high"
	r.CleanupOnDisk = true
	r.DiskRule = "disk_high"
	r.HeartbeatEvery = 5 * time.Minute
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
	if r.ResetAfter <= 0 {
		p.add("remediation.reset_after", "must be positive")
	}
	if r.FlushCacheOnMemory && !contains(RuleNames, r.MemoryRule) {
		p.add("remediation.memory_rule", "unknown rule %q", r.MemoryRule)
	}
	if r.CleanupOnDisk && !contains(RuleNames, r.DiskRule) {
		p.add("remediation.disk_rule", "unknown rule %q", r.DiskRule)
	}
	if r.HeartbeatURL != "" {
		if u, err := url.Parse(r.HeartbeatURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add("remediation.heartbeat_url", "not an http(s) URL")
		}
		if r.HeartbeatEvery <= 0 {
			p.add("remediation.heartbeat_every", "must be positive")
		}
	}
}

// Incidents configures incident handling. The thread goes to
// channels.incident.
type Incidents struct {
	MaxTitle int `yaml:"max_title"`
	// RemindChannel adds a channel-wide mention (@channel, @here) to stage
	// overrun reminders.
	RemindChannel bool `yaml:"remind_channel"`
	// AutoOpen lets critical alerts open incidents (or attach to one).
	AutoOpen *bool `yaml:"auto_open"`
}

// AutoOpens reports whether critical alerts open incidents (default on).
func (i Incidents) AutoOpens() bool { return i.AutoOpen == nil || *i.AutoOpen }

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
	known := defaultSchedules()
	for _, name := range sortedKeys(m) {
		s := m[name]
		if _, ok := known[name]; !ok {
			// A job that does not exist would never run, silently.
			p.add("schedules."+name, "unknown job %q (want %s)", name, strings.Join(sortedKeys(known), ", "))
			continue
		}
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
