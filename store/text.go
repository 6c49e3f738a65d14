package store

import (
	"slices"

	"opsbot/textclip"
)

// validArgs makes the text arguments of a write storable (textclip.Valid):
// invalid UTF-8 and NUL characters become U+FFFD. PostgreSQL refuses both
// (SQLSTATE 22021) and the row would be lost; SQLite would keep bytes no
// reader expects. Log lines and command output reach audit details, alert
// summaries and timeline notes, and they are bytes, not text. The caller's
// slice is not changed.
func validArgs(args []any) []any {
	out, copied := args, false
	for i, a := range args {
		var v any
		switch x := a.(type) {
		case string:
			s := textclip.Valid(x)
			if s == x {
				continue
			}
			v = s
		case *string:
			if x == nil {
				continue
			}
			s := textclip.Valid(*x)
			if s == *x {
				continue
			}
			v = &s
		default:
			continue
		}
		if !copied {
			out, copied = slices.Clone(args), true
		}
		out[i] = v
	}
	return out
}
