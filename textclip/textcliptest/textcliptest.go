// Package textcliptest makes hostile text for tests: ASCII, CJK, emoji
// (with skin tones and joiners), combining marks, right-to-left script,
// control characters and invalid UTF-8 bytes, mixed at random.
package textcliptest

import (
	"math/rand/v2"
	"strings"
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

// Strings returns n random strings of at most maxBytes bytes each; the same
// seed gives the same strings, so a failure can be replayed.
func Strings(seed uint64, n, maxBytes int) []string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]string, n)
	for i := range out {
		out[i] = String(r, maxBytes)
	}
	return out
}
