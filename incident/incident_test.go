package incident

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestStageNamesRoundTrip(t *testing.T) {
	for _, s := range Stages {
		got, err := ParseStage(s.String())
		if err != nil || got != s {
			t.Fatalf("ParseStage(%q) = %v, %v", s.String(), got, err)
		}
	}
	if s, err := ParseStage("PostMortem"); err != nil || s != PostMortem {
		t.Fatalf("postmortem alias: %v %v", s, err)
	}
	_, err := ParseStage("triage")
	if !errors.Is(err, ErrUnknownStage) || !strings.Contains(err.Error(), "discovery, assessment, handling, recovery, post-mortem, closed") {
		t.Fatalf("unknown stage: %v", err)
	}
}

func TestWindowsFollowTheSeed(t *testing.T) {
	want := map[Stage][2]time.Duration{
		Discovery: {0, 5 * time.Minute}, Assessment: {5 * time.Minute, 10 * time.Minute},
		Handling: {10 * time.Minute, 30 * time.Minute}, Recovery: {30 * time.Minute, time.Hour},
		PostMortem: {time.Hour, 24 * time.Hour},
	}
	for s, w := range want {
		a, b := s.Window()
		if a != w[0] || b != w[1] || s.Target() != w[1] {
			t.Errorf("%s window %v–%v, want %v–%v", s, a, b, w[0], w[1])
		}
	}
	if Closed.Target() != 0 || Handling.WindowText() != "10–30 min" || PostMortem.WindowText() != "within 24 h" {
		t.Fatalf("closed %v, handling %q, post-mortem %q", Closed.Target(), Handling.WindowText(), PostMortem.WindowText())
	}
}

func TestTransition(t *testing.T) {
	cases := []struct {
		from, to Stage
		reopen   bool
		want     error
	}{
		{Discovery, Assessment, false, nil},
		{Discovery, Recovery, false, nil}, // several steps at once
		{Assessment, Closed, false, nil},
		{Handling, Handling, false, ErrSameStage},
		{Recovery, Handling, false, ErrBackwards},
		{Closed, Handling, false, ErrClosed},
		{Closed, Handling, true, nil},
		{Recovery, Discovery, true, nil},
		{Assessment, Handling, true, ErrNotBack},
		{Handling, Handling, true, ErrNotBack},
		{Closed, Closed, true, ErrNotBack},
		{Handling, Stage(9), false, ErrUnknownStage},
	}
	for _, c := range cases {
		err := Transition(c.from, c.to, c.reopen)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("Transition(%s, %s, reopen=%v) = %v, want %v", c.from, c.to, c.reopen, err, c.want)
		}
		if err != nil {
			if _, ok := AsRefusal(err); !ok {
				t.Errorf("%v is not a refusal", err)
			}
		}
	}
}

func TestMoveKeepsTheClocks(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	inc := Incident{Stage: Discovery, OpenedAt: t0, StageAt: t0, ClockAt: t0}
	if d := inc.Deadline(); !d.Equal(t0.Add(5 * time.Minute)) {
		t.Fatalf("discovery deadline %v", d)
	}
	if inc.Overdue(t0.Add(5*time.Minute-time.Millisecond)) || !inc.Overdue(t0.Add(5*time.Minute)) {
		t.Fatal("overdue exactly at the target time")
	}
	h, err := inc.Move(Handling, false, t0.Add(3*time.Minute))
	if err != nil || !h.Deadline().Equal(t0.Add(30*time.Minute)) || !h.StageAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("handling %+v %v", h, err)
	}
	if _, err := h.Move(Assessment, false, t0.Add(4*time.Minute)); !errors.Is(err, ErrBackwards) {
		t.Fatalf("backwards: %v", err)
	}
	c, _ := h.Move(Closed, false, t0.Add(50*time.Minute))
	if !c.ClosedAt.Equal(t0.Add(50*time.Minute)) || !c.RecoveredAt.Equal(t0.Add(50*time.Minute)) || !c.Deadline().IsZero() || c.IsOpen() {
		t.Fatalf("closed %+v", c)
	}
	if c.Elapsed(t0.Add(5*time.Hour)) != 50*time.Minute {
		t.Fatalf("elapsed of a closed incident keeps counting: %v", c.Elapsed(t0.Add(5*time.Hour)))
	}
	// Reopened at 2 h into handling: handling gets its 20 minutes again.
	r, err := c.Move(Handling, true, t0.Add(2*time.Hour))
	if err != nil || !r.ClosedAt.IsZero() || !r.RecoveredAt.IsZero() || !r.Deadline().Equal(t0.Add(2*time.Hour+20*time.Minute)) {
		t.Fatalf("reopened %+v %v", r, err)
	}
	if r.ReminderKey() == h.ReminderKey() {
		t.Fatal("a reopened stage must get a reminder key of its own")
	}
}

