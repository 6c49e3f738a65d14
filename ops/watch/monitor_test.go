package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/config"
)

func accessLine(ip string, status int, rt string) string {
	return fmt.Sprintf("%s - - [25/Nov/2026:10:00:00 +0800] \"GET /api/chat HTTP/1.1\" %d 512 \"-\" \"Mozilla/5.0\" %s\n", ip, status, rt)
}

func TestMonitorRealLogs(t *testing.T) {
	dir := t.TempDir()
	files := map[string]config.LogFile{}
	for _, n := range []string{LogAccess, LogError, LogLLM, LogSecurity} {
		f := config.LogFile{Path: filepath.Join(dir, n+".log"), Format: "app_iso", Timezone: "UTC"}
		if n == LogAccess {
			f.Format = "nginx_timed"
		}
		files[n] = f
		appendTo(t, f.Path, "")
	}
	m, err := NewMonitor("api", files, Options{Window: 5 * time.Minute, SecurityWindow: time.Hour, RequestsPerIP: 3, LoginFailedPerIP: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := m.Pass(ctx, t0); err != nil {
		t.Fatal(err)
	}
	var acc strings.Builder
	// 10 requests: 4 from 10.0.0.9 (over 3), 2 of them 5xx, times 0.1…1.0 s.
	for i := range 10 {
		ip := "10.0.0.9"
		if i >= 4 {
			ip = fmt.Sprintf("10.0.1.%d", i)
		}
		status := 200
		if i == 2 || i == 7 {
			status = 502
		}
		acc.WriteString(accessLine(ip, status, fmt.Sprintf("%d.%d00", (i+1)/10, (i+1)%10)))
	}
	acc.WriteString("not an access line\n")
	appendTo(t, files[LogAccess].Path, acc.String())
	appendTo(t, files[LogError].Path, "2026-11-25T10:00:01Z ERROR db timeout\n2026-11-25T10:00:02Z INFO fine\nTraceback (most recent call last):\n2026-11-25T10:00:03Z ERROR again\n")
	appendTo(t, files[LogLLM].Path, "2026-11-25T10:00:01Z INFO LLM API call ok 1.2s\n2026-11-25T10:00:02Z ERROR LLM API Error: 429\n2026-11-25T10:00:03Z INFO LLM API call ok 0.8s\n2026-11-25T10:00:04Z INFO LLM API call ok 0.9s\n")
	appendTo(t, files[LogSecurity].Path, "203.0.113.5 2026-11-25T10:00:01Z login failed for bob\n203.0.113.5 2026-11-25T10:00:02Z login failed for bob\n203.0.113.5 2026-11-25T10:00:03Z login failed for bob\n2026-11-25T10:00:04Z WARN login failed for eve from 198.51.100.7\n2026-11-25T10:00:05Z INFO login ok alice\n")

	s, err := m.Pass(ctx, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !s.HasAccess || s.Requests != 10 || s.Rate5xxPct != 20 || s.ResponseMS != 550 || s.TimedLines != 10 {
		t.Errorf("access: %+v", s)
	}
	if len(s.RequestsByIP) != 1 || s.RequestsByIP["10.0.0.9"] != 4 {
		t.Errorf("hot IPs: %v", s.RequestsByIP)
	}
	if s.ErrorLines != 2 || !s.HasError {
		t.Errorf("error lines %d", s.ErrorLines)
	}
	if s.LLMCalls != 4 || s.LLMErrors != 1 || s.LLMSuccess != 75 {
		t.Errorf("llm: %d calls %d errors %.1f%%", s.LLMCalls, s.LLMErrors, s.LLMSuccess)
	}
	if s.LoginFailed != 4 || len(s.LoginByIP) != 1 || s.LoginByIP["203.0.113.5"] != 3 {
		t.Errorf("logins: %d %v", s.LoginFailed, s.LoginByIP)
	}
	unparsed := map[string]int64{}
	for _, l := range s.Logs {
		unparsed[l.Name] = l.Unparsed
	}
	if unparsed[LogAccess] != 1 || unparsed[LogError] != 1 || unparsed[LogSecurity] != 3 {
		// The security lines that start with the IP have no timestamp first.
		t.Errorf("unparsed %v", unparsed)
	}

	// Seven minutes on with nothing new: the 5-minute signals are empty, the
	// hour-long security window still holds.
	s, err = m.Pass(ctx, t0.Add(7*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 0 || s.ErrorLines != 0 || s.LLMCalls != 0 || s.LLMSuccess != 100 {
		t.Errorf("window did not slide: %+v", s)
	}
	if s.LoginFailed != 4 || s.RequestsByIP["10.0.0.9"] != 4 {
		t.Errorf("security window lost: %d %v", s.LoginFailed, s.RequestsByIP)
	}
	s, _ = m.Pass(ctx, t0.Add(62*time.Minute))
	if s.LoginFailed != 0 || len(s.RequestsByIP) != 0 {
		t.Errorf("security window did not slide: %d %v", s.LoginFailed, s.RequestsByIP)
	}

	// A log replaced by a directory: that log reports, the others go on.
	if err := os.Remove(files[LogError].Path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(files[LogError].Path, 0o755); err != nil {
		t.Fatal(err)
	}
	appendTo(t, files[LogAccess].Path, accessLine("10.0.0.1", 200, "0.100"))
	s, err = m.Pass(ctx, t0.Add(63*time.Minute))
	if !errors.Is(err, ErrNotRegular) || s.HasError || !s.HasAccess || s.Requests != 1 {
		t.Fatalf("after directory: %v %+v", err, s)
	}
}
