// Package textclip cuts text to a length limit without splitting a
// character, and makes it text every receiver takes on the way. Limits are
// counted the way the receiver counts them: bytes for the store and Slack,
// characters (code points) for people, UTF-16 code units for Discord
// (JavaScript's length).
//
// Every function returns valid UTF-8 without NUL: each run of invalid bytes
// or NUL characters becomes one U+FFFD (as strings.ToValidUTF8 does for
// invalid bytes) and counts as that character. Log lines and command output
// are bytes, not text: PostgreSQL refuses invalid UTF-8 and NUL (SQLSTATE
// 22021), and chat platforms show or refuse them unpredictably.
package textclip

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis marks where text was cut.
const Ellipsis = "…"

const replacement = "\uFFFD"

// clean reports whether s needs no replacement.
func clean(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// Valid returns s with each run of invalid UTF-8 bytes or NUL characters
// replaced by U+FFFD; clean text is returned as is, without copying.
func Valid(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(replacement))
	units(s, func(_ rune, from, to int, bad bool) bool {
		if bad {
			b.WriteString(replacement)
		} else {
			b.WriteString(s[from:to])
		}
		return true
	})
	return b.String()
}

// Bytes returns s cut to at most n bytes, ending on a character boundary.
// When it had to cut, the result ends with mark, counted within n (a mark
// longer than n is left out).
func Bytes(s string, n int, mark string) string { return clip(s, n, mark, byteWidth) }

// Runes returns s cut to at most n characters (code points), ending with
// mark, counted within n, when it had to cut.
func Runes(s string, n int, mark string) string { return clip(s, n, mark, runeWidth) }

// UTF16 returns s cut to at most n UTF-16 code units, the length Discord
// counts (a character outside the Basic Multilingual Plane, such as most
// emoji, is two), ending with mark, counted within n, when it had to cut.
func UTF16(s string, n int, mark string) string { return clip(s, n, mark, utf16Width) }

// UTF16Len is the length of Valid(s) in UTF-16 code units.
func UTF16Len(s string) int {
	if !clean(s) {
		return width(s, utf16Width)
	}
	n := 0
	for _, r := range s {
		n += utf16Width(r)
	}
	return n
}

// TailBytes returns the end of s, at most n bytes, starting on a character
// boundary. When it had to cut, the result starts with mark, counted within
// n. For the tail of command output: the last lines say what went wrong.
func TailBytes(s string, n int, mark string) string {
	if n <= 0 {
		return ""
	}
	v := Valid(s)
	if len(v) <= n {
		return v
	}
	if len(mark) > n {
		mark = ""
	}
	i := len(v) - (n - len(mark))
	for i < len(v) && !utf8.RuneStart(v[i]) {
		i++
	}
	return mark + v[i:]
}

// A widthFunc is the length one character adds to the output.
type widthFunc func(r rune) int

func byteWidth(r rune) int { return utf8.RuneLen(r) }

func runeWidth(rune) int { return 1 }

func utf16Width(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// units walks s as Valid reads it: fn sees each character with its byte
// range in s; a run of invalid bytes or NULs is one U+FFFD, with bad set.
// It stops when fn returns false.
func units(s string, fn func(r rune, from, to int, bad bool) bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		j, bad := i+size, r == 0 || (r == utf8.RuneError && size == 1)
		for bad && j < len(s) {
			if r2, size2 := utf8.DecodeRuneInString(s[j:]); r2 != 0 && (r2 != utf8.RuneError || size2 != 1) {
				break
			}
			j++
		}
		if bad {
			r = utf8.RuneError
		}
		if !fn(r, i, j, bad) {
			return
		}
		i = j
	}
}

func width(s string, w widthFunc) int {
	n := 0
	units(s, func(r rune, _, _ int, _ bool) bool { n += w(r); return true })
	return n
}

func clip(s string, n int, mark string, w widthFunc) string {
	if n <= 0 {
		return ""
	}
	// Fast path: short clean text needs neither a copy nor a cut.
	if len(s) <= n && clean(s) {
		return s
	}
	room := n - width(mark, w)
	if room < 0 {
		room, mark = n, ""
	}
	// One pass: where the text must end if it has to be cut (the first
	// character past room), and whether it has to be (it is longer than n).
	used, end, fits := 0, -1, true
	units(s, func(r rune, from, _ int, _ bool) bool {
		used += w(r)
		if end < 0 && used > room {
			end = from
		}
		fits = used <= n
		return fits
	})
	if fits {
		return Valid(s)
	}
	// end is a character boundary as Valid reads s, so Valid of the head
	// is the head of Valid(s).
	return Valid(s[:end]) + mark
}
