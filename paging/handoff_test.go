package paging_test

import (
	"testing"
	"time"

	"opsbot/store"
	"opsbot/store/storetest"
)

// The handoff posts one line in the ops channel, mentioning who is on call
// now per rotation; looking again posts nothing until the next handoff.
func TestHandoffLine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		lines := func() []string {
			var out []string
			for _, m := range r.fake.Messages() {
				if m.Channel == "C0OPS" {
					out = append(out, m.Text)
				}
			}
			return out
		}
		r.pass(t)
		r.at(time.Hour)
		r.pass(t)
		if got := lines(); len(got) != 1 || got[0] != "<@U0ALICE> <@U0BOB>: On call now: alice (primary), bob (secondary)" {
			t.Fatalf("handoff lines %q", got)
		}
		// Monday 09:00 Berlin (08:00 UTC): the weekly handoff.
		r.clk.Set(time.Date(2026, 3, 9, 7, 59, 0, 0, time.UTC))
		r.pass(t)
		if got := lines(); len(got) != 1 {
			t.Fatalf("a line before the handoff: %q", got)
		}
		r.clk.Set(time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC))
		r.pass(t)
		r.pass(t)
		if got := lines(); len(got) != 2 || got[1] != "<@U0BOB> <@U0ALICE>: On call now: bob (primary), alice (secondary)" {
			t.Fatalf("handoff lines %q", got)
		}
	})
}
