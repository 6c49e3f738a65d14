package chat

import "testing"

// Every Chinese secret key with every separator, half- and full-width,
// with and without spaces around it, and quoted: the value is masked and
// the rest of the line is kept.
func TestRedactChineseKeysEverySeparator(t *testing.T) {
	keys := []string{"密码", "口令", "密钥", "令牌", "数据库密码", "API密钥", "访问令牌"}
	seps := []string{"=", ":", "：", " = ", ": ", "： ", "\u3000：\u3000"}
	for _, k := range keys {
		for _, sep := range seps {
			in := "用户 bob " + k + sep + "hunter2，请勿外传"
			want := "用户 bob " + k + sep + Mask + "，请勿外传"
			if got := builtinRedactor.Redact(in); got != want {
				t.Errorf("Redact(%q) = %q, want %q", in, got, want)
			}
			q := k + sep + "“hunter 2”"
			if got, want := builtinRedactor.Redact(q), k+sep+"“"+Mask+"”"; got != want {
				t.Errorf("Redact(%q) = %q, want %q", q, got, want)
			}
			if !builtinRedactor.Suspect([]byte(in)) {
				t.Errorf("Suspect(%q) = false: a search would skip it", in)
			}
		}
	}
}

// Chinese words that are not secret keys, or keys without a value, stay.
func TestRedactChineseLeavesOrdinaryText(t *testing.T) {
	for _, s := range []string{
		"密码错误 用户 bob 来自 203.0.113.5",
		"请重置密码后再登录",
		"令牌桶限流已生效",
		"登录失败：用户不存在",
	} {
		if got := builtinRedactor.Redact(s); got != s {
			t.Errorf("Redact(%q) = %q, want it unchanged", s, got)
		}
	}
}
