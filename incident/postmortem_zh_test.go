package incident

import (
	"path/filepath"
	"strings"
	"testing"

	"opsbot/locale"
)

// The same incident's draft in zh-CN, times in Asia/Shanghai: the guide's
// stage names, Chinese headings and checklist, the same measures.
func TestPostMortemGoldenChinese(t *testing.T) {
	inc, tl, now := scripted()
	got := RenderPostMortemIn(locale.For(locale.ZhCN, nil), inc, tl, now)
	golden(t, filepath.Join("testdata", "postmortem.zh-CN.md"), got)
	for _, want := range []string{
		"# 事后分析：故障 #",
		"| 发现用时 | 4 分钟 | 5 分钟 | 达标 |",
		"| 处理用时 | 47 分钟 | 30 分钟 | 超出 17 分钟 |",
		"| 故障处理 |",
		"| 事后分析 |",
		"从 2026-03-02 17:58:00 CST（首条告警触发）到 2026-03-02 19:10:00 CST（故障恢复结束）：1 小时 12 分钟。",
		"## 根本原因",
		"- [ ] 已更新运维手册",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("zh-CN post-mortem lacks %q", want)
		}
	}
	for _, english := range []string{"Root cause", "within target", "time to", "Timeline", "not resolved"} {
		if strings.Contains(got, english) {
			t.Errorf("zh-CN post-mortem still says %q", english)
		}
	}
}
