// Package logs reads the served backend's logs: formats (timestamps,
// levels, nginx fields by byte scanning), search over a log and its rotated
// siblings, and tail from the end. It knows nothing of chat.
package logs

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"opsbot/config"
)

// Format reads what a log's lines carry. Implementations are safe for
// concurrent use and do not allocate on the hot path except where noted.
type Format interface {
	// Name is the configured format ("nginx_combined", "app_iso", "regexp:…").
	Name() string
	// Time is the timestamp at the start of the line (or in its time field).
	Time(line []byte) (time.Time, bool)
	// Level is the line's level, upper case ("ERROR", "WARN", "INFO", …), or
	// "" when the line has none. Access logs derive it from the status.
	Level(line []byte) string
	// Location is the log's time zone, for lines without an offset and for
	// times typed by users (--since 2026-11-25T10:00).
	Location() *time.Location
}

// FormatFor builds the Format a log declares in config.
func FormatFor(lf config.LogFile) (Format, error) {
	tz := lf.Timezone
	if tz == "" {
		tz = "Local"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("log format: unknown time zone %q: %w", tz, err)
	}
	return NewFormat(lf.Format, loc)
}

// NewFormat builds a format from its spec: a preset or "regexp:<RE2>" with
// at least a (?P<time>…) group; optional groups level, ip, status,
// request_time.
func NewFormat(spec string, loc *time.Location) (Format, error) {
	if loc == nil {
		loc = time.Local
	}
	switch spec {
	case "", "app_iso":
		return AppFormat{Loc: loc}, nil
	case "nginx_combined":
		return NginxFormat{Loc: loc}, nil
	case "nginx_timed":
		return NginxFormat{Loc: loc, Timed: true}, nil
	}
	// The configuration's check is the one judge of a format, so what it
	// accepts is what can be read, with the same words when it is not.
	if err := config.CheckLogFormat(spec); err != nil {
		return nil, fmt.Errorf("log format: %w", err)
	}
	re := regexp.MustCompile(strings.TrimPrefix(spec, "regexp:"))
	return &RegexpFormat{re: re, spec: spec, loc: loc, time: re.SubexpIndex("time"), level: re.SubexpIndex("level")}, nil
}

// ---- app_iso ----

// AppFormat is "2026-11-25T10:00:00[.fff][Z|+08:00] LEVEL message" or
// "2026-11-25 10:00:00,123 LEVEL message" (Python logging's default).
// Times without an offset are in Loc.
type AppFormat struct{ Loc *time.Location }

// Name implements Format.
func (AppFormat) Name() string { return "app_iso" }

// Location implements Format.
func (f AppFormat) Location() *time.Location { return f.Loc }

// Time implements Format.
func (f AppFormat) Time(line []byte) (time.Time, bool) {
	if len(line) > 0 && line[0] == '[' {
		line = line[1:]
	}
	t, _, ok := ParseISO(line, f.Loc)
	return t, ok
}

// Level implements Format: the word after the timestamp, brackets and a
// trailing colon stripped ("[error]" and "ERROR:" are both ERROR).
func (f AppFormat) Level(line []byte) string {
	if len(line) > 0 && line[0] == '[' {
		line = line[1:]
	}
	_, n, ok := ParseISO(line, f.Loc)
	if !ok {
		return ""
	}
	rest := line[n:]
	if len(rest) > 0 && rest[0] == ']' {
		rest = rest[1:]
	}
	return levelWord(rest)
}

// levelWord reads the first word of b as a level, or "".
func levelWord(b []byte) string {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	if len(b) > 0 && b[0] == '[' {
		b = b[1:]
	}
	end := 0
	for end < len(b) && end < 10 && isLetter(b[end]) {
		end++
	}
	if end == 0 || (end < len(b) && b[end] != ' ' && b[end] != ']' && b[end] != ':' && b[end] != '\t') {
		return ""
	}
	return NormalizeLevel(string(b[:end]))
}

