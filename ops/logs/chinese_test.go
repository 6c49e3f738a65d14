package logs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"opsbot/config"
)

// A security log in both languages: Chinese literals, regexes and
// --ignore-case find the lines a reader would, and a folded search never
// matches inside a multi-byte character.
func TestSearchChineseText(t *testing.T) {
	dir := t.TempDir()
	log := "2026-11-25T09:00:01+08:00 WARN 登录失败 用户 bob 来自 203.0.113.5\n" +
		"2026-11-25T09:00:02+08:00 WARN Login Failed for bob from 203.0.113.5\n" +
		"2026-11-25T09:00:03+08:00 WARN 用户 bob 密码错误 来自 203.0.113.5\n" +
		"2026-11-25T09:00:04+08:00 INFO 登录成功 用户 alice 来自 198.51.100.7\n" +
		"2026-11-25T09:00:05+08:00 ERROR 错误：大模型调用失败 (LLM API Error)\n" +
		"2026-11-25T09:00:06+08:00 INFO ΣΊΣΥΦΟΣ σίσυφος\n"
	if err := os.WriteFile(filepath.Join(dir, "security.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "api", HealthURL: "http://127.0.0.1:1/health", Workdir: dir,
		Logs: map[string]config.LogFile{"security": {Path: "security.log", Format: "app_iso", Timezone: "Asia/Shanghai"}}}}
	l := New(func() *config.Config { return cfg })
	l.Now = func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }
	cases := []struct {
		name string
		q    Query
		want int64
	}{
		{"literal", Query{Pattern: "登录失败"}, 1},
		{"literal ignore-case", Query{Pattern: "登录失败", IgnoreCase: true}, 1},
		{"english ignore-case", Query{Pattern: "login failed", IgnoreCase: true}, 1},
		{"regex alternation", Query{Pattern: "登录失败|密码错误|(?i:login failed)", Regex: true}, 3},
		{"regex ignore-case", Query{Pattern: "登录失败|login failed", Regex: true, IgnoreCase: true}, 2},
		{"regex class", Query{Pattern: `[登密][录码](失败|错误).*203\.0\.113\.5`, Regex: true}, 2},
		{"regex character count", Query{Pattern: `用户 \p{Latin}{3} 来自`, Regex: true}, 1},
		{"non-ASCII fold", Query{Pattern: "σίσυφος", IgnoreCase: true}, 1},
		{"fullwidth colon", Query{Pattern: "错误：大模型"}, 1},
	}
	for _, c := range cases {
		c.q.Logs = []string{"security"}
		res, err := l.Search(context.Background(), c.q)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if res.Total != c.want {
			t.Errorf("%s: %q found %d lines, want %d", c.name, c.q.Pattern, res.Total, c.want)
		}
	}
	// Half a character is bad input, refused in one line, not a match
	// inside 失 or 大.
	if _, err := l.Search(context.Background(), Query{Logs: []string{"security"}, Pattern: "\xe5\xa4", IgnoreCase: true}); err == nil {
		t.Error("a pattern of half a character was accepted")
	}
}
