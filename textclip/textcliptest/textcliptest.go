// Package textcliptest makes hostile text for tests: ASCII, CJK, emoji
// (with skin tones and joiners), combining marks, right-to-left script,
// control characters and invalid UTF-8 bytes, mixed at random.
package textcliptest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"unicode/utf8"
)

// pieces are the building blocks, each a few bytes long. Some are not valid
// UTF-8 on purpose: a stray continuation byte, a truncated sequence, an
// overlong encoding, a surrogate half and a byte that never occurs.
var pieces = []string{
	"a", "Z", "0", " ", "\n", "\t", "=", "\"", "<", "&", "*", "`", "\\", "%",
	"中", "文", "日本語", "한국어", "密码", "错误", "ログ",
	"é", "e\u0301", "n\u0303", "a\u0308\u0301", // precomposed and combining marks
	"😀", "👍🏽", "👨‍👩‍👧", "🇨🇳", "🏳️‍🌈", "\U0001F9EA",
	"שלום", "مرحبا", "\u200f", "\u200b", "\ufeff", "\ufffd",
	"\x00", "\x1b[31m", "\u0085", "\u2028",
	"\x80", "\xbf", "\xe4\xb8", "\xf0\x9f\x98", "\xc0\xaf", "\xed\xa0\x80", "\xff", "\xfe\xfe",
}

// String returns a random string of at most maxBytes bytes built from the
// pieces, biased towards multibyte and invalid ones.
func String(r *rand.Rand, maxBytes int) string {
	if maxBytes <= 0 {
		return ""
	}
	want := r.IntN(maxBytes + 1)
	var b strings.Builder
	for b.Len() < want {
		p := pieces[r.IntN(len(pieces))]
		if b.Len()+len(p) > maxBytes {
			break
		}
		b.WriteString(p)
	}
	return b.String()
}

// Rand is a generator for String: the same seed gives the same strings, so
// a failure can be replayed.
func Rand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// Strings returns n random strings of at most maxBytes bytes each; the same
// seed gives the same strings, so a failure can be replayed.
func Strings(seed uint64, n, maxBytes int) []string {
	r := Rand(seed)
	out := make([]string, n)
	for i := range out {
		out[i] = String(r, maxBytes)
	}
	return out
}

// Invalid returns the paths of the strings in v (followed through
// pointers, interfaces, slices, maps and exported and unexported struct
// fields) that are not valid UTF-8. Byte slices are data, not text, and are
// not looked at.
func Invalid(v any) []string {
	var bad []string
	walk(reflect.ValueOf(v), "", &bad, 0)
	return bad
}

func walk(v reflect.Value, path string, bad *[]string, depth int) {
	if !v.IsValid() || depth > 40 {
		return
	}
	switch v.Kind() {
	case reflect.String:
		if !utf8.ValidString(v.String()) {
			*bad = append(*bad, fmt.Sprintf("%s = %q", path, v.String()))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), path, bad, depth+1)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), bad, depth+1)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			walk(k, path+"{key}", bad, depth+1)
			walk(v.MapIndex(k), fmt.Sprintf("%s[%v]", path, k), bad, depth+1)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			walk(v.Field(i), path+"."+v.Type().Field(i).Name, bad, depth+1)
		}
	}
}