// NormalizeLevel upper-cases a level and folds synonyms (WARNING → WARN,
// ERR → ERROR, CRIT → CRITICAL); unknown words give "".
func NormalizeLevel(s string) string {
	switch strings.ToUpper(s) {
	case "TRACE":
		return "TRACE"
	case "DEBUG", "DBG":
		return "DEBUG"
	case "INFO", "NOTICE":
		return "INFO"
	case "WARN", "WARNING":
		return "WARN"
	case "ERROR", "ERR":
		return "ERROR"
	case "CRITICAL", "CRIT":
		return "CRITICAL"
	case "FATAL", "PANIC", "ALERT", "EMERG":
		return "FATAL"
	}
	return ""
}

func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// ParseISO reads an ISO-8601 timestamp at the start of b: date, 'T' or
// space, hh:mm[:ss], an optional fraction after '.' or ',', an optional
// zone (Z, ±hh:mm, ±hhmm). Without a zone the time is in loc. It returns
// the time and the number of bytes read.
func ParseISO(b []byte, loc *time.Location) (time.Time, int, bool) {
	if len(b) < 16 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' {
		return time.Time{}, 0, false
	}
	y, ok1 := digits(b[0:4])
	mo, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	h, ok4 := digits(b[11:13])
	mi, ok5 := digits(b[14:16])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 {
		return time.Time{}, 0, false
	}
	n, s, ns := 16, 0, 0
	if len(b) >= 19 && b[16] == ':' {
		v, ok := digits(b[17:19])
		if !ok || v > 60 {
			return time.Time{}, 0, false
		}
		s, n = v, 19
		if n < len(b) && (b[n] == '.' || b[n] == ',') {
			j, scale := n+1, 100000000
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				ns += int(b[j]-'0') * scale
				scale /= 10
				j++
			}
			if j == n+1 {
				return time.Time{}, 0, false
			}
			n = j
		}
	}
	zone, fixed := loc, false
	if n < len(b) {
		switch c := b[n]; {
		case c == 'Z':
			zone, n, fixed = time.UTC, n+1, true
		case c == '+' || c == '-':
			off, m, ok := parseOffset(b[n:])
			if ok {
				zone, n, fixed = fixedZone(off), n+m, true
			}
		}
	}
	if fixed {
		// A fixed offset has no gaps: the date is valid when the day is
		// in the month and the second is not a leap second.
		if d > daysIn(mo, y) || s > 59 {
			return time.Time{}, 0, false
		}
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, zone), n, true
	}
	t, ok := exactDate(y, mo, d, h, mi, s, ns, zone)
	return t, n, ok
}

