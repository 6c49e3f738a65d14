package paging_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/incidents"
	"opsbot/store/storetest"
)

// Each step and each page's outcome is in the incident timeline too: the
// critical alert opens an incident for its target, and the engine's lines
// enter its timeline.
func TestStepsInTheIncidentTimeline(t *testing.T) {
	st := storetest.SQLite(t)
	r := newRig(t, st)
	ctx := context.Background()
	inc := incidents.New(st, r.n, func() *config.Config { return r.cfg }, r.log)
	r.n.OnAlert(inc.OnAlert)
	r.eng.Timeline = inc.RecordAction
	r.fire(t, "api/down", "critical")
	r.pass(t)
	r.at(5 * time.Minute)
	r.pass(t)
	list, err := inc.List(ctx, true, 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("incidents %+v, %v", list, err)
	}
	_, entries, err := inc.Get(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range entries {
		texts = append(texts, e.Text)
	}
	for _, want := range []string{"Escalation step 1 of 4 (critical): alice (primary), please acknowledge.",
		"Escalation step 2 of 4 (critical): paging alice (primary) via pd, hook.", "Page via pd to alice: delivered."} {
		if count(texts, want) != 1 {
			t.Fatalf("timeline lacks %q once:\n%s", want, strings.Join(texts, "\n"))
		}
	}
}
