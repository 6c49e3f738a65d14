package fleet_test

import (
	"testing"

	"opsbot/config"
	"opsbot/notifier"
	"opsbot/routing"
	"opsbot/store"
)

// The inhibition rule docs/fleet.md gives mutes a down host's own service
// alerts (which carry its host label) and nobody else's.
func TestHostDownInhibitsItsHostsAlerts(t *testing.T) {
	rules, err := routing.CompileInhibitRules([]config.InhibitRule{{Name: "host_down_mutes_its_alerts",
		SourceMatchers: []string{`rule="host_down"`}, TargetMatchers: []string{`rule!="host_down"`, `host!=""`}, Equal: []string{"host"}}})
	if err != nil {
		t.Fatal(err)
	}
	down := store.AlertRow{Fingerprint: "host_down:web-2", Kind: "health", Rule: "host_down", Severity: "critical", Labels: `{"host":"web-2"}`}
	inh := routing.NewInhibitor(rules, []routing.Firing{{Fingerprint: down.Fingerprint, Labels: notifier.Labels(down)}})
	own := store.AlertRow{Fingerprint: "cpu_high@web-2", Kind: "threshold", Rule: "cpu_high", Severity: "warning", Labels: `{"host":"web-2","zone":"z2"}`}
	other := store.AlertRow{Fingerprint: "cpu_high@web-1", Kind: "threshold", Rule: "cpu_high", Severity: "warning", Labels: `{"host":"web-1"}`}
	if _, by, ok := inh.Inhibited(own.Fingerprint, notifier.Labels(own)); !ok || by != down.Fingerprint {
		t.Fatalf("web-2's cpu_high not muted (%q %v)", by, ok)
	}
	if _, _, ok := inh.Inhibited(other.Fingerprint, notifier.Labels(other)); ok {
		t.Fatal("web-1's cpu_high muted by web-2's host_down")
	}
	if _, _, ok := inh.Inhibited(down.Fingerprint, notifier.Labels(down)); ok {
		t.Fatal("host_down muted itself")
	}
}