// daysIn is the number of days of month mo (1–12) of year y.
func daysIn(mo, y int) int {
	switch mo {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseOffset reads ±hh:mm or ±hhmm; it returns seconds east of UTC.
func parseOffset(b []byte) (int, int, bool) {
	if len(b) < 5 {
		return 0, 0, false
	}
	sign := 1
	if b[0] == '-' {
		sign = -1
	}
	hh, ok := digits(b[1:3])
	if !ok {
		return 0, 0, false
	}
	j := 3
	if b[j] == ':' {
		j++
	}
	if len(b) < j+2 {
		return 0, 0, false
	}
	mm, ok := digits(b[j : j+2])
	if !ok || hh > 14 || mm > 59 {
		return 0, 0, false
	}
	return sign * (hh*3600 + mm*60), j + 2, true
}

// digits reads a decimal number of at most 18 digits (more would overflow).
func digits(b []byte) (int, bool) {
	if len(b) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// Fixed zones are cached by offset: a log has one or two (DST), and a new
// zone per line would allocate.
var zones sync.Map // int → *time.Location

func fixedZone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	if z, ok := zones.Load(off); ok {
		return z.(*time.Location)
	}
	sign, a := '+', off
	if a < 0 {
		sign, a = '-', -a
	}
	z, _ := zones.LoadOrStore(off, time.FixedZone(fmt.Sprintf("%c%02d%02d", sign, a/3600, a/60%60), off))
	return z.(*time.Location)
}

// ---- nginx ----

// NginxFormat is nginx's "combined" log format, and with Timed the same
// plus $request_time as the last field:
//
//	1.2.3.4 - - [25/Nov/2026:10:00:00 +0800] "GET / HTTP/1.1" 200 612 "-" "curl/8" 0.004
type NginxFormat struct {
	Loc   *time.Location
	Timed bool
}

// Name implements Format.
func (f NginxFormat) Name() string {
	if f.Timed {
		return "nginx_timed"
	}
	return "nginx_combined"
}

// Location implements Format.
func (f NginxFormat) Location() *time.Location { return f.Loc }

// Time implements Format: the [dd/Mon/yyyy:hh:mm:ss ±zzzz] field.
func (f NginxFormat) Time(line []byte) (time.Time, bool) {
	i := bytes.IndexByte(line, '[')
	if i < 0 || len(line)-i < 28 {
		return time.Time{}, false
	}
	return ParseNginxTime(line[i+1 : i+27])
}

// Level implements Format: 5xx is ERROR, 4xx WARN, anything else INFO.
func (f NginxFormat) Level(line []byte) string {
	nf, ok := ParseNginx(line)
	if !ok {
		return ""
	}
	return LevelOfStatus(nf.Status)
}

// LevelOfStatus maps an HTTP status to a level.
func LevelOfStatus(status int) string {
	switch {
	case status >= 500:
		return "ERROR"
	case status >= 400:
		return "WARN"
	}
	return "INFO"
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// ParseNginxTime reads "25/Nov/2026:10:00:00 +0800" (26 bytes).
func ParseNginxTime(b []byte) (time.Time, bool) {
	if len(b) < 26 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' || b[20] != ' ' {
		return time.Time{}, false
	}
	d, ok1 := digits(b[0:2])
	y, ok2 := digits(b[7:11])
	h, ok3 := digits(b[12:14])
	mi, ok4 := digits(b[15:17])
	s, ok5 := digits(b[18:20])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return time.Time{}, false
	}
	mon := 0
	for i, m := range months {
		if b[3] == m[0] && b[4] == m[1] && b[5] == m[2] {
			mon = i + 1
			break
		}
	}
	off, _, ok := parseOffset(b[21:26])
	if mon == 0 || !ok {
		return time.Time{}, false
	}
	return exactDate(y, mon, d, h, mi, s, 0, fixedZone(off))
}

// exactDate is time.Date for fields that name a real instant: 31 February
// or 25:61 is not a timestamp (time.Date would roll it into the next day
// and mislead the binary search of a --since window). A leap second (:60)
// is refused likewise, as Go cannot hold it.
func exactDate(y, mo, d, h, mi, s, ns int, loc *time.Location) (time.Time, bool) {
	t := time.Date(y, time.Month(mo), d, h, mi, s, ns, loc)
	_, _, td := t.Date()
	th, tm, ts := t.Clock()
	if td != d || th != h || tm != mi || ts != s {
		return time.Time{}, false
	}
	return t, true
}

// NginxFields are the fields of an access log line that monitors use. The
// byte slices alias the line: copy them (string(f.IP)) to keep them.
type NginxFields struct {
	IP      []byte // $remote_addr
	RawTime []byte // "25/Nov/2026:10:00:00 +0800"
	Method  []byte
	Path    []byte
	Status  int
	Bytes   int64
	// RequestTime is $request_time, when the line carries it (nginx_timed).
	RequestTime    time.Duration
	HasRequestTime bool
}

// Time parses the line's timestamp.
func (f NginxFields) Time() (time.Time, bool) { return ParseNginxTime(f.RawTime) }

// ParseNginx reads a combined (or combined + $request_time) line by byte
// scanning, without regexp and without allocating.
func ParseNginx(line []byte) (NginxFields, bool) {
	var f NginxFields
	line = bytes.TrimRight(line, "\r\n")
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return f, false
	}
	f.IP = line[:sp]
	lb := bytes.IndexByte(line[sp:], '[')
	if lb < 0 {
		return f, false
	}
	lb += sp
	rb := bytes.IndexByte(line[lb:], ']')
	if rb < 0 {
		return f, false
	}
	rb += lb
	f.RawTime = line[lb+1 : rb]
	rest := line[rb+1:]
	// "request"
	if len(rest) < 2 || rest[0] != ' ' || rest[1] != '"' {
		return f, false
	}
	rest = rest[2:]
	q := indexQuote(rest)
	if q < 0 {
		return f, false
	}
	req := rest[:q]
	rest = rest[q+1:]
	if m := bytes.IndexByte(req, ' '); m > 0 {
		f.Method = req[:m]
		p := req[m+1:]
		if e := bytes.IndexByte(p, ' '); e >= 0 {
			p = p[:e]
		}
		f.Path = p
	}
	// status bytes
	rest = bytes.TrimLeft(rest, " ")
	e := bytes.IndexByte(rest, ' ')
	if e < 0 {
		e = len(rest)
	}
	st, ok := digits(rest[:e])
	if !ok || e != 3 {
		return f, false
	}
	f.Status = st
	rest = bytes.TrimLeft(rest[e:], " ")
	e = bytes.IndexByte(rest, ' ')
	if e < 0 {
		e = len(rest)
	}
	if n, ok := digits(rest[:e]); ok && e > 0 {
		f.Bytes = int64(n)
	}
	rest = rest[e:]
	// The request time is the last field, after the user agent's quote.
	if lq := bytes.LastIndexByte(rest, '"'); lq >= 0 {
		rest = rest[lq+1:]
	}
	rest = bytes.TrimSpace(rest)
	if len(rest) > 0 {
		if d, ok := parseSeconds(rest); ok {
			f.RequestTime, f.HasRequestTime = d, true
		}
	}
	return f, true
}

