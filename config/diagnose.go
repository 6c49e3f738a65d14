package config

import (
	"fmt"
	"path/filepath"
	"time"
)

// Service tells diagnosis how to find a target's process and who runs it.
// Every field is optional: without a pid file or process name the process
// is the one listening on the port; without a port, the health URL's.
type Service struct {
	PIDFile string `yaml:"pid_file"`
	// Process is the process name (as ps shows it: uvicorn, python3).
	Process string `yaml:"process"`
	Port    int    `yaml:"port"`
	// User the service runs as: the database file's owner and mode are
	// judged against it (www-data in the guide).
	User string `yaml:"user"`
	// Status is the argv that reports the service's state (the guide's
	// `deploy.sh status`); never a shell string.
	Status []string `yaml:"status"`
	// EnvFile holds the service's settings, where its LLM API key is
	// looked for [<workdir>/.env]; APIKeyVar names the key [the first
	// variable whose name ends in API_KEY].
	EnvFile   string `yaml:"env_file"`
	APIKeyVar string `yaml:"api_key_var"`
}

// Diagnose configures `/ops diagnose` and the disk-fill forecast.
type Diagnose struct {
	// CheckTimeout bounds each check, Timeout a whole diagnosis.
	CheckTimeout time.Duration `yaml:"check_timeout"`
	Timeout      time.Duration `yaml:"timeout"`
	// ForecastHorizon: a file system forecast to fill within it raises
	// disk_fill_forecast (warning).
	ForecastHorizon time.Duration `yaml:"forecast_horizon"`
	// Roots are folders whose largest subfolders the disk diagnosis lists
	// (besides each target's workdir).
	Roots []string `yaml:"roots"`
	// RunbookBase makes the built-in rules' runbook paths
	// (docs/runbooks.md#…) links: the URL the repository's files are served at.
	RunbookBase string `yaml:"runbook_base"`
}

func (d *Diagnose) setDefaults() {
	d.CheckTimeout = 5 * time.Second
	d.Timeout = 15 * time.Second
	d.ForecastHorizon = 72 * time.Hour
}

func (d Diagnose) validate(c *Config, p *Problems) {
	if d.CheckTimeout <= 0 {
		p.add("diagnose.check_timeout", "must be positive")
	}
	if d.Timeout < d.CheckTimeout {
		p.add("diagnose.timeout", "must be at least check_timeout (%s)", d.CheckTimeout)
	}
	if d.ForecastHorizon < 0 {
		p.add("diagnose.forecast_horizon", "must not be negative")
	}
	for i, r := range d.Roots {
		if !filepath.IsAbs(r) {
			p.add(fmt.Sprintf("diagnose.roots[%d]", i), "not an absolute path: %q", r)
		}
	}
	for i, t := range c.Targets {
		s := t.Service
		key := fmt.Sprintf("targets[%d].service", i)
		if s.Port < 0 || s.Port > 65535 {
			p.add(key+".port", "not a port: %d", s.Port)
		}
		if len(s.Status) > 0 && s.Status[0] == "" {
			p.add(key+".status", "empty command")
		}
	}
}
