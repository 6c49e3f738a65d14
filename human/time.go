package human

import (
	"strconv"
	"strings"
	"time"
)

// Time renders t in loc, with the zone shown the same way everywhere:
// "2026-12-01 20:00 +08:00", "2026-12-01 12:00 UTC". A nil loc is UTC;
// the zero time is "never".
func Time(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	return t.Format("2006-01-02 15:04") + " " + Zone(t)
}

// Stamp is Time to the second, for event lists: "2026-12-01 20:00:05 +08:00".
func Stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	return t.Format("2006-01-02 15:04:05") + " " + Zone(t)
}

// Zone names t's zone: "UTC", else its offset ("+08:00").
func Zone(t time.Time) string {
	if _, off := t.Zone(); off == 0 {
		return "UTC"
	}
	return t.Format("-07:00")
}

// Ago says how long before now t was, with the time itself: "6 h ago
// (2026-12-01 20:00 +08:00)"; a time after now is "in 5 min (…)".
func Ago(t, now time.Time, loc *time.Location) string {
	d := now.Sub(t)
	if d < 0 {
		return "in " + Duration(roundFor(-d)) + " (" + Time(t, loc) + ")"
	}
	return Duration(roundFor(d)) + " ago (" + Time(t, loc) + ")"
}

// roundFor drops the precision a person does not need of a span.
func roundFor(d time.Duration) time.Duration {
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute)
	case d >= time.Minute:
		return d.Round(time.Second)
	}
	return d
}

// Count renders n with thousands separators: "1,234,567".
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + group(s[1:])
	}
	return group(s)
}

func group(s string) string {
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	lead := len(s) % 3
	if lead > 0 {
		b.WriteString(s[:lead])
	}
	for i := lead; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