// indexQuote finds the closing quote of a field, skipping \" escapes.
func indexQuote(b []byte) int {
	off := 0
	for {
		q := bytes.IndexByte(b[off:], '"')
		if q < 0 {
			return -1
		}
		q += off
		if q > 0 && b[q-1] == '\\' {
			off = q + 1
			continue
		}
		return q
	}
}

// maxRequestSeconds bounds a plausible $request_time: a day.
const maxRequestSeconds = 86400

// parseSeconds reads "0.123" (nginx's $request_time, millisecond resolution).
func parseSeconds(b []byte) (time.Duration, bool) {
	var whole, frac int64
	scale := int64(time.Second)
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		whole = whole*10 + int64(b[i]-'0')
		i++
		if whole > maxRequestSeconds {
			return 0, false // not a request time (and would overflow)
		}
	}
	if i == 0 {
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			scale /= 10
			frac += int64(b[i]-'0') * scale
			i++
		}
	}
	if i != len(b) {
		return 0, false
	}
	return time.Duration(whole)*time.Second + time.Duration(frac), true
}

// ---- regexp ----

// RegexpFormat is a format given as "regexp:<RE2>". It runs the regexp per
// call, so it is slower than the presets.
type RegexpFormat struct {
	re          *regexp.Regexp
	spec        string
	loc         *time.Location
	time, level int
}

// Name implements Format.
func (f *RegexpFormat) Name() string { return f.spec }

// Location implements Format.
func (f *RegexpFormat) Location() *time.Location { return f.loc }

// Group returns the named group's text in line, or nil.
func (f *RegexpFormat) Group(line []byte, name string) []byte {
	i := f.re.SubexpIndex(name)
	if i < 0 {
		return nil
	}
	m := f.re.FindSubmatchIndex(line)
	if m == nil || m[2*i] < 0 {
		return nil
	}
	return line[m[2*i]:m[2*i+1]]
}

// Time implements Format: the time group in ISO-8601, nginx's
// 25/Nov/2026:10:00:00 +0800, or Unix seconds.
func (f *RegexpFormat) Time(line []byte) (time.Time, bool) {
	m := f.re.FindSubmatchIndex(line)
	if m == nil || m[2*f.time] < 0 {
		return time.Time{}, false
	}
	return parseAnyTime(line[m[2*f.time]:m[2*f.time+1]], f.loc)
}

// Level implements Format.
func (f *RegexpFormat) Level(line []byte) string {
	if f.level < 0 {
		return ""
	}
	m := f.re.FindSubmatchIndex(line)
	if m == nil || m[2*f.level] < 0 {
		return ""
	}
	return NormalizeLevel(string(line[m[2*f.level]:m[2*f.level+1]]))
}

func parseAnyTime(b []byte, loc *time.Location) (time.Time, bool) {
	if t, _, ok := ParseISO(b, loc); ok {
		return t, true
	}
	if t, ok := ParseNginxTime(b); ok {
		return t, true
	}
	if n, ok := digits(b); ok && len(b) >= 9 && len(b) <= 10 {
		return time.Unix(int64(n), 0).In(loc), true
	}
	return time.Time{}, false
}
