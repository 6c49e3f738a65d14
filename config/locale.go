package config

import (
	"fmt"
	"strings"
)

// Locales are the languages opsbot speaks (the catalog's files).
var Locales = []string{"en", "zh-CN"}

// Keywords are the words the log monitors count, each list in every
// language the team's logs are written in: a line holding any word of a
// list counts once.
type Keywords struct {
	// LoginFailed: failed logins in the security log.
	LoginFailed []string `yaml:"login_failed"`
	// Error: error lines in the error log.
	Error []string `yaml:"error"`
	// LLMError: failed model calls in the LLM log.
	LLMError []string `yaml:"llm_error"`
}

// DefaultKeywords are the seed's greps with their Chinese twins.
func DefaultKeywords() Keywords {
	return Keywords{
		LoginFailed: []string{"login failed", "登录失败", "密码错误"},
		Error:       []string{"ERROR", "错误"},
		LLMError:    []string{"LLM API Error", "大模型调用失败", "大模型API调用失败"},
	}
}

func (k *Keywords) setDefaults() { *k = DefaultKeywords() }

func (k Keywords) validate(p *Problems) {
	for name, list := range map[string][]string{"login_failed": k.LoginFailed, "error": k.Error, "llm_error": k.LLMError} {
		if len(list) == 0 {
			p.add("keywords."+name, "needs at least one word")
		}
		for i, w := range list {
			if strings.TrimSpace(w) == "" {
				p.add(fmt.Sprintf("keywords.%s[%d]", name, i), "empty word")
			}
		}
	}
}

// NormalLocale is the catalog's name of a locale as people write it
// ("zh_CN", "zh-cn", "zh" → "zh-CN"; "en-US" → "en"); ok false when it is
// not one of Locales.
func NormalLocale(s string) (string, bool) {
	n := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", "-"))
	switch {
	case n == "en" || strings.HasPrefix(n, "en-"):
		return "en", true
	case n == "zh" || n == "zh-cn" || n == "zh-hans" || n == "zh-hans-cn":
		return "zh-CN", true
	}
	return "", false
}

func validateLocale(c *Config, p *Problems) {
	if l, ok := NormalLocale(c.Locale); ok {
		c.Locale = l
	} else {
		p.add("locale", "unknown locale %q; locales are %s", c.Locale, strings.Join(Locales, ", "))
	}
	c.Keywords.validate(p)
}
