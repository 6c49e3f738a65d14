package human

import (
	"strings"
	"testing"
	"time"
)

func TestNearest(t *testing.T) {
	verbs := []string{"status", "backup", "restart", "update", "logs", "cache", "help", "echo", "ack"}
	for _, c := range []struct {
		word, want string
		ok         bool
	}{
		{"stauts", "status", true},  // a swap is two edits
		{"STATUS", "status", true},  // case does not count
		{"Restor", "restart", true}, // two edits: o→a, and a t
		{"restat", "restart", true},
		{"logz", "logs", true},
		{"ehco", "echo", true},
		{"ak", "ack", true},
		{"xyz", "", false}, // nothing near
		{"db", "", false},  // two edits of a two-letter word is a guess
		{"updat", "update", true},
		{"cahce", "cache", true},
	} {
		got, ok := Nearest(c.word, verbs)
		if ok != c.ok || got != c.want {
			t.Errorf("Nearest(%q) = %q, %v; want %q, %v", c.word, got, ok, c.want, c.ok)
		}
	}
	// Two candidates as near: no guess, the list is given instead.
	if s, ok := Nearest("lis", []string{"list", "lisp"}); ok {
		t.Errorf("tie guessed %q", s)
	}
	if got := Hint("lis", "subcommands", []string{"list", "lisp"}); got != "subcommands: lisp, list" {
		t.Errorf("tie hint %q", got)
	}
	if got := Hint("restor", "subcommands", []string{"create", "list", "verify", "restore"}); got != "did you mean restore?" {
		t.Errorf("hint %q", got)
	}
	// Characters, not bytes: one changed ideograph is one edit.
	if got, ok := Nearest("张四", []string{"张三丰"}); ok {
		t.Errorf("guessed %q for a two-character word two edits away", got)
	}
	if got, ok := Nearest("运维组", []string{"运维部", "alpha"}); !ok || got != "运维部" {
		t.Errorf("unicode nearest %q %v", got, ok)
	}
}

func TestUnknownIsOneWording(t *testing.T) {
	for _, c := range []struct {
		what, kind, name string
		valid            []string
		want             string
	}{
		{"target", "targets", "api-1", []string{"demo"}, `unknown target "api-1"; targets: demo`},
		{"target", "targets", "dmeo", []string{"demo"}, `unknown target "dmeo"; did you mean demo?`},
		{"log", "logs", "erorr", []string{"app", "error", "access"}, `unknown log "erorr"; did you mean error?`},
		{"job", "jobs", "x", nil, `unknown job "x"; no jobs are configured`},
		{"target", "targets", strings.Repeat("é", 30), []string{"demo"}, `unknown target "` + strings.Repeat("é", 20) + `…"; targets: demo`},
	} {
		if got := Unknown(c.what, c.kind, c.name, c.valid); got != c.want {
			t.Errorf("Unknown(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestTimeInOneZone(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 5, 0, time.UTC)
	sh := time.FixedZone("CST", 8*3600)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no zone data:", err)
	}
	for _, c := range []struct {
		loc        *time.Location
		time, stmp string
	}{
		{nil, "2026-12-01 12:00 UTC", "2026-12-01 12:00:05 UTC"},
		{time.UTC, "2026-12-01 12:00 UTC", "2026-12-01 12:00:05 UTC"},
		{sh, "2026-12-01 20:00 +08:00", "2026-12-01 20:00:05 +08:00"},
		{ny, "2026-12-01 07:00 -05:00", "2026-12-01 07:00:05 -05:00"},
	} {
		if got := Time(at, c.loc); got != c.time {
			t.Errorf("Time in %v = %q, want %q", c.loc, got, c.time)
		}
		if got := Stamp(at, c.loc); got != c.stmp {
			t.Errorf("Stamp in %v = %q, want %q", c.loc, got, c.stmp)
		}
	}
	if Time(time.Time{}, sh) != "never" {
		t.Error("zero time is not never")
	}
	now := at.Add(6*time.Hour + 10*time.Second)
	if got := Ago(at, now, sh); got != "6 h ago (2026-12-01 20:00 +08:00)" {
		t.Errorf("Ago = %q", got)
	}
	if got := Ago(now.Add(5*time.Minute), now, nil); got != "in 5 min (2026-12-01 18:05 UTC)" {
		t.Errorf("Ago ahead = %q", got)
	}
}

func TestCountAndLongDurations(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000", -9223372036854775808: "-9,223,372,036,854,775,808"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{720 * time.Hour: "30 d", 2*time.Hour + 5*time.Minute: "2 h 5 min", 5 * time.Minute: "5 min"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
