package logs

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"opsbot/chat"
)

// A finder finds candidate matches in one block. Calls for one block come
// with non-decreasing from, so finders cache what they found past it; reset
// is called before each new block.
type finder interface {
	// next returns the offset of the first candidate at or after from, or -1.
	next(b []byte, from int) int
	reset()
}

const none = int(^uint(0) >> 1) // "no more in this block" in caches

// litFinder finds a literal by its rarest byte (both cases when fold):
// bytes.IndexByte runs at memory speed over the block, and each hit is
// confirmed with bytes.Equal or bytes.EqualFold. Go's regexp on (?i)
// patterns is two orders slower; bytes.Index keys on the first byte
// whatever its frequency.
type litFinder struct {
	s      []byte
	fold   bool
	k      int  // index of the rare byte in s
	lo, up byte // its two cases (equal unless fold and a letter)
	cl, cu int  // cached positions of lo and up, valid when >= from+k
	c      int  // cached candidate, valid when >= from
}

// newLitFinder picks the rare byte by the histogram h of a sample of the
// file when there is one, by byteRank otherwise.
func newLitFinder(s []byte, fold bool, h *[256]int64) *litFinder {
	weight := func(c byte) int64 {
		if h != nil {
			return h[c]
		}
		return int64(byteRank[c])
	}
	k, best := 0, int64(1)<<62
	for i, c := range s {
		w := 2 * weight(c)
		if fold && lower(c) != upper(c) {
			w = weight(lower(c)) + weight(upper(c))
		}
		if w < best {
			k, best = i, w
		}
	}
	f := &litFinder{s: s, fold: fold, k: k, lo: s[k], up: s[k]}
	if fold {
		f.lo, f.up = lower(s[k]), upper(s[k])
	}
	return f
}

func (f *litFinder) reset() { f.cl, f.cu, f.c = -1, -1, -1 }

func (f *litFinder) next(b []byte, from int) int {
	if f.c >= from {
		if f.c == none {
			return -1
		}
		return f.c
	}
	n := len(f.s)
	if f.k == 0 && !f.fold {
		// The rare byte leads: bytes.Index does the same, in assembly.
		i := bytes.Index(b[from:], f.s)
		if i < 0 {
			f.c = none
			return -1
		}
		f.c = from + i
		return f.c
	}
	for {
		q := from + f.k
		if q >= len(b) {
			f.c = none
			return -1
		}
		if f.cl < q {
			f.cl = indexFrom(b, q, f.lo)
		}
		p := f.cl
		if f.lo != f.up {
			if f.cu < q {
				f.cu = indexFrom(b, q, f.up)
			}
			p = min(p, f.cu)
		}
		if p == none {
			f.c = none
			return -1
		}
		start := p - f.k
		if start+n <= len(b) {
			w := b[start : start+n]
			if (!f.fold && bytes.Equal(w, f.s)) || (f.fold && bytes.EqualFold(w, f.s)) {
				f.c = start
				return start
			}
		}
		from = start + 1
	}
}

func indexFrom(b []byte, from int, c byte) int {
	i := bytes.IndexByte(b[from:], c)
	if i < 0 {
		return none
	}
	return from + i
}

// anyFinder is an alternation: one pass per literal over the block, the
// earliest candidate wins.
type anyFinder []finder

func (a anyFinder) reset() {
	for _, f := range a {
		f.reset()
	}
}

func (a anyFinder) next(b []byte, from int) int {
	best := -1
	for _, f := range a {
		if p := f.next(b, from); p >= 0 && (best < 0 || p < best) {
			best = p
		}
	}
	return best
}

// reFinder runs a multi-line regexp over the block: the fallback for
// patterns without a required literal.
type reFinder struct{ re *regexp.Regexp }

func (reFinder) reset() {}

func (f reFinder) next(b []byte, from int) int {
	loc := f.re.FindIndex(b[from:])
	if loc == nil {
		return -1
	}
	return from + loc[0]
}

// everyFinder matches every line (the empty pattern).
type everyFinder struct{}

func (everyFinder) reset() {}

func (everyFinder) next(b []byte, from int) int {
	if from >= len(b) {
		return -1
	}
	return from
}

