package notifier_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"opsbot/bot/console"
	"opsbot/chat"
	"opsbot/store"
	"opsbot/store/storetest"
)

// A channel that chose zh-CN gets its cards, buttons and thread replies in
// Chinese; another channel on the same alerts keeps the configured English.
func TestChannelLocaleChineseCards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		var zh, en bytes.Buffer
		router := chat.NewRouter()
		router.Set("console", console.NewPoster(&zh))
		router.Set("other", console.NewPoster(&en))
		r := newRig(t, st, router)
		r.subscribe(t, "console", "", "", "threshold")
		r.subscribe(t, "other:ops", "", "", "threshold")
		if err := st.SetChannelLocale(context.Background(), "console", "zh-CN", "test", r.clk.Now()); err != nil {
			t.Fatal(err)
		}

		r.notify(t, firing("cpu/api", "threshold", "cpu_high", "api", "warning", "CPU 93% > 85%", 93))
		r.clk.Advance(10 * time.Second)
		r.notify(t, firing("mem/api", "threshold", "memory_high", "api", "critical", "memory 95% > 90%", 95))
		r.clk.Advance(20 * time.Second)
		r.tick(t)
		r.drain(t)
		r.clk.Advance(5 * time.Minute)
		r.notify(t, resolved("cpu/api"))
		r.drain(t)
		want := `[#1] [CRITICAL] 2 条告警正在告警
#2 [严重] api 上的 memory_high: memory 95% > 90% — 告警中，已持续 20 秒 · fp mem/api
#1 [警告] api 上的 cpu_high: CPU 93% > 85% — 告警中，已持续 30 秒 · fp cpu/api
(/ops ack <id> 确认单条告警)
[全部确认]
[静默 1h]
[静默 4h]
[静默 24h]
[#1 updated] [CRITICAL] 2 条告警：1 条告警中，1 条已恢复 — #2 [严重] api 上的 memory_high: memory 95% > 90% — 告警中，已持续 5 分钟 20 秒 · fp mem/api · #1 [警告] api 上的 cpu_high: CPU 93% > 85% — 已恢复，持续 5 分钟 30 秒 · fp cpu/api
    ↳ [#2 in #1] [RESOLVED] 已恢复：api 上的 cpu_high
      #1 已恢复，持续 5 分钟 30 秒。
`
		if got := zh.String(); got != want {
			t.Errorf("zh-CN channel shows:\n%s\nwant:\n%s", got, want)
		}
		if !bytes.Contains(en.Bytes(), []byte("2 alerts firing")) || bytes.Contains(en.Bytes(), []byte("告警")) {
			t.Errorf("English channel shows:\n%s", en.String())
		}
	})
}
