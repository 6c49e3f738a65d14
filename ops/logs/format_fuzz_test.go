package logs

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"opsbot/config"
)

// userMessageProblem says what is wrong with msg as an error shown to a
// user ("" when nothing): one line of plain words in the house style, no
// trace of Go's formatting or internals. What the user wrote (quoted, or
// given as user) is left out of the search for internals: it may hold
// anything.
func userMessageProblem(msg string, user ...string) string {
	r, _ := utf8.DecodeRuneInString(msg)
	switch {
	case strings.TrimSpace(msg) == "":
		return "empty"
	case strings.ContainsAny(msg, "\r\n"):
		return "more than one line"
	case !utf8.ValidString(msg):
		return "invalid UTF-8"
	case unicode.IsUpper(r):
		return "starts with a capital"
	}
	ours := quoted.ReplaceAllString(msg, `""`)
	for _, u := range user {
		if u != "" {
			ours = strings.ReplaceAll(ours, u, "")
		}
	}
	for _, noise := range []string{"%!", "Go struct", "Go value", "runtime error", "goroutine", "reflect.", "<nil>"} {
		if strings.Contains(ours, noise) {
			return "Go internals: " + noise
		}
	}
	return ""
}

// quoted matches a Go-quoted string (%q) in a message.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// east8 is a fixed zone for lines without an offset: the property tests
// need a zone without DST gaps or historical second offsets.
var east8 = time.FixedZone("+0800", 8*3600)

const nginxLayout = "02/Jan/2006:15:04:05 -0700"

// printNginx is the printer of ParseNginx: a canonical combined (or timed)
// line carrying the same fields.
func printNginx(f NginxFields) []byte {
	req := "-"
	if f.Method != nil {
		req = string(f.Method) + " " + string(f.Path) + " HTTP/1.1"
	}
	line := fmt.Sprintf(`%s - - [%s] "%s" %03d %d "-" "-"`, f.IP, f.RawTime, req, f.Status, f.Bytes)
	if f.HasRequestTime {
		line += fmt.Sprintf(" %d.%09d", f.RequestTime/time.Second, f.RequestTime%time.Second)
	}
	return []byte(line)
}

// checkNginxTime: a time read from nginx's layout is the time written
// (no field out of range silently rolled into the next), and printing it
// in the same layout reads back the same instant.
func checkNginxTime(t *testing.T, raw []byte, tm time.Time) {
	t.Helper()
	if len(raw) < 26 {
		t.Fatalf("time read from %d bytes %q", len(raw), raw)
	}
	printed := tm.Format(nginxLayout)
	if printed[:20] != string(raw[:20]) {
		t.Fatalf("nginx time %q read as %s (printed %q): a field rolled over", raw[:26], tm, printed)
	}
	back, ok := ParseNginxTime([]byte(printed))
	if !ok || !back.Equal(tm) {
		t.Fatalf("nginx time %q → %s → %q → %s %v", raw[:26], tm, printed, back, ok)
	}
}