func TestParseMention(t *testing.T) {
	ok := []struct{ platform, in, want string }{
		{"slack", "<@U123>", "<@U123>"},
		{"slack", "<@U0ABC|alice>", "<@U0ABC>"},
		{"discord", "<@123>", "<@123>"},
		{"discord", "<@!42>", "<@42>"},
		{"console", "@alice", "@alice"},
		{"", "@bob.smith", "@bob.smith"},
		{"", "<@W9>", "<@W9>"},
	}
	for _, c := range ok {
		got, err := ParseMention(c.platform, c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseMention(%q, %q) = %q, %v", c.platform, c.in, got, err)
		}
		if !IsMention(got) {
			t.Errorf("IsMention(%q) false", got)
		}
	}
	bad := []struct{ platform, in string }{
		{"slack", "alice"}, {"slack", "@alice"}, {"slack", "<@123>"}, {"discord", "<@U123>"}, {"discord", "@bob"},
		{"console", "<@U123>"}, {"console", "bob"}, {"", "<@u123>"}, {"", "@"}, {"", "<#C123>"}, {"", "<!channel>"},
	}
	for _, c := range bad {
		if got, err := ParseMention(c.platform, c.in); !errors.Is(err, ErrBadInput) {
			t.Errorf("ParseMention(%q, %q) = %q, %v; want refusal", c.platform, c.in, got, err)
		}
	}
	if MentionID("<@U123>") != "U123" || MentionID("<@42>") != "42" || MentionID("@alice") != "@alice" {
		t.Fatal("MentionID")
	}
}

