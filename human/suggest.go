package human

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"
)

// MaxSuggestDistance is the largest edit distance at which a near miss is
// offered as "did you mean …?".
const MaxSuggestDistance = 2

// Nearest returns the one candidate closest to word (case-insensitive edit
// distance over characters, not bytes), if it is at most MaxSuggestDistance
// away, keeps some of the candidate, and no other candidate is as near.
func Nearest(word string, candidates []string) (string, bool) {
	w := strings.ToLower(word)
	best, bestD, ties := "", MaxSuggestDistance+1, 0
	seen := map[string]bool{}
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if seen[lc] || lc == "" {
			continue
		}
		seen[lc] = true
		d := levenshtein.ComputeDistance(w, lc)
		// "db" is not a typo of "ok": a guess must keep some of the word
		// (two edits of a four-letter word, one of a three-letter one).
		if d > 0 && d >= len([]rune(lc))-1 {
			continue
		}
		switch {
		case d < bestD:
			best, bestD, ties = c, d, 1
		case d == bestD:
			ties++
		}
	}
	if ties != 1 {
		return "", false
	}
	return best, true
}

// Hint words what to say after "unknown thing "x"": a suggestion when one
// candidate is nearest ("did you mean status?"), else the valid words
// ("commands: backup, cache, …"); kind names the list ("commands").
func Hint(word, kind string, candidates []string) string {
	if s, ok := Nearest(word, candidates); ok {
		return "did you mean " + s + "?"
	}
	if len(candidates) == 0 {
		return "no " + kind + " are configured"
	}
	list := append([]string(nil), candidates...)
	sort.Strings(list)
	return kind + ": " + strings.Join(list, ", ")
}

// Unknown is the one wording of an unknown name of any kind: `unknown
// target "api-1"; did you mean api?` or `unknown target "x"; targets: a, b`.
// what is the singular ("target"), kind the plural ("targets").
func Unknown(what, kind, name string, valid []string) string {
	if len(name) > 40 {
		name = name[:40]
		for !utf8.ValidString(name) {
			name = name[:len(name)-1]
		}
		name += "…"
	}
	return fmt.Sprintf("unknown %s %q; %s", what, name, Hint(name, kind, valid))
}