// matcher finds matching lines: a finder picks candidate lines, and, when
// the finder is only a prefilter, the line regexp confirms them.
type matcher struct {
	newFinder func(h *[256]int64) finder
	verify    *regexp.Regexp // nil when every candidate is a match
	// anchored, when set, replaces verify: every match starts with one of
	// the finder's literals, so the regexp is tried anchored at each
	// candidate in the line, not over the whole line.
	anchored *regexp.Regexp
	// line is the whole pattern, for lines matched in their redacted form
	// (nil: every line matches).
	line *regexp.Regexp
	// seesMask is set when a line may match once redacted although its
	// text before did not: the pattern can match text of the mask (a
	// literal of it overlaps "[REDACTED]"), or it has no literal to find
	// candidates by. Every line needing redaction is then a candidate.
	seesMask bool
}

// matchShown matches a line as redaction left it.
func (m *matcher) matchShown(s string) bool { return m.line == nil || m.line.MatchString(s) }

// compileMatcher builds the matcher of a pattern: literal unless regex,
// case-insensitive when fold. Errors are bad input.
func compileMatcher(pattern string, regex, fold bool) (*matcher, error) {
	expr := pattern
	if !regex {
		expr = regexp.QuoteMeta(pattern)
	}
	if fold {
		expr = "(?i)" + expr
	}
	lineRE, err := regexp.Compile(expr)
	if err != nil {
		return nil, badInput("invalid regexp %q: %s", pattern, reason(err))
	}
	if pattern == "" {
		return &matcher{newFinder: func(*[256]int64) finder { return everyFinder{} }}, nil
	}
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, badInput("invalid regexp %q: %s", pattern, reason(err))
	}
	re = re.Simplify()
	if lits, ok := literalSet(re); ok && len(lits) <= 16 {
		return &matcher{newFinder: func(h *[256]int64) finder { return litsFinder(lits, h) }, line: lineRE, seesMask: overlapMask(lits)}, nil
	}
	if lits, ok := prefixes(re); ok && len(lits) <= 16 && score(lits) >= 2*256 {
		anchored, err := regexp.Compile(`^(?:` + expr + `)`)
		if err == nil {
			return &matcher{newFinder: func(h *[256]int64) finder { return litsFinder(lits, h) }, anchored: anchored, line: lineRE, seesMask: overlapMask(lits)}, nil
		}
	}
	if lits, ok := required(re); ok && len(lits) <= 16 {
		return &matcher{newFinder: func(h *[256]int64) finder { return litsFinder(lits, h) }, verify: lineRE, line: lineRE, seesMask: overlapMask(lits)}, nil
	}
	blockRE, err := regexp.Compile("(?m:" + expr + ")")
	if err != nil {
		return nil, badInput("invalid regexp %q: %s", pattern, reason(err))
	}
	return &matcher{newFinder: func(*[256]int64) finder { return reFinder{blockRE} }, verify: lineRE, line: lineRE, seesMask: true}, nil
}

// overlapMask reports whether an occurrence of one of lits can overlap the
// mask in a redacted line. When none can, every occurrence in a redacted
// line lies in text redaction kept, so it was in the line before: the
// lines holding a literal before redaction are all the candidates.
func overlapMask(lits []lit) bool {
	for _, l := range lits {
		// Place l at every offset d against the mask where the two share
		// at least one byte, and compare the shared bytes.
		for d := -(len(l.s) - 1); d < len(chat.Mask); d++ {
			same := true
			for i := max(0, -d); i < len(l.s) && i+d < len(chat.Mask); i++ {
				a, b := l.s[i], chat.Mask[i+d]
				if l.fold {
					a, b = lower(a), lower(b)
				}
				if a != b {
					same = false
					break
				}
			}
			if same {
				return true
			}
		}
	}
	return false
}

func reason(err error) string {
	var se *syntax.Error
	if e, ok := err.(*syntax.Error); ok {
		se = e
		return se.Code.String() + ": " + se.Expr
	}
	return err.Error()
}

type lit struct {
	s    string
	fold bool
}

func litsFinder(lits []lit, h *[256]int64) finder {
	fs := make(anyFinder, len(lits))
	for i, l := range lits {
		fs[i] = newLitFinder([]byte(l.s), l.fold && hasLetter(l.s), h)
	}
	if len(fs) == 1 {
		return fs[0]
	}
	return fs
}

