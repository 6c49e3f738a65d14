package textclip

import (
	"strings"

	"github.com/mattn/go-runewidth"
)

// Width is how many columns s takes in a monospaced code block: two for a
// CJK character, one for ASCII, zero for a combining mark.
func Width(s string) int { return runewidth.StringWidth(Valid(s)) }

// PadRight returns s followed by spaces up to w columns (s as is when it
// is already that wide).
func PadRight(s string, w int) string {
	if n := Width(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// PadLeft returns s after spaces up to w columns.
func PadLeft(s string, w int) string {
	if n := Width(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return s
}

// Columns returns s cut to at most w columns, never inside a character,
// ending with mark (counted within w) when it had to cut.
func Columns(s string, w int, mark string) string {
	s = Valid(s)
	if runewidth.StringWidth(s) <= w {
		return s
	}
	mw := runewidth.StringWidth(mark)
	if mw > w {
		mark, mw = "", 0
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		rw := runewidth.RuneWidth(r)
		if used+rw > w-mw {
			break
		}
		b.WriteRune(r)
		used += rw
	}
	return b.String() + mark
}

// Table aligns rows in columns by display width, gap spaces apart; the
// last column is not padded. Rows may be short.
func Table(rows [][]string, gap int) string {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], Width(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			if i == len(r)-1 {
				line.WriteString(c)
				break
			}
			line.WriteString(PadRight(c, widths[i]))
			line.WriteString(strings.Repeat(" ", gap))
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	return b.String()
}