// FuzzNginxLine: an access line parses into sane fields (a status of three
// digits, sizes and request times that are not negative) or not at all; the
// fields printed as a canonical line parse back the same; the format's
// level is the status's; the timestamp is the one written.
func FuzzNginxLine(f *testing.F) {
	for _, s := range []string{
		`203.0.113.7 - alice [25/Nov/2026:10:00:00 +0800] "POST /api/chat?x=1 HTTP/1.1" 502 173 "https://ex.com/" "Mozilla/5.0 (X11; \"quoted\")"`,
		`10.0.0.1 - - [25/Nov/2026:10:00:00 +0800] "GET / HTTP/1.1" 200 612 "-" "curl/8" 0.004`,
		`10.0.0.1 - - [25/Nov/2026:10:00:00 -0330] "GET /x HTTP/1.1" 404 0 "-" "-" 12.5` + "\r\n",
		`10.0.0.1 - - [31/Feb/2026:25:61:61 +0800] "GET / HTTP/1.1" 200 612 "-" "-" 0.004`,
		`10.0.0.1 - - [25/Nov/2026:10:00:00 +0800] "GET / HTTP/1.1" 200 99999999999999999999999 "-" "-" 99999999999999999999.5`,
		`10.0.0.1 - - [25/Nov/2026:10:00:00 +0800] "\x16\x03\x01" 400 157 "-" "-" 0.000`,
		`1.2.3.4 - - [25/Nov/2026:10:00:00 +0800] "GET /" abc 1 "-" "-"`,
		`[25/Nov/2026:10:00:00 +0800]`,
		"",
	} {
		f.Add([]byte(s))
	}
	combined, timed := NginxFormat{Loc: east8}, NginxFormat{Loc: east8, Timed: true}
	f.Fuzz(func(t *testing.T, line []byte) {
		if tm, ok := combined.Time(line); ok {
			checkNginxTime(t, line[bytes.IndexByte(line, '[')+1:], tm)
		}
		nf, ok := ParseNginx(line)
		if !ok {
			if lv := timed.Level(line); lv != "" {
				t.Fatalf("unparsed line %q has level %q", line, lv)
			}
			return
		}
		switch {
		case nf.Status < 0 || nf.Status > 999:
			t.Fatalf("%q: status %d", line, nf.Status)
		case nf.Bytes < 0:
			t.Fatalf("%q: %d bytes", line, nf.Bytes)
		case nf.RequestTime < 0 || (!nf.HasRequestTime && nf.RequestTime != 0):
			t.Fatalf("%q: request time %s (%v)", line, nf.RequestTime, nf.HasRequestTime)
		case len(nf.IP) == 0 || bytes.IndexByte(nf.IP, ' ') >= 0:
			t.Fatalf("%q: address %q", line, nf.IP)
		}
		if lv := timed.Level(line); lv != LevelOfStatus(nf.Status) {
			t.Fatalf("%q: level %q for status %d", line, lv, nf.Status)
		}
		if tm, ok := nf.Time(); ok {
			checkNginxTime(t, nf.RawTime, tm)
		}
		printed := printNginx(nf)
		back, ok := ParseNginx(printed)
		if !ok || !bytes.Equal(back.IP, nf.IP) || !bytes.Equal(back.RawTime, nf.RawTime) || !bytes.Equal(back.Method, nf.Method) ||
			!bytes.Equal(back.Path, nf.Path) || back.Status != nf.Status || back.Bytes != nf.Bytes ||
			back.RequestTime != nf.RequestTime || back.HasRequestTime != nf.HasRequestTime {
			t.Fatalf("%q parsed as %+v; printed %q parsed as %+v (%v)", line, nf, printed, back, ok)
		}
	})
}

// FuzzAppLine: an app_iso line's timestamp is the time written (read in
// the log's zone unless it carries its own), printed as RFC 3339 it reads
// back the same instant, and its level is a known level or none.
func FuzzAppLine(f *testing.F) {
	for _, s := range []string{
		"2026-11-25T10:00:00Z ERROR LLM API Error: timeout",
		"2026-11-25 10:00:00,123 WARNING retrying",
		"[2026-11-25T10:00:00.123456789+05:30] [error] boom",
		"2026-11-25T10:00:00-0330 CRIT: disk",
		"2026-02-31T24:00:60Z INFO rolled",
		"2026-11-25T10:00:00.0000000000001Z INFO long fraction",
		"2026-11-25T10:00 notice short",
		"2026-11-25T10:00:00+14:59 INFO far east",
		"not a line",
		"",
	} {
		f.Add([]byte(s))
	}
	app := AppFormat{Loc: east8}
	f.Fuzz(func(t *testing.T, line []byte) {
		tm, ok := app.Time(line)
		lv := app.Level(line)
		if !ok {
			if lv != "" {
				t.Fatalf("%q: level %q without a timestamp", line, lv)
			}
			return
		}
		if lv != "" && NormalizeLevel(lv) != lv {
			t.Fatalf("%q: level %q is not normalised", line, lv)
		}
		b := bytes.TrimPrefix(line, []byte("["))
		_, n, _ := ParseISO(b, east8)
		if n < 16 || n > len(b) {
			t.Fatalf("%q: read %d bytes", line, n)
		}
		// The date and the clock as written, in the zone they were written in.
		written := string(b[:10]) + " " + string(b[11:16])
		if got := tm.Format("2006-01-02 15:04"); got != written {
			t.Fatalf("%q read as %s: a field rolled over", line, tm)
		}
		if tm.Year() > 9999 {
			return
		}
		printed := tm.Format(time.RFC3339Nano)
		back, m, ok := ParseISO([]byte(printed), time.UTC)
		if !ok || m != len(printed) || !back.Equal(tm) {
			t.Fatalf("%q → %s → %q → %s (%d bytes, %v)", line, tm, printed, back, m, ok)
		}
	})
}

