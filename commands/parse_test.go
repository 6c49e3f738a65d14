package commands

import (
	"slices"
	"testing"
)

func TestSplitLikeAShell(t *testing.T) {
	for text, want := range map[string][]string{
		`/ops logs search "LLM API Error" --file app`: {"logs", "search", "LLM API Error", "--file", "app"},
		`incident note 42 deploy #42 rolled back`:     {"incident", "note", "42", "deploy", "#42", "rolled", "back"},
		`logs search "took \d+ms" --regex`:            {"logs", "search", `took \d+ms`, "--regex"},
		`logs search "say \"hi\" \\ done"`:            {"logs", "search", `say "hi" \ done`},
		`logs search 'C:\tmp' it\'s`:                  {"logs", "search", `C:\tmp`, "it's"},
		`ops status"api"'s'`:                          {"statusapis"},
		"incident open 数据库\u3000宕机":                   {"incident", "open", "数据库", "宕机"},
		`echo ""`:                                     {"echo", ""},
		"  \t ":                                       nil,
	} {
		got, err := Split(text)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Split(%q) = %q, %v; want %q", text, got, err, want)
		}
	}
	for text, want := range map[string]string{
		`echo "open`: `cannot read the command: a " quote is not closed`,
		`echo 'open`: `cannot read the command: a ' quote is not closed`,
		`echo end\`:  `cannot read the command: nothing follows the last backslash`,
		`echo "a\`:   `cannot read the command: a " quote is not closed`,
	} {
		if _, err := Split(text); err == nil || err.Error() != want {
			t.Errorf("Split(%q) error %v, want %q", text, err, want)
		}
	}
}
