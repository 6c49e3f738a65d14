package oncall

import (
	"errors"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return l
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return v
}

func TestScheduled(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	daily := Rotation{Name: "primary", Members: []string{"a", "b", "c"}, Length: 24 * time.Hour, HandoffHour: 9, Start: day}
	// Weekly on Mondays at 09:00 Berlin; EU summer time starts Sunday 29 March 2026.
	weekly := Rotation{Name: "w", Members: []string{"a", "b"}, Length: 7 * 24 * time.Hour, HandoffHour: 9, Loc: berlin,
		Start: time.Date(2026, 3, 23, 0, 0, 0, 0, berlin)}
	// Daily at 09:00 New York; US summer time ends Sunday 1 November 2026.
	fall := Rotation{Name: "f", Members: []string{"a", "b"}, Length: 24 * time.Hour, HandoffHour: 9, Loc: ny,
		Start: time.Date(2026, 10, 30, 0, 0, 0, 0, ny)}
	// Twelve-hour shifts count absolute time, in any zone.
	half := Rotation{Name: "h", Members: []string{"a", "b"}, Length: 12 * time.Hour, HandoffHour: 8, Loc: ny,
		Start: time.Date(2026, 10, 31, 0, 0, 0, 0, ny)}
	cases := []struct {
		name       string
		r          Rotation
		t          string
		member     string
		start, end string
	}{
		{"first shift", daily, "2026-03-02T09:00:00Z", "a", "2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z"},
		{"a second before a handoff", daily, "2026-03-03T08:59:59Z", "a", "2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z"},
		{"at the handoff", daily, "2026-03-03T09:00:00Z", "b", "2026-03-03T09:00:00Z", "2026-03-04T09:00:00Z"},
		{"wraps around", daily, "2026-03-05T12:00:00Z", "a", "2026-03-05T09:00:00Z", "2026-03-06T09:00:00Z"},
		{"before the start runs backwards", daily, "2026-03-02T08:00:00Z", "c", "2026-03-01T09:00:00Z", "2026-03-02T09:00:00Z"},
		{"a year on (365 = 3·121 + 2)", daily, "2027-03-02T10:00:00Z", "c", "2027-03-02T09:00:00Z", "2027-03-03T09:00:00Z"},
		// 09:00 CET is 08:00 UTC, 09:00 CEST is 07:00 UTC: the shift over the change is 167h.
		{"weekly across spring forward", weekly, "2026-03-29T12:00:00Z", "a", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z"},
		{"weekly after spring forward", weekly, "2026-03-30T07:00:00Z", "b", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z"},
		{"weekly just before the summer handoff", weekly, "2026-03-30T06:59:00Z", "a", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z"},
		// 09:00 EDT is 13:00 UTC, 09:00 EST is 14:00 UTC: the shift over the change is 25h.
		{"daily across fall back", fall, "2026-11-01T06:00:00Z", "b", "2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z"},
		{"daily after fall back", fall, "2026-11-01T14:00:00Z", "a", "2026-11-01T14:00:00Z", "2026-11-02T14:00:00Z"},
		// 08:00 EDT on 31 October is 12:00 UTC; twelve hours later whatever the clocks say.
		{"12h shifts across fall back", half, "2026-11-01T07:00:00Z", "b", "2026-11-01T00:00:00Z", "2026-11-01T12:00:00Z"},
		{"12h shifts after fall back", half, "2026-11-01T12:00:00Z", "a", "2026-11-01T12:00:00Z", "2026-11-02T00:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := c.r.Scheduled(at(t, c.t))
			if err != nil {
				t.Fatal(err)
			}
			if s.Member != c.member || !s.Start.Equal(at(t, c.start)) || !s.End.Equal(at(t, c.end)) {
				t.Fatalf("got %s %s–%s, want %s %s–%s", s.Member, s.Start.UTC().Format(time.RFC3339), s.End.UTC().Format(time.RFC3339), c.member, c.start, c.end)
			}
		})
	}
}

func TestSpringForwardGap(t *testing.T) {
	// A handoff at 02:30 New York does not exist on 8 March 2026: the
	// shifts still follow each other without a gap or an overlap.
	ny := mustLoc(t, "America/New_York")
	r := Rotation{Members: []string{"a", "b"}, Length: 24 * time.Hour, HandoffHour: 2, HandoffMinute: 30, Loc: ny,
		Start: time.Date(2026, 3, 6, 0, 0, 0, 0, ny)}
	prev, err := r.Scheduled(time.Date(2026, 3, 6, 12, 0, 0, 0, ny))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		s, err := r.Scheduled(prev.End)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Start.Equal(prev.End) || !s.End.After(s.Start) || s.Member == prev.Member {
			t.Fatalf("shift %d: %+v after %+v", i, s, prev)
		}
		if d := s.End.Sub(s.Start); d < 23*time.Hour || d > 25*time.Hour {
			t.Fatalf("shift %d lasts %s", i, d)
		}
		prev = s
	}
}

func TestOverrides(t *testing.T) {
	r := Rotation{Name: "primary", Members: []string{"a", "b"}, Length: 24 * time.Hour, HandoffHour: 9,
		Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}
	// z covers a's last hour and b's first hour: across the handoff.
	across := []Override{{ID: 1, User: "z", Start: at(t, "2026-03-03T08:00:00Z"), End: at(t, "2026-03-03T10:00:00Z")}}
	// y covers a morning; z, later, an hour inside it.
	nested := []Override{
		{ID: 1, User: "y", Start: at(t, "2026-03-02T10:00:00Z"), End: at(t, "2026-03-02T14:00:00Z")},
		{ID: 2, User: "z", Start: at(t, "2026-03-02T11:00:00Z"), End: at(t, "2026-03-02T12:00:00Z")},
	}
	cases := []struct {
		name       string
		ov         []Override
		t          string
		member     string
		start, end string
		next       string
		nextAt     string
	}{
		{"before the override", across, "2026-03-03T07:00:00Z", "a", "2026-03-02T09:00:00Z", "2026-03-03T08:00:00Z", "z", "2026-03-03T08:00:00Z"},
		{"override before the handoff", across, "2026-03-03T08:30:00Z", "z", "2026-03-03T08:00:00Z", "2026-03-03T10:00:00Z", "b", "2026-03-03T10:00:00Z"},
		{"override after the handoff", across, "2026-03-03T09:30:00Z", "z", "2026-03-03T08:00:00Z", "2026-03-03T10:00:00Z", "b", "2026-03-03T10:00:00Z"},
		{"after the override", across, "2026-03-03T10:00:00Z", "b", "2026-03-03T09:00:00Z", "2026-03-04T09:00:00Z", "a", "2026-03-04T09:00:00Z"},
		{"outer override", nested, "2026-03-02T10:30:00Z", "y", "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z", "z", "2026-03-02T11:00:00Z"},
		{"later override wins", nested, "2026-03-02T11:30:00Z", "z", "2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z", "y", "2026-03-02T12:00:00Z"},
		{"outer again", nested, "2026-03-02T12:30:00Z", "y", "2026-03-02T10:00:00Z", "2026-03-02T14:00:00Z", "a", "2026-03-02T14:00:00Z"},
		{"expired override ignored", across, "2026-03-05T09:30:00Z", "b", "2026-03-05T09:00:00Z", "2026-03-06T09:00:00Z", "a", "2026-03-06T09:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := r.At(at(t, c.t), c.ov)
			if err != nil {
				t.Fatal(err)
			}
			if s.Member != c.member || !s.Start.Equal(at(t, c.start)) || !s.End.Equal(at(t, c.end)) {
				t.Fatalf("now: got %s %s–%s, want %s %s–%s", s.Member, s.Start.UTC().Format(time.RFC3339), s.End.UTC().Format(time.RFC3339), c.member, c.start, c.end)
			}
			n, err := r.Next(at(t, c.t), c.ov)
			if err != nil {
				t.Fatal(err)
			}
			if n.Member != c.next || !n.Start.Equal(at(t, c.nextAt)) {
				t.Fatalf("next: got %s at %s, want %s at %s", n.Member, n.Start.UTC().Format(time.RFC3339), c.next, c.nextAt)
			}
		})
	}
}

func TestRotationOfOne(t *testing.T) {
	r := Rotation{Members: []string{"a"}, Length: 7 * 24 * time.Hour, HandoffHour: 9, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}
	n, err := r.Next(at(t, "2026-03-03T00:00:00Z"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.Member != "a" || !n.Start.Equal(at(t, "2026-03-09T09:00:00Z")) {
		t.Fatalf("next of a rotation of one: %+v", n)
	}
}

func TestNobody(t *testing.T) {
	r := Rotation{Name: "empty", Length: 24 * time.Hour}
	if _, err := r.At(time.Now(), nil); !errors.Is(err, ErrNoMembers) {
		t.Fatalf("err = %v, want ErrNoMembers", err)
	}
}