// FuzzRegexpFormat: a regexp: format is accepted by the config check
// exactly when it can be built, its refusal is a one-line user error, and
// a built one reads a line's time and level without panicking, the level
// being a known one or none.
func FuzzRegexpFormat(f *testing.F) {
	for _, s := range [][2]string{
		{`^(?P<time>\S+ \S+) (?P<level>\w+) (?P<msg>.*)$`, "2026-11-25 10:00:00 ERROR boom"},
		{`^(?P<ip>\S+) \[(?P<time>[^\]]+)\] (?P<status>\d+)`, "1.2.3.4 [25/Nov/2026:10:00:00 +0800] 502"},
		{`ts=(?P<time>\d+) lvl=(?P<level>\w+)`, "ts=1764064800 lvl=warning"},
		{`(?P<level>\w+)`, "ERROR without time"},
		{"(?P<time>(\n", "x"},
		{`(?P<time>a)|(?P<time>b)`, "b"},
		{`(?P<time>x*)`, ""},
		{`[[:bogus:]]`, ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, expr, line string) {
		spec := "regexp:" + expr
		cerr := config.CheckLogFormat(spec)
		rf, err := NewFormat(spec, east8)
		if (cerr == nil) != (err == nil) {
			t.Fatalf("%q: the config check says %v, the reader says %v", spec, cerr, err)
		}
		if err != nil {
			for _, e := range []error{err, cerr} {
				if p := userMessageProblem(e.Error()); p != "" {
					t.Fatalf("%q: error %q: %s", spec, e, p)
				}
			}
			return
		}
		if rf.Name() != spec || rf.Location() != east8 {
			t.Fatalf("%q: name %q zone %v", spec, rf.Name(), rf.Location())
		}
		rf.Time([]byte(line))
		if lv := rf.Level([]byte(line)); lv != "" && NormalizeLevel(lv) != lv {
			t.Fatalf("%q on %q: level %q", spec, line, lv)
		}
	})
}

// FuzzParseWhen: a --since/--until value is a time or a one-line user
// error; a duration is that long before now; a time is printed as RFC 3339
// and as the duration back from now, both read back as the same instant.
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"90s", "15m", "1h30m", "2d", "1w", "3650d", "3651d", "-1h", "0s", "2026-11-25",
		"2026-11-25T10:00", "2026-11-25 10:00:05", "2026-11-25T10:00:00Z", "2026-11-25T10:00:00+05:30", "yesterday",
		"9999999999h", "2026-13-01", " 1h ", "1.5h", "1e3s", "2026-11-25T10:00:00.5-0800", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseWhen(s, now, east8)
		if err != nil {
			if p := userMessageProblem("--since " + err.Error()); p != "" {
				t.Fatalf("ParseWhen(%q) error %q: %s", s, err, p)
			}
			return
		}
		if tm.IsZero() {
			t.Fatalf("ParseWhen(%q) gave the zero time without an error", s)
		}
		if d, derr := time.ParseDuration(strings.TrimSpace(s)); derr == nil && !now.Add(-d).Equal(tm) {
			t.Fatalf("ParseWhen(%q) = %s, want %s before now", s, tm, d)
		}
		if tm.Year() < 1 || tm.Year() > 9999 {
			return
		}
		printed := tm.Format(time.RFC3339Nano)
		if back, err := ParseWhen(printed, now, east8); err != nil || !back.Equal(tm) {
			t.Fatalf("ParseWhen(%q) = %s, printed %q read back as %s (%v)", s, tm, printed, back, err)
		}
		if ago := now.Sub(tm); ago > 0 && ago < 1<<62 {
			if back, err := ParseWhen(ago.String(), now, east8); err != nil || !back.Equal(tm) {
				t.Fatalf("ParseWhen(%q) = %s, %q ago read back as %s (%v)", s, tm, ago, back, err)
			}
		}
	})
}
