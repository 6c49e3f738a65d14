package logs

import (
	"testing"
	"time"

	"opsbot/config"
)

func TestParseNginxCombinedAndTimed(t *testing.T) {
	combined := []byte(`203.0.113.7 - alice [25/Nov/2026:10:00:00 +0800] "POST /api/chat?x=1 HTTP/1.1" 502 173 "https://ex.com/" "Mozilla/5.0 (X11; \"quoted\")"`)
	f, ok := ParseNginx(combined)
	if !ok {
		t.Fatal("combined line not parsed")
	}
	if string(f.IP) != "203.0.113.7" || f.Status != 502 || f.Bytes != 173 || string(f.Method) != "POST" || string(f.Path) != "/api/chat?x=1" || f.HasRequestTime {
		t.Fatalf("combined fields: %+v", f)
	}
	tm, ok := f.Time()
	want := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	if !ok || !tm.Equal(want) {
		t.Fatalf("time %v, want %v", tm, want)
	}
	timed := append(append([]byte{}, combined...), " 2.345\n"...)
	f, ok = ParseNginx(timed)
	if !ok || !f.HasRequestTime || f.RequestTime != 2345*time.Millisecond {
		t.Fatalf("timed fields: %+v ok=%v", f, ok)
	}
	for _, bad := range []string{"", "garbage", `1.2.3.4 - - [25/Nov/2026:10:00:00 +0800] "GET /" abc 1 "-" "-"`, `1.2.3.4 - - [25/Nov/2026:10:00:00 +0800`} {
		if _, ok := ParseNginx([]byte(bad)); ok {
			t.Errorf("ParseNginx(%q) accepted", bad)
		}
	}
}

func TestParseNginxAllocatesNothing(t *testing.T) {
	line := []byte(`10.0.0.1 - - [25/Nov/2026:10:00:00 +0800] "GET / HTTP/1.1" 200 612 "-" "curl/8" 0.004`)
	nf := NginxFormat{Loc: time.UTC, Timed: true}
	n := testing.AllocsPerRun(100, func() {
		if _, ok := ParseNginx(line); !ok {
			t.Fatal("not parsed")
		}
		if _, ok := nf.Time(line); !ok {
			t.Fatal("no time")
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per line", n)
	}
}

func TestAppISOTimesAndLevels(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no tzdata")
	}
	f, err := FormatFor(config.LogFile{Format: "app_iso", Timezone: "Asia/Shanghai"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		line  string
		want  time.Time
		level string
	}{
		{"2026-11-25T10:00:00Z ERROR boom", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), "ERROR"},
		{"2026-11-25T10:00:00.250+08:00 WARNING slow", time.Date(2026, 11, 25, 2, 0, 0, 250e6, time.UTC), "WARN"},
		{"2026-11-25 10:00:00,123 INFO started", time.Date(2026, 11, 25, 10, 0, 0, 123e6, shanghai), "INFO"},
		{"2026-11-25T10:00:00-0530 [error] x", time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC), "ERROR"},
		{"[2026-11-25 10:00:00] ERROR: y", time.Date(2026, 11, 25, 10, 0, 0, 0, shanghai), "ERROR"},
		{"2026-11-25T10:00:00 Erroneous thing", time.Date(2026, 11, 25, 10, 0, 0, 0, shanghai), ""},
	}
	for _, c := range cases {
		got, ok := f.Time([]byte(c.line))
		if !ok || !got.Equal(c.want) {
			t.Errorf("Time(%q) = %v %v, want %v", c.line, got, ok, c.want)
		}
		if lv := f.Level([]byte(c.line)); lv != c.level {
			t.Errorf("Level(%q) = %q, want %q", c.line, lv, c.level)
		}
	}
	for _, bad := range []string{"", "Traceback (most recent call last):", "2026-13-01T00:00:00 x", "  File x"} {
		if _, ok := f.Time([]byte(bad)); ok {
			t.Errorf("Time(%q) accepted", bad)
		}
	}
}

func TestRegexpFormat(t *testing.T) {
	f, err := NewFormat(`regexp:^(?P<level>\w+) (?P<time>\S+) (?P<msg>.*)$`, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte("error 2026-11-25T10:00:00Z disk full")
	if tm, ok := f.Time(line); !ok || !tm.Equal(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("time %v %v", tm, ok)
	}
	if lv := f.Level(line); lv != "ERROR" {
		t.Fatalf("level %q", lv)
	}
	if g := f.(*RegexpFormat).Group(line, "msg"); string(g) != "disk full" {
		t.Fatalf("group %q", g)
	}
	for _, spec := range []string{"regexp:(", "regexp:^(?P<lvl>x)", "syslog"} {
		if _, err := NewFormat(spec, time.UTC); err == nil {
			t.Errorf("NewFormat(%q) accepted", spec)
		}
	}
}

func TestNginxLevelFromStatus(t *testing.T) {
	f := NginxFormat{Loc: time.UTC}
	for line, want := range map[string]string{
		`1.1.1.1 - - [25/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 503 0 "-" "-"`: "ERROR",
		`1.1.1.1 - - [25/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 404 0 "-" "-"`: "WARN",
		`1.1.1.1 - - [25/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 0 "-" "-"`: "INFO",
	} {
		if got := f.Level([]byte(line)); got != want {
			t.Errorf("Level(%q) = %q, want %q", line, got, want)
		}
	}
}
