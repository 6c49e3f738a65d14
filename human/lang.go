package human

import (
	"strings"
	"time"
)

// zhUnits are the Chinese names of Duration's units.
var zhUnits = map[string]string{"ms": "毫秒", "s": "秒", "min": "分钟", "h": "小时", "d": "天"}

// DurationIn renders d as Duration does, with the unit names of locale
// lang: "1 小时 30 分钟" in zh-CN. Other locales get Duration's English.
func DurationIn(lang string, d time.Duration) string {
	s := Duration(d)
	if lang != "zh-CN" {
		return s
	}
	f := strings.Fields(s)
	for i, w := range f {
		if z, ok := zhUnits[w]; ok {
			f[i] = z
		}
	}
	// "< 1 ms" keeps its shape: "< 1 毫秒".
	return strings.Join(f, " ")
}
