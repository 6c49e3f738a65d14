package logs

import (
	"regexp"
	"strings"
	"testing"
)

// The fast paths must be the ones chosen, and agree with the regexp engine
// line by line.
func TestMatcherFastPaths(t *testing.T) {
	cases := []struct {
		pattern     string
		regex, fold bool
		finder      string
		verified    bool
	}{
		{`" 50[0-9] `, true, false, "*logs.litFinder", true},
		{"LLM API Error", false, false, "*logs.litFinder", false},
		{"llm api error", false, true, "*logs.litFinder", false},
		{"ERROR|LLM API Error", true, false, "logs.anyFinder", false},
		{"error|timeout", true, true, "logs.anyFinder", false},
		{`timeout after \d+ ms`, true, false, "*logs.litFinder", true},
		{`(?i)user \d+ logged`, true, false, "*logs.litFinder", true},
		{`\d{4,}`, true, false, "logs.reFinder", true},
		{"a.b", false, false, "*logs.litFinder", false},
	}
	for _, c := range cases {
		m, err := compileMatcher(c.pattern, c.regex, c.fold)
		if err != nil {
			t.Fatal(err)
		}
		f := m.newFinder(nil)
		verified := m.verify != nil || m.anchored != nil
		if got := typeOf(f); got != c.finder || verified != c.verified {
			t.Errorf("%q: finder %s verified %v, want %s %v", c.pattern, got, verified, c.finder, c.verified)
		}
	}
}

func typeOf(v any) string {
	switch v.(type) {
	case *litFinder:
		return "*logs.litFinder"
	case anyFinder:
		return "logs.anyFinder"
	case reFinder:
		return "logs.reFinder"
	case everyFinder:
		return "logs.everyFinder"
	}
	return "?"
}

func TestMatcherAgreesWithRegexpPerLine(t *testing.T) {
	text := "INFO fine\nERROR boom\nsome Error here\nerRor mixed\nLLM API Error: x\nllm api error y\n\nERRORS at end\nno match"
	lines := strings.Split(text, "\n")
	for _, c := range []struct {
		p           string
		regex, fold bool
	}{
		{"error", false, true}, {"ERROR", false, false}, {"ERROR|LLM API Error", true, false},
		{"e?rror", true, true}, {"^ERROR", true, false}, {"end$", true, false}, {"", false, false},
		{"r{2}o", true, true}, {"[Ee]rror", true, false}, {"err?or h", true, true}, {"E(RROR|rror) ", true, false},
		{"ERRORS? at", true, false}, {`r+o\b`, true, true},
	} {
		m, err := compileMatcher(c.p, c.regex, c.fold)
		if err != nil {
			t.Fatal(err)
		}
		expr := c.p
		if !c.regex {
			expr = regexp.QuoteMeta(expr)
		}
		if c.fold {
			expr = "(?i)" + expr
		}
		re := regexp.MustCompile(expr)
		var want []string
		for _, l := range lines {
			if re.MatchString(l) {
				want = append(want, l)
			}
		}
		s := newScanner(scanOpts{m: m, collect: 100})
		r := s.scanBlock([]byte(text), 0, m.newFinder(nil))
		var got []string
		for _, mt := range r.matches {
			got = append(got, mt.Line.Text)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") || r.count != int64(len(want)) {
			t.Errorf("%q: got %q (count %d), want %q", c.p, got, r.count, want)
		}
	}
}

// TestNonASCIIFoldUsesASCIIRun: a case-folded literal with non-ASCII
// letters finds candidates by its longest ASCII run and confirms each line
// with the regexp, so Unicode folding (É/é, the Kelvin sign for k) holds.
func TestNonASCIIFoldUsesASCIIRun(t *testing.T) {
	m, err := compileMatcher("échec", false, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.newFinder(nil).(*litFinder); !ok || m.verify == nil {
		t.Fatalf("échec -i: finder %T, verify %v: want a literal prefilter and a regexp", m.newFinder(nil), m.verify)
	}
	text := "ÉCHEC un\nechec deux\nÉchec trois\néCHEC quatre\nno match\nchec\n"
	s := newScanner(scanOpts{m: m, collect: 10})
	r := s.scanBlock([]byte(text), 0, m.newFinder(nil))
	if r.count != 3 {
		t.Fatalf("échec -i: %d lines, want 3: %+v", r.count, r.matches)
	}
	m, err = compileMatcher("ünk", false, true)
	if err != nil {
		t.Fatal(err)
	}
	text = "ÜN\u212a kelvin\nünk\nUNK plain\n"
	r = newScanner(scanOpts{m: m, collect: 10}).scanBlock([]byte(text), 0, m.newFinder(nil))
	if r.count != 2 {
		t.Fatalf("ünk -i: %d lines, want 2 (the Kelvin sign folds to k)", r.count)
	}
}
