package commands

import "opsbot/human"

// Nearest is human.Nearest: the one candidate near word, if any.
func Nearest(word string, candidates []string) (string, bool) { return human.Nearest(word, candidates) }

// Hint is human.Hint: "did you mean x?" or the list of valid words.
func Hint(word, kind string, candidates []string) string { return human.Hint(word, kind, candidates) }

// Unknown is the one wording of an unknown name of any kind, as a
// UserError: `unknown target "api-1"; targets: demo`.
func Unknown(what, kind, name string, valid []string) error {
	return &UserError{Msg: human.Unknown(what, kind, name, valid)}
}

func clipWord(s string) string { return truncate(s, 40) }