// literalSet reports whether re is exactly a literal or an alternation of
// literals (captures aside), so a finder hit is a match. Folded literals
// must be ASCII (toLit).
func literalSet(re *syntax.Regexp) ([]lit, bool) {
	switch re.Op {
	case syntax.OpCapture:
		return literalSet(re.Sub[0])
	case syntax.OpLiteral:
		l, ok := toLit(re)
		if !ok {
			return nil, false
		}
		return []lit{l}, true
	case syntax.OpAlternate:
		var out []lit
		for _, s := range re.Sub {
			ls, ok := literalSet(s)
			if !ok {
				return nil, false
			}
			out = append(out, ls...)
		}
		return out, true
	}
	return nil, false
}

// prefixes returns literals one of which every match starts with.
func prefixes(re *syntax.Regexp) ([]lit, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		l, ok := toLit(re)
		return []lit{l}, ok
	case syntax.OpCapture:
		return prefixes(re.Sub[0])
	case syntax.OpConcat:
		return prefixes(re.Sub[0])
	case syntax.OpAlternate:
		var out []lit
		for _, s := range re.Sub {
			ls, ok := prefixes(s)
			if !ok {
				return nil, false
			}
			out = append(out, ls...)
		}
		return out, true
	}
	return nil, false
}

// required returns literals one of which every match must contain.
func required(re *syntax.Regexp) ([]lit, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		l, ok := toLit(re)
		if !ok {
			return foldRun(re)
		}
		return []lit{l}, true
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		var best []lit
		bestScore := -1
		for _, s := range re.Sub {
			ls, ok := required(s)
			if ok && score(ls) > bestScore {
				best, bestScore = ls, score(ls)
			}
		}
		return best, best != nil
	case syntax.OpAlternate:
		var out []lit
		for _, s := range re.Sub {
			ls, ok := required(s)
			if !ok {
				return nil, false
			}
			out = append(out, ls...)
		}
		return out, true
	}
	return nil, false
}

// score prefers sets whose weakest literal is long and rare.
func score(ls []lit) int {
	worst := 1 << 30
	for _, l := range ls {
		rare := 255
		for i := 0; i < len(l.s); i++ {
			rare = min(rare, int(byteRank[l.s[i]]))
		}
		s := min(len(l.s), 8)*256 + (255 - rare)
		worst = min(worst, s)
	}
	return worst - len(ls)
}

// toLit turns a literal node into bytes; folded literals must be ASCII
// for the rare-byte finder (non-ASCII folds go to the regexp).
func toLit(re *syntax.Regexp) (lit, bool) {
	var b strings.Builder
	fold := re.Flags&syntax.FoldCase != 0
	for _, r := range re.Rune {
		if r == '\n' || (fold && r >= utf8.RuneSelf) {
			return lit{}, false
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return lit{}, false
	}
	return lit{s: b.String(), fold: fold}, true
}

// foldRun is the longest ASCII run of a case-folded literal holding
// non-ASCII letters ("chec" of "échec"): every match holds it, in some
// case, so the rare-byte finder can pick the candidate lines and the
// line's regexp decides. k and s are left out: under Unicode folding they
// also match the Kelvin sign and the long s, which an ASCII finder misses.
func foldRun(re *syntax.Regexp) ([]lit, bool) {
	if re.Flags&syntax.FoldCase == 0 {
		return nil, false
	}
	var best, cur []rune
	for _, r := range re.Rune {
		if r < utf8.RuneSelf && r != '\n' && r != 'k' && r != 'K' && r != 's' && r != 'S' {
			cur = append(cur, r)
			if len(cur) > len(best) {
				best = append(best[:0], cur...)
			}
			continue
		}
		cur = cur[:0]
	}
	if len(best) < 2 {
		return nil, false
	}
	return []lit{{s: string(best), fold: true}}, true
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if isLetter(s[i]) {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 32
	}
	return c
}

// byteRank approximates how common a byte is in log text (255 = most).
// The rarest byte of a literal is the one to scan for.
var byteRank = func() [256]byte {
	var r [256]byte
	for i := range r {
		r[i] = 20
	}
	for i := 0x80; i < 256; i++ {
		r[i] = 40
	}
	set := func(chars string, hi, step int) {
		for i := 0; i < len(chars); i++ {
			r[chars[i]] = byte(max(hi-i*step, 1))
		}
	}
	r[' '] = 255
	set("etaoinsrhldcumfpgwybvkxjqz", 250, 5)
	set("0123456789", 215, 3)
	set(".:/-\"=_,[]()", 205, 5)
	set("ETAOINSRHLDCUMFPGWYBVKXJQZ", 150, 4)
	set("\n\t'{}?&+;%#@*!<>|\\$^~`", 140, 5)
	return r
}()
