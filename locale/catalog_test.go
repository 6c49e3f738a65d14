package locale_test

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"opsbot/locale"
)

// sameAllowed are keys whose Chinese is rightly the English: identifiers
// and units only.
var sameAllowed = map[string]bool{}

var paramRE = regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)

func params(forms map[string]string) []string {
	seen := map[string]bool{}
	for _, t := range forms {
		for _, m := range paramRE.FindAllStringSubmatch(t, -1) {
			seen[m[1]] = true
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func TestCatalogLoads(t *testing.T) {
	if err := locale.Check(); err != nil {
		t.Fatal(err)
	}
	if got := locale.Supported(); !slices.Equal(got, []string{locale.En, locale.ZhCN}) {
		t.Fatalf("locales = %v", got)
	}
}

func TestEveryKeyHasAChineseEntry(t *testing.T) {
	en := locale.Keys(locale.En)
	if len(en) < 50 {
		t.Fatalf("only %d English keys: catalog not loaded?", len(en))
	}
	for _, k := range en {
		ef, zf := locale.Forms(locale.En, k), locale.Forms(locale.ZhCN, k)
		if zf == nil {
			t.Errorf("%s: no zh-CN entry", k)
			continue
		}
		if zf["other"] == "" {
			t.Errorf("%s: zh-CN has no \"other\" form", k)
		}
		if !sameAllowed[k] {
			for f, s := range zf {
				if ef[f] == s || ef["other"] == s {
					t.Errorf("%s: zh-CN form %s is the English %q", k, f, s)
				}
			}
		}
		if pe, pz := params(ef), params(zf); !slices.Equal(pe, pz) {
			t.Errorf("%s: parameters differ: en %v, zh-CN %v", k, pe, pz)
		}
	}
	for _, k := range locale.Keys(locale.ZhCN) {
		if locale.Forms(locale.En, k) == nil {
			t.Errorf("%s: in zh-CN but not in English (a stale key)", k)
		}
	}
}

func TestPluralsAndNamedParameters(t *testing.T) {
	cases := []struct {
		loc, key string
		args     locale.Args
		want     string
	}{
		{locale.En, "alert.n_firing", locale.Args{"Count": 1}, "1 alert firing"},
		{locale.En, "alert.n_firing", locale.Args{"Count": 3}, "3 alerts firing"},
		{locale.ZhCN, "alert.n_firing", locale.Args{"Count": 1}, "1 条告警正在告警"},
		{locale.ZhCN, "alert.n_firing", locale.Args{"Count": 3}, "3 条告警正在告警"},
		{locale.ZhCN, "alert.n_mixed", locale.Args{"Count": 3, "Firing": 2, "Resolved": 1}, "3 条告警：2 条告警中，1 条已恢复"},
		{locale.ZhCN, "incident.title", locale.Args{"ID": 7, "Title": "数据库 <慢>"}, "故障 #7：数据库 <慢>"},
		{locale.ZhCN, "stage.post-mortem", nil, "事后分析"},
		// an unknown locale is English; an unknown key shows as itself
		{"fr", "severity.warning", nil, "warning"},
		{locale.ZhCN, "no.such.key", nil, "no.such.key"},
	}
	for _, c := range cases {
		if got := locale.T(c.loc, c.key, c.args); got != c.want {
			t.Errorf("T(%s, %s, %v) = %q, want %q", c.loc, c.key, c.args, got, c.want)
		}
	}
}

func TestParseAndDiscordLocale(t *testing.T) {
	for in, want := range map[string]string{"en": "en", "en-US": "en", "en-GB": "en", "zh-CN": "zh-CN", "zh_cn": "zh-CN", "zh": "zh-CN", "zh-Hans": "zh-CN"} {
		if got, ok := locale.Parse(in); !ok || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "fr", "zh-TW", "zhcn"} {
		if got, ok := locale.Parse(bad); ok {
			t.Errorf("Parse(%q) = %q, want refused", bad, got)
		}
	}
	if got := locale.Discord("zh-CN", "en-US"); got != locale.ZhCN {
		t.Errorf("user locale first: %q", got)
	}
	if got := locale.Discord("de", "zh-CN"); got != locale.ZhCN {
		t.Errorf("guild locale second: %q", got)
	}
	if got := locale.Discord("de", "fr"); got != "" {
		t.Errorf("neither supported: %q", got)
	}
}

func TestAliases(t *testing.T) {
	for in, want := range map[string]string{"发现": "discovery", "初步评估": "assessment", "故障处理": "handling", "故障恢复": "recovery", "事后分析": "post-mortem", " 复盘 ": "post-mortem"} {
		if got, ok := locale.Stage(in); !ok || got != want {
			t.Errorf("Stage(%q) = %q, %v", in, got, ok)
		}
	}
	if got, ok := locale.Stage("handling"); ok || got != "handling" {
		t.Errorf("canonical names pass through: %q %v", got, ok)
	}
	for in, want := range map[string]string{"严重": "critical", "警告": "warning"} {
		if got, ok := locale.Severity(in); !ok || got != want {
			t.Errorf("Severity(%q) = %q, %v", in, got, ok)
		}
	}
	if got, ok := locale.Severity("致命"); ok {
		t.Errorf("unknown severity accepted as %q", got)
	}
}

func TestTimesInTheLocaleZone(t *testing.T) {
	at := time.Date(2026, 3, 1, 18, 30, 0, 0, time.UTC)
	zh := locale.For("zh-CN", nil)
	if got := zh.Time(at); got != "2026年03月02日 02:30 CST" {
		t.Errorf("zh-CN time = %q", got)
	}
	if got := locale.For("en", nil).Time(at); got != "2026-03-01 18:30 UTC" {
		t.Errorf("en time = %q", got)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	if got := locale.For("zh-CN", tokyo).Clock(at); got != "03:30 JST" {
		t.Errorf("configured zone wins: %q", got)
	}
	if got := zh.Duration(90 * time.Minute); got != "1 小时 30 分钟" {
		t.Errorf("zh duration = %q", got)
	}
	var zero locale.Printer
	if got := zero.T("severity.critical") + " " + zero.Time(at); !strings.HasSuffix(got, "UTC") || !strings.HasPrefix(got, "critical") {
		t.Errorf("zero printer = %q", got)
	}
}

func TestResolveChannelOverConfig(t *testing.T) {
	if p := locale.Resolve("en", "zh-CN", ""); p.Lang != locale.ZhCN || p.Zone.String() != "Asia/Shanghai" {
		t.Errorf("channel choice: %+v", p)
	}
	if p := locale.Resolve("zh-CN", "", "Europe/Berlin"); p.Lang != locale.ZhCN || p.Zone.String() != "Europe/Berlin" {
		t.Errorf("configured zone: %+v", p)
	}
	if p := locale.Resolve("en", "", ""); p.Lang != locale.En || p.Zone != time.UTC {
		t.Errorf("default: %+v", p)
	}
}
