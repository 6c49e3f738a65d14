package textclip_test

import (
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"opsbot/textclip"
	"opsbot/textclip/textcliptest"
)

func TestCutsOnCharacterBoundaries(t *testing.T) {
	cases := []struct {
		name string
		fn   func(string, int, string) string
		in   string
		n    int
		mark string
		want string
	}{
		{"bytes fits", textclip.Bytes, "密码错误", 12, "…", "密码错误"},
		{"bytes inside a character", textclip.Bytes, "密码错误", 8, "", "密码"},
		{"bytes with mark", textclip.Bytes, "密码错误", 11, "…", "密码…"},
		{"bytes mark too long", textclip.Bytes, "密码错误", 2, "…", ""},
		{"bytes invalid replaced", textclip.Bytes, "ok\xff\xfe!", 10, "…", "ok\uFFFD!"},
		{"bytes replacement counts three", textclip.Bytes, "ok\xff!", 4, "", "ok"},
		{"bytes NUL replaced", textclip.Bytes, "a\x00\x00b", 9, "", "a\uFFFDb"},
		{"bytes zero", textclip.Bytes, "abc", 0, "…", ""},
		{"runes", textclip.Runes, "日本語のログ", 4, "…", "日本語…"},
		{"runes fits", textclip.Runes, "日本語", 3, "…", "日本語"},
		{"runes combining marks are characters", textclip.Runes, "e\u0301e\u0301", 3, "", "e\u0301e"},
		{"utf16 emoji is two", textclip.UTF16, "a😀b", 2, "", "a"},
		{"utf16 fits", textclip.UTF16, "a😀b", 4, "…", "a😀b"},
		{"utf16 with mark", textclip.UTF16, "a😀bcd", 4, "…", "a😀…"},
		{"tail", textclip.TailBytes, "第一行\n第二行", 12, "…", "…第二行"},
		{"tail inside a character", textclip.TailBytes, "第一行\n第二行", 10, "…", "…二行"},
		{"tail fits", textclip.TailBytes, "第二行", 9, "…", "第二行"},
		{"tail skips a partial character", textclip.TailBytes, "\xb8\xad文", 5, "", "文"},
	}
	for _, c := range cases {
		if got := c.fn(c.in, c.n, c.mark); got != c.want {
			t.Errorf("%s: (%q, %d, %q) = %q, want %q", c.name, c.in, c.n, c.mark, got, c.want)
		}
	}
}

func TestValidReplacesEachRunOnce(t *testing.T) {
	if got := textclip.Valid("a\xff\xfe\xfdb\x80c\x00\x00d\x00\xffe\uFFFD\xff"); got != "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFD\uFFFD" {
		t.Errorf("Valid = %q", got)
	}
	s := "plain 中文"
	if got := textclip.Valid(s); got != s {
		t.Errorf("valid text changed: %q", got)
	}
}

// Every random string at every limit: the result is valid UTF-8, within
// the limit, a prefix (or suffix) of the valid text, and as long as it can be.
func TestEveryLimitOfRandomText(t *testing.T) {
	ins := textcliptest.Strings(1, 2000, 120)
	units := []struct {
		name string
		fn   func(string, int, string) string
		len  func(string) int
	}{
		{"bytes", textclip.Bytes, func(s string) int { return len(s) }},
		{"runes", textclip.Runes, utf8.RuneCountInString},
		{"utf16", textclip.UTF16, func(s string) int { return len(utf16.Encode([]rune(s))) }},
	}
	for _, s := range ins {
		v := textclip.Valid(s)
		clean := utf8.ValidString(s) && !strings.Contains(s, "\x00")
		if !utf8.ValidString(v) || strings.Contains(v, "\x00") || (clean && v != s) || (!clean && v != strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\xff"), "\uFFFD")) {
			t.Fatalf("Valid(%q) = %q", s, v)
		}
		for _, u := range units {
			if u.name == "utf16" && textclip.UTF16Len(s) != u.len(v) {
				t.Fatalf("UTF16Len(%q) = %d, want %d", s, textclip.UTF16Len(s), u.len(v))
			}
			for n := 0; n <= u.len(v)+1; n++ {
				for _, mark := range []string{"", textclip.Ellipsis} {
					got := u.fn(s, n, mark)
					if !utf8.ValidString(got) || strings.Contains(got, "\x00") || u.len(got) > n {
						t.Fatalf("%s(%q, %d, %q) = %q: invalid or %d long", u.name, s, n, mark, got, u.len(got))
					}
					if u.len(v) <= n {
						if got != v {
							t.Fatalf("%s(%q, %d): cut %q although it fits", u.name, s, n, got)
						}
						continue
					}
					if u.len(mark) > n {
						mark = "" // a mark that does not fit is left out
					}
					body, ok := strings.CutSuffix(got, mark)
					if !ok || !strings.HasPrefix(v, body) {
						t.Fatalf("%s(%q, %d, %q) = %q: not a prefix with the mark", u.name, s, n, mark, got)
					}
					// Maximal: one more character would not fit.
					next, _ := utf8.DecodeRuneInString(v[len(body):])
					if u.len(body+string(next)+mark) <= n {
						t.Fatalf("%s(%q, %d, %q) = %q: stopped early", u.name, s, n, mark, got)
					}
				}
			}
		}
		for n := 0; n <= len(v)+1; n++ {
			got := textclip.TailBytes(s, n, textclip.Ellipsis)
			if !utf8.ValidString(got) || len(got) > n {
				t.Fatalf("TailBytes(%q, %d) = %q", s, n, got)
			}
			if len(v) > n && n >= len(textclip.Ellipsis) && !strings.HasSuffix(v, strings.TrimPrefix(got, textclip.Ellipsis)) {
				t.Fatalf("TailBytes(%q, %d) = %q: not a suffix", s, n, got)
			}
		}
	}
}

func FuzzBytes(f *testing.F) {
	for _, s := range []string{"", "密码: hunter2", "a\xffb", "👨‍👩‍👧", "\xe4\xb8"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= 64
		got := textclip.Bytes(s, n, textclip.Ellipsis)
		if !utf8.ValidString(got) || strings.Contains(got, "\x00") || len(got) > max(n, 0) {
			t.Fatalf("Bytes(%q, %d) = %q", s, n, got)
		}
	})
}

func BenchmarkBytesShortValid(b *testing.B) {
	s := strings.Repeat("log line 中文 ", 20)
	for b.Loop() {
		textclip.Bytes(s, 500, textclip.Ellipsis)
	}
}