func TestCheckTitle(t *testing.T) {
	if got, err := CheckTitle("  api\n down  ", 10); err != nil || got != "api down" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := CheckTitle(strings.Repeat("é", 11), 10); err == nil || err.Error() != "title is 11 characters long; at most 10" {
		t.Fatalf("long title: %v", err)
	}
	if _, err := CheckTitle(" ", 10); !errors.Is(err, ErrBadInput) {
		t.Fatalf("empty title: %v", err)
	}
	if got := ShortTitle(strings.Repeat("x", 20), 10); len([]rune(got)) != 10 {
		t.Fatalf("short title %q", got)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45s", 4 * time.Minute: "4m", 4*time.Minute + 30*time.Second: "4m30s",
		65 * time.Minute: "1h05m", 2 * time.Hour: "2h", 51 * time.Hour: "2d3h", -time.Minute: "-1m",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// scripted is an incident worked through every stage, with alerts,
// commands, an automatic action, a reopen and notes.
func scripted() (Incident, []Entry, time.Time) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	at := func(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }
	inc := Incident{ID: 7, Title: "API not responding | 502s", Severity: SevCritical, Stage: Closed, Target: "api",
		Lead: "<@U0ALICE>", OpenedBy: "alert:health_down", OpenedAt: t0, ClosedAt: at(26 * 60)}
	tl := []Entry{
		{At: at(-2), Actor: "alert:health_down", Kind: KindAlert, Ref: "fp-health", Status: "firing", Text: "[critical] health_down on api: GET /health failed 3 times"},
		{At: at(0), Actor: "alert:health_down", Kind: KindOpened, Stage: Discovery, Text: "opened: API not responding | 502s (critical, api)"},
		{At: at(3), Actor: "slack:U0ALICE (alice)", Kind: KindLead, Text: "lead: @U0ALICE"},
		{At: at(4), Actor: "slack:U0ALICE (alice)", Kind: KindStage, Stage: Assessment, Text: "stage discovery → assessment"},
		{At: at(6), Actor: "alert:cpu_high", Kind: KindAlert, Ref: "fp-cpu", Status: "firing", Text: "[warning] cpu_high on api: CPU 91%"},
		{At: at(8), Actor: "slack:U0ALICE (alice)", Kind: KindNote, Text: "all workers stuck on the LLM API; 5xx at 40%"},
		{At: at(9), Actor: "slack:U0ALICE (alice)", Kind: KindStage, Stage: Handling, Text: "stage assessment → handling"},
		{At: at(12), Actor: "slack:U0ALICE (alice)", Kind: KindCommand, Status: "ok", Text: "logs search api — ran: 212 matches of \"LLM API Error\""},
		{At: at(15), Actor: "opsbot:remediation", Kind: KindAction, Text: "restarted api after 3 failed health checks"},
		{At: at(35), Actor: "slack:U0BOB (bob)", Kind: KindStage, Stage: Recovery, Text: "stage handling → recovery"},
		{At: at(38), Actor: "alert:health_down", Kind: KindAlert, Ref: "fp-health", Status: "resolved", Text: "[critical] health_down on api: GET /health failed 3 times"},
		{At: at(41), Actor: "alert:health_down", Kind: KindAlert, Ref: "fp-health", Status: "firing", Text: "[critical] health_down on api: GET /health failed 3 times"},
		{At: at(41.5), Actor: "slack:U0BOB (bob)", Kind: KindReopened, Stage: Handling, Text: "reopened: recovery → handling"},
		{At: at(44), Actor: "slack:U0BOB (bob)", Kind: KindCommand, Status: "ok", Text: "restart api — ran: healthy after 4s"},
		{At: at(47), Actor: "slack:U0BOB (bob)", Kind: KindStage, Stage: Recovery, Text: "stage handling → recovery"},
		{At: at(48), Actor: "alert:health_down", Kind: KindAlert, Ref: "fp-health", Status: "resolved", Text: "[critical] health_down on api: GET /health failed 3 times"},
		{At: at(70), Actor: "slack:U0ALICE (alice)", Kind: KindStage, Stage: PostMortem, Text: "stage recovery → post-mortem"},
		{At: at(26 * 60), Actor: "slack:U0ALICE (alice)", Kind: KindStage, Stage: Closed, Text: "closed (from post-mortem)"},
	}
	return inc, tl, at(26*60 + 5)
}

func TestPostMortemGolden(t *testing.T) {
	inc, tl, now := scripted()
	got := RenderPostMortem(inc, tl, now)
	golden(t, filepath.Join("testdata", "postmortem.md"), got)
	// The measures come from the timeline, not from the golden file.
	for _, want := range []string{
		"| time to detect | 4m | 5m | within target |",
		"| time to assess | 9m | 10m | within target |",
		"| time to handle | 47m | 30m | over by 17m |", // the reopen moved handling's end
		"| time to recover | 1h10m | 1h | over by 10m |",
		"From 2026-03-02 09:58:00 UTC (the first alert fired) to 2026-03-02 11:10:00 UTC (recovery ended): 1h12m.",
		"API not responding \\| 502s",
		"## Root cause\n\n_To be written",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("post-mortem lacks %q", want)
		}
	}
}

func TestPostMortemOfAnOpenIncident(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	inc := Incident{ID: 1, Title: "slow", Severity: SevWarning, Stage: Assessment, OpenedBy: "console:me", OpenedAt: t0}
	tl := []Entry{
		{At: t0, Actor: "console:me", Kind: KindOpened, Stage: Discovery, Text: "opened"},
		{At: t0.Add(7 * time.Minute), Actor: "console:me", Kind: KindStage, Stage: Assessment, Text: "stage"},
	}
	got := RenderPostMortem(inc, tl, t0.Add(20*time.Minute))
	for _, want := range []string{
		"| time to detect | 7m | 5m | over by 2m |",
		"| time to assess | not yet | 10m | — |",
		"| assessment | 10:07:00 | 13m | 5–10 min | ongoing |",
		"not over yet (20m so far)",
		"## Actions taken\n\n_None recorded._",
		"## Alerts involved\n\n_None._",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("post-mortem lacks %q:\n%s", want, got)
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update after checking):\n--- got ---\n%s", path, got)
	}
}
