package config

import (
	"slices"
	"testing"
	"time"
)

func TestDiagnoseDefaultsAndProblems(t *testing.T) {
	c := Default()
	if c.Diagnose.CheckTimeout != 5*time.Second || c.Diagnose.Timeout != 15*time.Second || c.Diagnose.ForecastHorizon != 72*time.Hour {
		t.Fatalf("defaults %+v", c.Diagnose)
	}
	if p := c.Validate(); len(p) != 0 {
		t.Fatalf("defaults invalid: %v", p)
	}
	c.Diagnose.CheckTimeout = 20 * time.Second
	c.Diagnose.ForecastHorizon = -time.Hour
	c.Diagnose.Roots = []string{"backups"}
	c.Targets = []Target{{Name: "api", Service: Service{Port: 70000, Status: []string{""}}}}
	got := c.Validate()
	for _, want := range []string{
		"diagnose.timeout: must be at least check_timeout (20s)",
		"diagnose.forecast_horizon: must not be negative",
		`diagnose.roots[0]: not an absolute path: "backups"`,
		"targets[0].service.port: not a port: 70000",
		"targets[0].service.status: empty command",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing problem %q in %q", want, got)
		}
	}
}
