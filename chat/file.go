package chat

import (
	"fmt"
	"strings"
)

// IsText reports whether a file is text a reader can be shown inline.
func (f File) IsText() bool {
	return f.Mime == "" || strings.HasPrefix(f.Mime, "text/") || strings.Contains(f.Mime, "json")
}

// HeadLines is the first n lines of s, saying how many more there were:
// what an adapter shows inline when a file could not be attached.
func HeadLines(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	if len(lines) <= n {
		return strings.TrimRight(s, "\n")
	}
	return strings.TrimRight(strings.Join(lines[:n], ""), "\n") + fmt.Sprintf("\n… %d more lines", len(lines)-n)
}
