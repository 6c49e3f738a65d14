package watch

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"opsbot/config"
)

// A security log written half in English, half in Chinese: failed logins
// from one IP count whichever language the line is in, once per line.
func TestMonitorCountsBothLanguages(t *testing.T) {
	dir := t.TempDir()
	f := config.LogFile{Path: filepath.Join(dir, "security.log"), Format: "app_iso", Timezone: "UTC"}
	e := config.LogFile{Path: filepath.Join(dir, "error.log"), Format: "app_iso", Timezone: "UTC"}
	l := config.LogFile{Path: filepath.Join(dir, "llm.log"), Format: "app_iso", Timezone: "UTC"}
	for _, p := range []string{f.Path, e.Path, l.Path} {
		appendTo(t, p, "")
	}
	files := map[string]config.LogFile{LogSecurity: f, LogError: e, LogLLM: l}
	m, err := NewMonitor("api", files, Options{SecurityWindow: time.Hour, LoginFailedPerIP: 3, Keywords: config.DefaultKeywords()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := m.Pass(ctx, t0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, f.Path, "2026-11-25T10:00:01Z WARN login failed for bob from 203.0.113.5\n"+
		"2026-11-25T10:00:02Z WARN 登录失败 用户 bob 来自 203.0.113.5\n"+
		"2026-11-25T10:00:03Z WARN 用户 bob 密码错误 203.0.113.5\n"+
		// both words on one line: one failed login, not two
		"2026-11-25T10:00:04Z WARN 登录失败 (login failed) 203.0.113.5\n"+
		"2026-11-25T10:00:05Z INFO 登录成功 用户 alice 来自 198.51.100.7\n")
	appendTo(t, e.Path, "2026-11-25T10:00:01Z ERROR db timeout\n2026-11-25T10:00:02Z 错误 数据库超时\n2026-11-25T10:00:03Z INFO 正常\n")
	appendTo(t, l.Path, "2026-11-25T10:00:01Z INFO 调用成功\n2026-11-25T10:00:02Z WARN 大模型调用失败: 超时\n2026-11-25T10:00:03Z ERROR LLM API Error: 429\n2026-11-25T10:00:04Z INFO 调用成功\n")
	s, err := m.Pass(ctx, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if s.LoginFailed != 4 {
		t.Errorf("failed logins = %d, want 4", s.LoginFailed)
	}
	if got := s.LoginByIP["203.0.113.5"]; got != 4 || len(s.LoginByIP) != 1 {
		t.Errorf("by IP = %v, want 203.0.113.5: 4", s.LoginByIP)
	}
	if s.ErrorLines != 2 {
		t.Errorf("error lines = %d, want 2", s.ErrorLines)
	}
	if s.LLMErrors != 2 || s.LLMCalls != 4 {
		t.Errorf("llm = %d errors of %d calls, want 2 of 4", s.LLMErrors, s.LLMCalls)
	}

	// Without keywords configured, only the seed's English literal counts.
	m2, err := NewMonitor("api", map[string]config.LogFile{LogSecurity: f}, Options{SecurityWindow: time.Hour, FromStart: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err = m2.Pass(ctx, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if s.LoginFailed != 2 {
		t.Errorf("English only: failed logins = %d, want 2", s.LoginFailed)
	}
}
