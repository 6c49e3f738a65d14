package textclip_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"opsbot/textclip"
)

func TestWidthCountsCJKAsTwo(t *testing.T) {
	for s, want := range map[string]int{"abc": 3, "故障处理": 8, "阶段 stage": 10, "e\u0301": 1, "": 0} {
		if got := textclip.Width(s); got != want {
			t.Errorf("Width(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestColumnsNeverCutsACharacter(t *testing.T) {
	cases := []struct {
		in   string
		w    int
		want string
	}{
		{"故障处理", 8, "故障处理"},
		{"故障处理", 7, "故障处…"}, // 6 columns + the mark
		{"故障处理", 6, "故障…"},  // 故障处 is 6, the mark needs 1 more
		{"ab故障", 4, "ab…"},
		{"ab故障", 5, "ab故…"},
		{"故障", 1, "…"},
	}
	for _, c := range cases {
		got := textclip.Columns(c.in, c.w, "…")
		if got != c.want {
			t.Errorf("Columns(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
		}
		if !utf8.ValidString(got) || textclip.Width(got) > c.w {
			t.Errorf("Columns(%q, %d) = %q: %d columns or invalid", c.in, c.w, got, textclip.Width(got))
		}
	}
}

// A table mixing Chinese and ASCII cells lines up in a code block: every
// column starts at the same display column on every row.
func TestTableAlignsMixedScripts(t *testing.T) {
	out := textclip.Table([][]string{
		{"#", "阶段", "级别", "标题"},
		{"12", "故障处理", "严重", "数据库慢"},
		{"7", "discovery", "warning", "disk"},
	}, 2)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	starts := func(line string, cells []string) []int {
		var cols []int
		col, rest := 0, line
		for _, c := range cells {
			i := strings.Index(rest, c)
			col += textclip.Width(rest[:i])
			cols = append(cols, col)
			col += textclip.Width(c)
			rest = rest[i+len(c):]
		}
		return cols
	}
	a := starts(lines[0], []string{"#", "阶段", "级别", "标题"})
	b := starts(lines[1], []string{"12", "故障处理", "严重", "数据库慢"})
	c := starts(lines[2], []string{"7", "discovery", "warning", "disk"})
	for i := range a {
		if a[i] != b[i] || b[i] != c[i] {
			t.Errorf("column %d starts at %d, %d, %d:\n%s", i, a[i], b[i], c[i], out)
		}
	}
}
